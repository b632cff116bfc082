"""Explain and Layers & CGMA pages through AppTest: grids, target picker, noise slider, strips."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import pages.common.resources as resources
from pages.common import keys
from pages.common.image_input import image_digest
from xai_core import EXPLAINERS, explainers, layer_positions, load_dataset, load_model
from xai_core.explainers import METHOD_LABELS
from xai_core.metrics.robustness import salt_and_pepper

NOISE = 0.35  # a noise level no other test uses

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
    return [url for element in app.main.get("image") for url in element.value]


def test_explain_shows_the_original_and_every_method(explain_page):
    assert _titles(explain_page) == ["Original", *(METHOD_LABELS[m] for m in EXPLAINERS)]
    assert len(explain_page.main.get("image")) == 1 + len(EXPLAINERS)
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
    captions = [c for element in app.main.get("image") for c in element.captions]
    layer_captions = [c for c in captions if ": " in c and not c.startswith("CGMA")]
    assert len(layer_captions) == n_layers
    assert [i for i, c in enumerate(layer_captions) if c.startswith("★")] == positions
    assert [c for c in captions if c.startswith("CGMA")] == [f"CGMA {k} (layers 0..{p})" for k, p in enumerate(positions)]


def test_layers_page_eta_control():
    app = _open("pages/layers.py")
    app.selectbox(key=keys.MODEL_ID).select("resnet-mnist").run()
    app.number_input(key=keys.ETA).set_value(4).run()
    captions = [c for element in app.main.get("image") for c in element.captions]
    assert [c for c in captions if c.startswith("CGMA")] == [f"CGMA {k} (layers 0..{p})" for k, p in enumerate(layer_positions(20, 4))]


def test_a_method_that_does_not_apply_says_so():
    app = _open("pages/explain.py")
    app.selectbox(key=keys.MODEL_ID).select("mobilenet-mnist").run()  # ReLU6 only: no guided backprop
    assert not app.exception
    assert "Not applicable: Guided Backprop rewrites the backward pass of nn.ReLU" in app.info[0].value
    assert len(app.main.get("image")) == len(EXPLAINERS)  # the original and every other method


def test_maps_fill_in_cheapest_first_and_a_slow_one_waits_for_a_click(monkeypatch):
    """With the on-request bar lowered to 20 passes, the sampling methods and Score-CAM wait for a click with their
    estimated time; the others are computed in order of their passes; a click computes exactly the engine's map."""
    computed = []
    original = resources.explain_image

    def recording(card, image, methods, target, on_progress=None):  # every map the page computes, in order
        computed.extend(methods)
        return original(card, image, methods, target, on_progress=on_progress)

    monkeypatch.setattr(resources, "explain_image", recording)
    monkeypatch.setattr(explainers, "ON_REQUEST_PASSES", 20)
    monkeypatch.setattr(resources, "cached_seconds_per_pass", lambda model_id, shape, image: 0.5)
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.session_state[keys.NOISE] = NOISE  # an image no other test explains: nothing comes from the cache
    app.switch_page("pages/explain.py").run()
    assert not app.exception, [e.message for e in app.exception]
    waiting = {"SmoothGrad", "Integrated Gradients", "Score-CAM"}
    assert {b.label.removeprefix("Compute ") for b in app.button if b.label.startswith("Compute ")} == waiting
    assert computed == ["saliency", "guided_backprop", "grad_cam", "grad_cam_pp", "layer_cam", "lsft", "gsft"]
    assert len(app.main.get("image")) == 1 + len(EXPLAINERS) - len(waiting)
    card = load_model("vgg-mnist")
    passes = explainers.method_passes(card, ["score_cam"])["score_cam"]
    assert f"{passes:,} passes through vgg-mnist, about {passes * 0.5:.0f} s here: runs on request." in [i.value for i in app.info]

    next(b for b in app.button if b.label == "Compute Score-CAM").click().run()
    assert not app.exception and computed[-1] == "score_cam"
    assert len(app.main.get("image")) == 1 + len(EXPLAINERS) - 2
    image = load_dataset("mnist", "test")[0][0]
    noisy = salt_and_pepper(card.resize(image)[0], NOISE, seed=0)
    target = card.predict(noisy)[0].label
    shown, _ = resources.long_map("vgg-mnist", f"{image_digest(image)}:vgg-mnist:sp{NOISE}", target, "score_cam")
    assert (shown == explainers.explain(card, noisy, ["score_cam"], target)["score_cam"][0, 0].numpy()).all()
