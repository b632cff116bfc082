"""Issue 21 in real Chromium: an image uploaded once on Explore is the image of Explain, SFT-GAN, Layers and Studio
(reached through the sidebar, one session) with no second upload; on Studio a GAN sample's latent slider, moved
with the keyboard, regenerates the image and redraws every map."""

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS
from xai_core import load_dataset

pytestmark = pytest.mark.e2e

THUMBNAIL = "Current image: upload: seven.png (28x28, L)"
STUDIO_MAPS = "[data-testid='stMainBlockContainer'] [data-testid='stImage'] img"
SETTLE_WATCH = """() => {
    window.lastChange = Date.now();
    new MutationObserver(() => { window.lastChange = Date.now(); })
        .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""  # window.lastChange: when the page last changed


def _digit_file(tmp_path) -> str:
    image, _, _ = load_dataset("mnist", "test")[0]
    buffer = io.BytesIO()
    Image.fromarray((image[0].numpy() * 255).astype(np.uint8)).save(buffer, format="PNG")
    path = tmp_path / "seven.png"
    path.write_bytes(buffer.getvalue())
    return str(path)


def _go(page: Page, title: str) -> None:
    """In-app navigation (a new URL would start a new session)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).wait_for()


def test_one_upload_serves_every_page_and_studio_sliders_redraw_the_maps(page, server_url, tmp_path):
    page.goto(f"{server_url}/explore")
    page.get_by_text("Predicted:").first.wait_for(timeout=120_000)
    page.get_by_text("Upload an image").click()
    page.locator("[data-testid='stMainBlockContainer'] input[type=file]").set_input_files(_digit_file(tmp_path))
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(THUMBNAIL)).to_be_visible(timeout=60_000)

    for title, ready in (("Explain", "Target: "), ("SFT-GAN", "Which CGMAs does"), ("Layers & CGMA", "CGMA"), ("Studio", "relevance")):
        _go(page, title)
        page.get_by_text(ready).first.wait_for(timeout=180_000)
        expect(sidebar.get_by_text(THUMBNAIL)).to_be_visible()
        expect(page.get_by_text("Upload a PNG, JPEG")).to_have_count(0)  # nobody asks for the file again
    expect(page.get_by_text("upload: seven.png (28x28, L)", exact=True).first).to_be_visible()  # Studio's subject

    page.get_by_text("GAN sample", exact=True).click()
    generated = page.locator("[data-testid='stImage']").filter(has_text="slider(s) moved")
    expect(generated).to_contain_text("0 slider(s) moved", timeout=180_000)  # the upload's tiles may still show until then
    page.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=180_000)
    expect(page.get_by_text("deletion AUC")).to_have_count(4, timeout=180_000)
    before = page.locator(STUDIO_MAPS).evaluate_all("images => images.map(i => i.getAttribute('src'))")
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="z[").first.get_by_role("slider")
    page.evaluate(SETTLE_WATCH)
    thumb.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(thumb).to_have_value("1")
    expect(generated).to_contain_text("1 slider(s) moved", timeout=60_000)
    # each key press may rerun the fragment, which empties every tile and refills it: poll until all five images are
    # back, none stale, each differs from before (the assertions below), and the page has not changed for 3 s
    page.wait_for_function(
        """([selector, before]) => {
            const sources = [...document.querySelectorAll(selector)].map(image => image.getAttribute("src"));
            return document.querySelectorAll('[data-stale="true"]').length === 0 && sources.length === before.length
                && sources.every((source, index) => source !== before[index]) && Date.now() - window.lastChange > 3000;
        }""",
        arg=[STUDIO_MAPS, before],
        timeout=180_000,
    )
    after = page.locator(STUDIO_MAPS).evaluate_all("images => images.map(i => i.getAttribute('src'))")
    assert len(after) == len(before) == 5  # the generated image and its four maps
    assert all(old != new for old, new in zip(before, after)), "every map was redrawn for the new image"
    page.screenshot(path=str(ARTIFACTS / "studio.png"), full_page=True)
