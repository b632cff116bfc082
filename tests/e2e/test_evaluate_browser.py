"""The Evaluate page in real Chromium: configure a tiny suite, run it, read the table and the bar chart."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _choose_only(page, label: str, option: str, settled: str) -> None:
    """Empty a multiselect with its clear-all control, pick one option by typing it, wait for the ``settled`` text."""
    widget = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text(label, exact=True))
    widget.get_by_role("button", name="Clear all").click()
    widget.locator("input").fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    page.get_by_text(settled).wait_for()


def test_evaluate_runs_a_tiny_suite(page, server_url):
    page.goto(f"{server_url}/evaluate")
    run = page.get_by_role("button", name="Run evaluation")
    run.wait_for(timeout=120_000)
    assert page.get_by_role("heading", name="Evaluate").is_visible()

    _choose_only(page, "Methods", "Grad-CAM", "x 16 images, 1 method(s), ")
    _choose_only(page, "Metrics", "Average drop (faithfulness)", "1 method(s), 1 metric(s)")
    images = page.get_by_label("Images per pair and seed")
    images.fill("4")
    images.press("Enter")
    page.get_by_text("1 pair(s) x 1 seed(s) x 4 images, 1 method(s), 1 metric(s)").wait_for()

    run.click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    table = page.get_by_test_id("stDataFrame").first
    table.wait_for(state="visible")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    bars = chart.locator("g.trace.bars g.point path")  # not the error bar's path
    bars.first.wait_for(state="attached")
    expect(bars).to_have_count(1, timeout=60_000)  # one method, one pair
    assert "Average drop" in chart.inner_text()
    expect(page.get_by_role("button", name="Summary CSV")).to_be_visible()
    page.screenshot(path="test-artifacts/evaluate.png", full_page=True)
