"""The whole flow in real Chromium: open Explore, pick an image, read the prediction."""

import re

import pytest
from playwright.sync_api import expect

from xai_core import load_dataset, load_model

pytestmark = pytest.mark.e2e


def test_explore_shows_a_digit_and_its_prediction(page, server_url):
    page.goto(f"{server_url}/explore")
    page.get_by_text(re.compile(r"Predicted:")).first.wait_for()
    assert page.get_by_role("heading", name="Explore").is_visible()
    navigation = page.get_by_test_id("stSidebarNav")
    assert "Home" in navigation.inner_text() and "Explore" in navigation.inner_text()
    page.locator("[data-testid='stImage'] img").first.wait_for(state="visible")
    page.locator(".js-plotly-plot").first.wait_for(state="visible")

    dataset, card = load_dataset("mnist", "test"), load_model("vgg-mnist")
    index = dataset.indices_of_class(3)[1]
    expected = card.predict(dataset[index][0])[0].name

    page.get_by_label("Class").first.click()
    page.get_by_role("option", name="3", exact=True).click()
    page.get_by_text(re.compile(r"True class:\s*3")).wait_for()
    number = page.get_by_label("Image (1-100)", exact=True)
    number.fill("2")
    number.press("Enter")
    page.get_by_text(f"mnist test #{index}", exact=True).wait_for()
    page.get_by_text(re.compile(rf"Predicted:\s*{expected} \(")).wait_for()
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    page.screenshot(path="test-artifacts/explore.png", full_page=True)


def test_explain_renders_every_method(page, server_url):
    from xai_core import EXPLAINERS
    from xai_core.explainers import METHOD_LABELS

    page.goto(f"{server_url}/explain")
    page.get_by_text("Target: ").wait_for(timeout=180_000)
    for method in EXPLAINERS:
        page.get_by_text(METHOD_LABELS[method], exact=True).first.wait_for()
    images = page.locator("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img")
    expect(images).to_have_count(1 + len(EXPLAINERS), timeout=180_000)  # captions can arrive before their images
    for index in range(images.count()):
        images.nth(index).wait_for(state="visible")
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path="test-artifacts/explain.png", full_page=True)


def test_layers_page_shows_every_conv_layer(page, server_url):
    page.goto(f"{server_url}/layers")
    page.get_by_text("7 conv layers").wait_for(timeout=120_000)
    page.get_by_text("CGMA 6 (layers 0..6)").wait_for()
