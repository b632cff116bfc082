"""The Captioning page in real Chromium: click a word, see its four maps and the per-word charts, download the word table."""

import csv

import pytest
from playwright.sync_api import expect

from xai_core.captioning import CAPTION_METHODS, caption_images, load_captioner
from xai_core.captioning.words import WORD_TABLE_COLUMNS
from xai_core.data.captioning import make_scene

pytestmark = pytest.mark.e2e


def test_captioning_page_explains_a_clicked_word_and_downloads_the_word_table(page, server_url, tmp_path):
    words = caption_images(load_captioner("captioner-resnet"), make_scene("test", 0).image[None])[0]
    page.goto(f"{server_url}/captioning")
    page.get_by_text("Every word of the caption").wait_for(timeout=180_000)

    page.get_by_role("button", name=words[0], exact=True).first.click()
    page.get_by_text(f"Word 1: “{words[0]}”").wait_for()
    expect(page.locator("[data-testid='stBaseButton-primary']")).to_have_text(words[0])
    images = page.locator("[data-testid='stImage'] img:not([data-testid='stExpander'] img)")
    expect(images).to_have_count(1 + len(CAPTION_METHODS))  # the scene and the word's four maps
    for index in range(images.count()):
        expect(images.nth(index)).to_have_js_property("complete", True)  # visible can come before the image has loaded
        assert images.nth(index).evaluate("img => img.naturalWidth > 0")
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    bars = page.locator(".js-plotly-plot").first.locator("g.trace.bars")
    expect(bars).to_have_count(len(CAPTION_METHODS))  # one bar trace per method
    page.get_by_text(f"CGMAs of “{words[0]}”").click()
    cgmas = page.locator("[data-testid='stExpander'] [data-testid='stImage'] img")
    expect(cgmas).to_have_count(8)  # the word's eight CGMAs, shallow to deep
    page.screenshot(path="test-artifacts/captioning.png", full_page=True)

    with page.expect_download() as pending:
        page.get_by_role("button", name="Word table (CSV)").click()
    download = pending.value
    assert download.suggested_filename == "captioner-resnet-scene0-words.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with open(saved, newline="") as table:
        rows = list(csv.reader(table))
    assert rows[0] == list(WORD_TABLE_COLUMNS)
    assert len(rows) - 1 == len(CAPTION_METHODS) * len(words)
    assert [row[1] for row in rows[1 : 1 + len(words)]] == words
