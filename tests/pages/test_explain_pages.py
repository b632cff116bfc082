"""Explain and Layers & CGMA pages through AppTest: grids, target picker, noise slider, strips."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core import EXPLAINERS, layer_positions
from xai_core.explainers import METHOD_LABELS

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _open(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.fixture(scope="module")
def explain_page() -> AppTest:
    return _open("pages/explain.py")


def _titles(app: AppTest) -> list[str]:
    return [m.value.strip("*") for m in app.markdown if m.value.startswith("**") and m.value.endswith("**")]


def _image_urls(app: AppTest) -> list[str]:
    return [url for element in app.get("image") for url in element.value]


def test_explain_shows_the_original_and_every_method(explain_page):
    assert _titles(explain_page) == ["Original", *(METHOD_LABELS[m] for m in EXPLAINERS)]
    assert len(explain_page.get("image")) == 1 + len(EXPLAINERS)
    assert len(explain_page.get("download_button")) == len(EXPLAINERS)
    assert "**Prediction:** 0 (" in explain_page.markdown[0].value


def test_target_picker_changes_the_maps(explain_page):
    before = _image_urls(explain_page)
    explain_page.selectbox(key=f"{keys.TARGET}:vgg-mnist").select(6).run()
    assert not explain_page.exception
    assert "Target: **6**" in explain_page.caption[-1].value
    after = _image_urls(explain_page)
    assert after[0] == before[0] and after[1:] != before[1:]


def test_noise_slider_explains_the_noisy_image(explain_page):
    explain_page.select_slider(key=keys.NOISE).set_value(0.2).run()
    assert not explain_page.exception
    assert "**Original + 20% noise**" in [m.value for m in explain_page.markdown]


def test_choosing_fewer_methods_shows_fewer_maps():
    app = _open("pages/explain.py")
    app.multiselect(key=keys.METHODS).set_value(["grad_cam", "score_cam"]).run()
    assert _titles(app) == ["Original", "Grad-CAM", "Score-CAM"]
    app.multiselect(key=keys.METHODS).set_value([]).run()
    assert "Choose at least one method" in app.info[0].value


@pytest.mark.parametrize("model_id,n_layers", [("vgg-mnist", 7), ("resnet-mnist", 20), ("mobilenet-mnist", 34)])
def test_layers_page_strip_and_cgmas(model_id, n_layers):
    app = _open("pages/layers.py")
    app.selectbox(key=keys.MODEL_ID).select(model_id).run()
    assert not app.exception
    positions = layer_positions(n_layers, 8)
    captions = [c for element in app.get("image") for c in element.captions]
    layer_captions = [c for c in captions if ": " in c and not c.startswith("CGMA")]
    assert len(layer_captions) == n_layers
    assert [i for i, c in enumerate(layer_captions) if c.startswith("★")] == positions
    assert [c for c in captions if c.startswith("CGMA")] == [f"CGMA {k} (layers 0..{p})" for k, p in enumerate(positions)]


def test_layers_page_eta_control():
    app = _open("pages/layers.py")
    app.selectbox(key=keys.MODEL_ID).select("resnet-mnist").run()
    app.number_input(key=keys.ETA).set_value(4).run()
    captions = [c for element in app.get("image") for c in element.captions]
    assert [c for c in captions if c.startswith("CGMA")] == [f"CGMA {k} (layers 0..{p})" for k, p in enumerate(layer_positions(20, 4))]


def test_a_method_that_does_not_apply_says_so():
    app = _open("pages/explain.py")
    app.selectbox(key=keys.MODEL_ID).select("mobilenet-mnist").run()  # ReLU6 only: no guided backprop
    assert not app.exception
    assert "Not applicable: Guided Backprop rewrites the backward pass of nn.ReLU" in app.info[0].value
    assert len(app.get("image")) == len(EXPLAINERS)  # the original and every other method
