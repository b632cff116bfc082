"""Your own images in the browser (AppTest): a folder typed in the sidebar, several images and a zip uploaded at once
as this session's dataset, both browsable like any dataset with the prediction as the target, a user model that
keeps the chosen data, and the Evaluate page on them."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core.models.sources import add_model

TIMEOUT = 180
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _noise(seed: int, size=(30, 40)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder of 5 unlabelled photos (its test split: 1)."""
    root = tmp_path / "my photos"
    root.mkdir()
    for i in range(5):
        (root / f"leaf_{i}.png").write_bytes(_png(_noise(i)))
    return root


def _explore() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    app.switch_page("pages/explore.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_a_typed_folder_becomes_the_dataset_and_a_bad_one_keeps_the_previous(photos):
    app = _explore()
    app.text_input(key=keys.DATASET_FOLDER).input(str(photos / "missing")).run()
    assert not app.exception
    assert app.error[0].value == f"Cannot use {photos / 'missing'}: Image folder {photos / 'missing'} does not exist."
    assert app.session_state[keys.DATASET_NAME] == "mnist" and "**True class:**" in _markdown(app)

    app.text_input(key=keys.DATASET_FOLDER).input(f"folder:{photos}").run()
    assert not app.exception and not app.error
    assert app.session_state[keys.DATASET_NAME] == f"folder:{photos}"
    assert f"folder:{photos}" in app.selectbox(key=keys.DATASET_NAME).options
    caption = app.get("image")[0].captions[0]
    assert caption.startswith(f"folder:{photos} test #0: leaf_") and caption.endswith(".png")
    text = _markdown(app)
    assert "**Predicted:**" in text and "True class" not in text and "Dataset class" not in text
    assert not [box for box in app.selectbox if box.key == keys.CLASS_FILTER]  # no classes to filter by
    assert any("1 unlabelled images: the model's prediction is the target." in c.value for c in app.caption)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_several_uploaded_images_and_a_zip_are_browsed_as_a_dataset_then_evaluated():
    app = _explore()
    damaged = _png(_noise(9, (64, 64)))
    files = [
        ("one.png", _png(_noise(1)), "image/png"),
        ("more.zip", _zip({"set/two.png": _png(_noise(2)), "set/three.png": _png(_noise(3)), "set/notes.txt": b"x"}), "application/zip"),
        ("cut.png", damaged[: len(damaged) // 2], "image/png"),
    ]
    app.file_uploader(key=keys.DATASET_UPLOADS).set_value(files).run()
    assert not app.exception, [e.message for e in app.exception]
    name = app.session_state[keys.DATASET_NAME]
    assert name.startswith("upload:")
    warning = app.warning[0].value
    assert warning.startswith("2 file(s) skipped:") and "more.zip/set/notes.txt: not an image file" in warning and "cut.png: " in warning
    assert app.number_input[0].label == "Image (1-3)"
    app.number_input[0].set_value(3).run()
    assert app.get("image")[0].captions[0] == "Your uploads (3 images) test #2: more.zip/set/three.png"
    assert "**Predicted:**" in _markdown(app) and "True class" not in _markdown(app)

    app.switch_page("pages/evaluate.py").run()
    assert "Your uploads (3 images)" in app.selectbox(key=keys.EVAL_DATASET).options  # options show their labels
    app.selectbox(key=keys.EVAL_DATASET).select(name)
    app.multiselect(key=keys.EVAL_METHODS).set_value(["grad_cam"])
    app.multiselect(key=keys.EVAL_METRICS).set_value(["average_drop", "pointing_game"])
    app.number_input(key=keys.EVAL_IMAGES).set_value(2)
    app.run()
    assert "Your uploads (3 images) has no ground-truth masks: Pointing game will be skipped there." in app.info[0].value
    app.button[0].click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    table = app.dataframe[0].value
    assert list(table["pair"]) == [f"vgg-mnist@{name}"] and list(table["images"]) == [2]
    assert any(f"vgg-mnist@{name}: unlabelled images, so the maps explain the model's predictions" in i.value for i in app.info)


def test_the_evaluate_page_runs_on_a_typed_folder(photos):
    app = _explore()
    app.text_input(key=keys.DATASET_FOLDER).input(str(photos)).run()
    app.switch_page("pages/evaluate.py").run()
    app.selectbox(key=keys.EVAL_DATASET).select(f"folder:{photos}")
    app.radio(key=keys.EVAL_SPLIT).set_value("train")
    app.multiselect(key=keys.EVAL_METHODS).set_value(["grad_cam", "saliency"])
    app.multiselect(key=keys.EVAL_METRICS).set_value(["average_drop"])
    app.number_input(key=keys.EVAL_IMAGES).set_value(2)
    app.run()
    app.button[0].click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert set(app.dataframe[0].value["pair"]) == {f"vgg-mnist@folder:{photos}[train]"}


@pytest.fixture
def user_model(tmp_path, monkeypatch) -> str:
    """A torchvision mobilenet_v3_small (random seeded weights, 224 px) registered like a user's, manifest dataset ""."""
    torch.manual_seed(0)
    weights = tmp_path / "weights.safetensors"
    model = torchvision.models.mobilenet_v3_small(num_classes=2).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    (tmp_path / "classes.txt").write_text("healthy\nblight\n")
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path / "registered"))
    add_model("leaf-net", "torchvision:mobilenet_v3_small", weights, tmp_path / "classes.txt", out_dir=tmp_path / "registered")
    return "leaf-net"


def test_switching_to_a_model_without_data_keeps_the_chosen_dataset(photos, user_model):
    app = _explore()
    app.text_input(key=keys.DATASET_FOLDER).input(str(photos)).run()
    app.selectbox(key=keys.MODEL_ID).select(user_model).run()
    assert not app.exception and not app.error
    assert app.session_state[keys.DATASET_NAME] == f"folder:{photos}"
    assert any(p in _markdown(app) for p in ("**Predicted:** healthy", "**Predicted:** blight"))
    app.selectbox(key=keys.DATASET_NAME).select("shapes").run()
    app.selectbox(key=keys.MODEL_ID).select("vgg-mnist").run()  # a zoo model still brings its own data
    assert app.session_state[keys.DATASET_NAME] == "mnist"
