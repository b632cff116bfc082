"""The HTML audit report in real Chromium, opened from disk (file://) with no server and no network: every image
decodes and every plotly chart draws from the inlined plotly.js."""

import pytest
import torch
from playwright.sync_api import expect

from xai_core import load_dataset, load_model
from xai_core.reports.audit_report import write_audit_report
from xai_core.reports.bundle import bundle_for_image

pytestmark = pytest.mark.e2e


def test_the_report_opens_offline_with_images_and_charts(page, tmp_path):
    card = load_model("vgg-mnist")
    image, _, mask = load_dataset("mnist", "test")[3]
    bundle = bundle_for_image(
        card, image, None, ["grad_cam", "saliency"], mask=mask, dataset="mnist", index=3, title="Audit of <vgg-mnist>"
    )
    bundle.add_concept_scores({"thick strokes": 0.9, "slanted": 0.45}, [0.5, 0.4, 0.6], {"thick strokes": 0.001, "slanted": 0.6})
    bundle.set_latent_sensitivity(torch.tensor([0.5, 2.0, 1.0, 0.25]))
    path = write_audit_report(bundle, tmp_path / "report.html")

    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(("file:", "data:")) else route.continue_())
    page.goto(path.as_uri())
    assert page.title() == "Audit of <vgg-mnist>"
    assert page.get_by_role("heading", name="Provenance").is_visible()

    images = page.locator("img")
    expect(images).to_have_count(3, timeout=60_000)  # the digit and two overlays
    assert images.evaluate_all("all => all.every(i => i.complete && i.naturalWidth > 0)")

    charts = page.locator(".js-plotly-plot")
    charts.first.wait_for(state="visible")
    expect(charts).to_have_count(3, timeout=60_000)  # top predictions, concepts, latent sensitivity
    assert page.locator(".plotly .main-svg").count() >= 3
    prediction_bars, concept_bars, latent_bars = (charts.nth(i).locator("g.trace.bars g.point path") for i in range(3))
    expect(prediction_bars).to_have_count(5, timeout=60_000)
    expect(concept_bars).to_have_count(2, timeout=60_000)
    expect(latent_bars).to_have_count(4, timeout=60_000)
    assert "top predictions" in charts.nth(0).inner_text()
    assert "Concept sensitivity (TCAV)" in charts.nth(1).inner_text()
    assert "z1" in charts.nth(2).inner_text()
    page.screenshot(path="test-artifacts/report.png", full_page=True)


def test_the_report_page_builds_and_downloads_the_html(page, server_url, tmp_path):
    page.goto(f"{server_url}/report")
    page.get_by_role("button", name="Build report").click()
    download_button = page.get_by_role("button", name="Download HTML report")
    download_button.wait_for(timeout=180_000)
    with page.expect_download() as pending:
        download_button.click()
    download = pending.value
    assert download.suggested_filename.endswith(".html")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Provenance" in html and "vgg-mnist" in html
    assert "data:image/png;base64," in html and "Plotly.newPlot" in html  # images and charts inlined: works offline
    page.screenshot(path="test-artifacts/report-page.png", full_page=True)
