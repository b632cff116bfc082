"""SFT-GAN page through AppTest: the four maps, relevance bars, blackout maps, pair average."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core import load_dataset, load_model
from xai_core.explainers import build_explainer
from xai_core.sftgan import explain_relevance, generator_info
from xai_core.sftgan.data import slot_layers

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def sftgan_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/sftgan.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _charts(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_shows_original_gradcam_lsft_gsft(sftgan_page):
    titles = [m.value.strip("*") for m in sftgan_page.markdown if m.value.startswith("**") and m.value.endswith("**")]
    assert titles[:4] == ["Original", "Grad-CAM", "LSFT-GAN", "GSFT-GAN"]
    (message,) = [m.value for m in sftgan_page.info if "LSFT-GAN uses" in m.value]
    recorded = generator_info("lsft-symbols")["metrics"]["val_dice"]
    assert (
        f"LSFT-GAN uses `lsft-symbols` (symbols strategy, trained on vgg-mnist's maps; held-out Dice vs Grad-CAM {recorded:.3f})" in message
    )
    assert any("`lsft-symbols` learned from digits, glyphs, mnist (train splits only)" in c.value for c in sftgan_page.caption)


def test_relevance_bars_match_the_engine(sftgan_page):
    card = load_model("vgg-mnist")
    image = load_dataset("mnist", "test")[0][0]
    expected = explain_relevance(build_explainer("lsft", card), card.preprocess(image)).relevance[0].numpy()
    bars = _charts(sftgan_page)[0]["data"][0]
    np.testing.assert_allclose(bars["y"], expected, rtol=1e-4, atol=1e-4)
    assert bars["x"] == [f"CGMA {k}<br>(layers 0..{layer})" for k, layer in enumerate(slot_layers(7))]
    blackout = [c for element in sftgan_page.get("image") for c in element.captions if c.startswith("without CGMA")]
    assert blackout == [f"without CGMA {k}" for k in range(8)]
    assert sftgan_page.get("download_button")


def test_switching_to_gsft_changes_the_bars(sftgan_page):
    before = _charts(sftgan_page)[0]["data"][0]["y"]
    sftgan_page.radio(key=keys.SFTGAN_KIND).set_value("gsft").run()
    assert not sftgan_page.exception
    after = _charts(sftgan_page)[0]["data"][0]
    assert after["y"] != before
    assert "GSFT-GAN" in _charts(sftgan_page)[0]["layout"]["title"]["text"]


def test_pair_average_is_computed_on_request_and_kept(sftgan_page):
    sftgan_page.number_input(key=keys.RELEVANCE_IMAGES).set_value(16).run()
    assert len(_charts(sftgan_page)) == 1
    sftgan_page.button[0].click().run()
    assert not sftgan_page.exception
    charts = _charts(sftgan_page)
    assert len(charts) == 2 and "over 16 images" in charts[1]["layout"]["title"]["text"]
    assert len(charts[1]["data"][0]["y"]) == 8 and min(charts[1]["data"][0]["y"]) >= 0
    sftgan_page.run()  # the average stays without recomputing
    assert len(_charts(sftgan_page)) == 2


def test_unseen_architecture_efficientnet_on_photos():
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/sftgan.py").run()
    app.selectbox(key=keys.MODEL_ID).select("efficientnet_lite0-imagenet").run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(_charts(app)[0]["data"][0]["y"]) == 8
