"""The SFT-GAN page in real Chromium: four maps, relevance bars drawn by plotly, blackout maps."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_sftgan_page_renders_maps_and_relevance_bars(page, server_url):
    page.goto(f"{server_url}/sftgan")
    page.get_by_text("Blackout maps").wait_for(timeout=180_000)
    for title in ("Grad-CAM", "LSFT-GAN", "GSFT-GAN"):
        page.get_by_text(title, exact=True).first.wait_for()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    bars = chart.locator("g.trace.bars path")
    bars.first.wait_for(state="attached")
    expect(bars).to_have_count(8, timeout=60_000)
    images = page.locator("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img")
    expect(images).to_have_count(4 + 8, timeout=60_000)
    for index in range(images.count()):
        images.nth(index).wait_for(state="visible")
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path="test-artifacts/sftgan.png", full_page=True)

    count = page.get_by_label("Images (first N of the test split)")
    count.fill("16")
    count.press("Enter")
    page.get_by_role("button", name="Compute the average relevance").click()
    page.get_by_text("mean relevance +- std over 16 images").wait_for(timeout=120_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    expect(page.get_by_role("button", name="Compute the average relevance")).to_have_count(0)  # once the run settles
