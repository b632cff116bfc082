"""Home and Explore through streamlit.testing.v1.AppTest: what a user sees after each action."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core import load_dataset, load_model

TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def explore() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    app.switch_page("pages/explore.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_home_lists_models_and_datasets():
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert app.title[0].value == "XAI Studio"
    models_table, generators_table, gans_table, datasets_table = (frame.value for frame in app.dataframe)
    assert "vgg-mnist" in set(models_table["model"])
    assert models_table.set_index("model").loc["vgg-mnist", "test accuracy"] >= 0.98
    shipped = {f"{kind}-{strategy}" for kind in ("lsft", "gsft") for strategy in ("symbols", "objects", "photos")}
    assert set(generators_table["generator"]) == shipped
    assert generators_table["held-out Dice vs Grad-CAM"].between(0, 1).all()
    assert {"mnist", "glyphs", "shapes"} <= set(datasets_table["dataset"])
    shipped_gans = {f"{kind}-{dataset}" for kind in ("dcgan", "cdcgan") for dataset in ("mnist", "glyphs", "shapes")}
    assert set(gans_table["GAN"]) == shipped_gans
    assert (gans_table["FID"] > gans_table["real-vs-real FID"]).all()


def test_explore_defaults_to_mnist_vgg_and_predicts_the_first_digit(explore):
    assert explore.session_state[keys.MODEL_ID] == "vgg-mnist"
    assert explore.session_state[keys.DATASET_NAME] == "mnist"
    _, label, _ = load_dataset("mnist", "test")[0]
    text = _markdown(explore)
    assert f"**True class:** {label}" in text and f"**Predicted:** {label} (" in text and "correct" in text
    chart = explore.get("plotly_chart")[0]
    assert '"Top predictions"' in chart.proto.spec


def test_explore_class_filter_and_index_pick_the_right_image(explore):
    explore.selectbox(key=keys.CLASS_FILTER).select("7").run()
    number = explore.number_input[0]
    number.set_value(3).run()
    dataset = load_dataset("mnist", "test")
    index = dataset.indices_of_class(7)[2]
    assert f"mnist test #{index}" in explore.get("image")[0].captions[0]
    assert "**True class:** 7" in _markdown(explore)


def test_changing_the_model_follows_its_dataset(explore):
    explore.selectbox(key=keys.MODEL_ID).select("vgg-shapes").run()
    assert not explore.exception
    assert explore.session_state[keys.DATASET_NAME] == "shapes"
    assert "**True class:** circle" in _markdown(explore)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploading_an_image_predicts_it(explore):
    image, label, _ = load_dataset("mnist", "test")[5]
    pixels = (image[0].numpy() * 255).astype(np.uint8)
    explore.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    explore.file_uploader(key=keys.UPLOAD).upload("digit.png", _png(pixels), "image/png").run()
    assert not explore.exception and not explore.error
    expected = load_model("vgg-mnist").predict(image)[0]
    assert expected.label == label
    assert f"**Predicted:** {label} (" in _markdown(explore)


def test_a_bad_upload_shows_a_message_and_keeps_the_page(explore):
    explore.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    explore.file_uploader(key=keys.UPLOAD).upload("fake.png", b"this is not an image", "image/png").run()
    assert not explore.exception
    assert "Cannot use fake.png" in explore.error[0].value
    # the rest of the page still works: back to the dataset, the prediction returns
    explore.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_DATASET).run()
    assert "**Predicted:**" in _markdown(explore) and not explore.error


def test_an_unavailable_dataset_is_explained(explore, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_FASHION_MNIST_DIR", "/nonexistent")
    from pages.common.resources import cached_dataset
    from xai_core.data.registry import _load_registered

    _load_registered.cache_clear()
    cached_dataset.clear()
    explore.selectbox(key=keys.DATASET_NAME).select("fashion_mnist").run()
    assert not explore.exception
    assert "not available on this machine" in explore.error[0].value
    _load_registered.cache_clear()
    cached_dataset.clear()
