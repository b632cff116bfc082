"""Concepts page in real Chromium: run TCAV with small sets and see the bars with the random band and the table."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_tcav_runs_from_the_browser(page, server_url):
    page.goto(server_url)
    page.get_by_role("link", name="Concepts").click()
    page.get_by_role("heading", name="Concepts").wait_for(timeout=120_000)
    images = page.get_by_role("spinbutton", name="Images per set")
    images.fill("20")
    images.press("Enter")
    page.get_by_role("button", name="Run TCAV").click()
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=240_000)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    page.screenshot(path="test-artifacts/concepts_tcav.png", full_page=True)
