"""Synthetic data page in real Chromium: run a small bias audit from its tab and see the chart and the table."""

import pytest
from playwright.sync_api import expect

from xai_core.generative.dcgan import gan_info, list_gans

pytestmark = pytest.mark.e2e


def test_a_small_bias_audit_runs_from_the_browser(page, server_url):
    if not [g for g in list_gans() if gan_info(g)["kind"] == "cdcgan"]:
        pytest.skip("no class-conditional GAN in the manifests")
    page.goto(server_url)
    page.get_by_role("link", name="Synthetic data").click()
    page.get_by_role("heading", name="Synthetic data").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Bias audit").click()
    per_class = page.get_by_label("Images per class and side")
    per_class.fill("5")
    per_class.press("Enter")
    page.get_by_role("button", name="Run the bias audit").click()
    audit_chart = page.locator(".js-plotly-plot").filter(has_text="class (* KS p < 0.05)")
    expect(audit_chart).to_have_count(1, timeout=240_000)
    expect(page.get_by_text("Classes whose distributions differ (p < 0.05):")).to_be_visible()
    page.screenshot(path="test-artifacts/synthetic_audit.png", full_page=True)
