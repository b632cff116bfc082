"""GAN Studio in real Chromium: moving a latent slider with the keyboard regenerates the image (a fragment rerun)."""

import pytest
from playwright.sync_api import expect

from xai_core.generative.dcgan import list_gans

pytestmark = pytest.mark.e2e

GENERATED_IMAGE_LOADED = """() => {
    const frame = [...document.querySelectorAll("[data-testid='stImage']")].find(e => e.textContent.includes("slider(s) moved"));
    const img = frame && frame.querySelector("img");
    return Boolean(img && img.complete && img.naturalWidth > 0);
}"""


def test_keyboard_slider_move_regenerates_the_image(page, server_url):
    if not list_gans():
        pytest.skip("no GAN in the manifests (shipped checkpoints or $XAI_STUDIO_CHECKPOINT_DIRS)")
    page.goto(f"{server_url}/gan-studio")
    page.get_by_text("Where each latent dimension acts").wait_for(timeout=180_000)
    if page.get_by_role("dialog").is_visible():  # "Page not found" when a fresh server's first request is a sub-page
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
    generated = page.locator("[data-testid='stImage']").filter(has_text="slider(s) moved")
    expect(generated).to_contain_text("0 slider(s) moved")
    picture = generated.locator("img")
    picture.wait_for(state="visible")
    page.wait_for_function(GENERATED_IMAGE_LOADED)
    before = picture.get_attribute("src")
    # prediction, sensitivity ranking and the training dynamics (D(real), D(fake) and the losses per epoch)
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    dynamics = page.locator(".js-plotly-plot").filter(has_text="discriminator and losses per epoch")
    expect(dynamics).to_contain_text("D(fake)")
    page.screenshot(path="test-artifacts/gan_studio.png", full_page=True)

    thumb = page.locator("[data-testid='stSlider']").filter(has_text="z[").first.get_by_role("slider")
    thumb.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(thumb).to_have_value("0.5")
    expect(generated).to_contain_text("1 slider(s) moved", timeout=60_000)
    expect(picture).not_to_have_attribute("src", before)
    page.wait_for_function(GENERATED_IMAGE_LOADED)
