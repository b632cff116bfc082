"""Every page with a model a user added (no training dataset): a torchvision MobileNetV3-Small with random weights and
3 classes at 96x128 under center_crop, registered into a temporary checkpoint directory and chosen in the sidebar.
The shapes dataset's square images are wider than the model sees, so maps are drawn over the centre crop."""

import io
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from streamlit.runtime.media_file_storage import MediaFileKind
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pages.common import keys
from tests.conftest import train_tiny_gan
from xai_core import EXPLAINERS, layer_positions, load_dataset, load_model
from xai_core.explainers import METHOD_LABELS
from xai_core.models.sources import Preprocessing, add_model

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MODEL = "user-mobilenet"
GAN = "user-pages-cdcgan"
CLASSES = ["cat", "dog", "fox"]
INPUT_SIZE = (96, 128)  # (H, W): a 48x48 shapes image is seen as its central 36x48


@pytest.fixture(scope="module")
def registered(tmp_path_factory, one_torch_thread):
    """The user's model in a checkpoint directory the registry reads (XAI_STUDIO_CHECKPOINT_DIRS), beside a tiny
    class-conditional MNIST GAN."""
    directory = tmp_path_factory.mktemp("user-models")
    torch.manual_seed(0)
    network = torchvision.models.mobilenet_v3_small(num_classes=len(CLASSES))
    save_file({key: value.contiguous() for key, value in network.state_dict().items()}, str(directory / "weights.safetensors"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(directory / "registered"))
        add_model(
            MODEL,
            "torchvision:mobilenet_v3_small",
            directory / "weights.safetensors",
            CLASSES,
            Preprocessing(INPUT_SIZE, resize="center_crop"),
            directory / "registered",
        )
        train_tiny_gan(directory / "registered", GAN)  # GAN Studio's latent sensitivities of a shipped GAN take ~10 s
        yield load_model(MODEL)


@pytest.fixture(scope="module")
def app(registered) -> AppTest:
    """One session: the user's model chosen in the sidebar, the shapes dataset (RGB) as the image source."""
    session = AppTest.from_file(APP, default_timeout=300).run()
    session.selectbox(key=keys.MODEL_ID).select(MODEL).run()
    session.selectbox(key=keys.DATASET_NAME).select("shapes").run()
    assert not session.exception, [e.message for e in session.exception]
    return session


def _open(app: AppTest, page: str) -> AppTest:
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.session_state[keys.MODEL_ID] == MODEL
    return app


def _texts(app: AppTest, kind: str) -> list[str]:
    return [element.value for element in app.get(kind)]


def _record_images(monkeypatch) -> list[tuple[int, int]]:
    """(width, height) of every image the app shows from now on (through its media storage), in order."""
    sizes = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if kind == MediaFileKind.MEDIA and mimetype.startswith("image/"):  # not the download buttons' PNGs
            sizes.append(Image.open(io.BytesIO(self._files_by_id[file_id].content)).size)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return sizes


def _captions(app: AppTest) -> list[str]:
    return [caption for element in app.main.get("image") for caption in element.captions]


def test_home_shows_its_preprocessing_classes_and_source(app):
    _open(app, "pages/home.py")
    row = app.dataframe[0].value.set_index("model").loc[MODEL]
    assert row["architecture"] == "torchvision:mobilenet_v3_small" and row["trained on"] == "(added)"
    assert (row["input"], row["resize"], row["classes"], row["class names"]) == ("3x96x128", "center_crop", 3, "cat, dog, fox")
    assert row["mean"] == "0.485, 0.456, 0.406" and row["std"] == "0.229, 0.224, 0.225"
    assert "weights_sha256: " in row["source"] and row["reproduce with"].startswith("python -m xai_core add-model --id user-mobilenet")
    builtin = app.dataframe[0].value.set_index("model").loc["efficientnet_lite0-imagenet"]
    assert (builtin["input"], builtin["classes"], builtin["resize"]) == ("3x224x224", 1000, "stretch")


def test_explore_predicts_with_its_own_classes(app, registered):
    _open(app, "pages/explore.py")
    image = load_dataset("shapes", "test")[0][0]
    top = registered.predict(image)[0]
    text = "\n".join(_texts(app, "markdown"))
    assert f"**Predicted:** {top.name} ({top.probability:.1%})" in text
    assert f"({MODEL} has classes of its own)" in text
    assert "input 3x96x128 (center_crop)" in app.caption[-1].value


def test_explain_shows_every_method_over_the_centre_crop(app, monkeypatch):
    shown = _record_images(monkeypatch)
    _open(app, "pages/explain.py")
    titles = [m.strip("*") for m in _texts(app, "markdown") if m.startswith("**") and m.endswith("**")]
    assert titles == ["Original (the centre the model sees)", *(METHOD_LABELS[m] for m in EXPLAINERS)]
    not_applicable = [text for text in _texts(app, "info") if text.startswith("Not applicable")]
    assert not_applicable == []  # MobileNetV3 has ReLUs (Guided Backprop) and conv layers (CAMs, SFT-GANs)
    # MobileNetV3-small's last conv layer has 576 channels: Score-CAM (577 passes) waits for a click
    assert [b.label for b in app.button if b.label.startswith("Compute")] == ["Compute Score-CAM"]
    assert len(app.main.get("image")) == len(EXPLAINERS)
    # the 48x48 image's centre the model sees is 36x48 (its 96x128 input's aspect): every tile is drawn over it
    assert shown[0] == (128, 128)  # the sidebar's thumbnail of the current image
    assert shown[1 : 1 + len(EXPLAINERS)] == [(224, 168)] * len(EXPLAINERS)
    next(b for b in app.button if b.label == "Compute Score-CAM").click().run()
    assert not app.exception
    assert len(app.main.get("image")) == 1 + len(EXPLAINERS) and len(app.get("download_button")) == len(EXPLAINERS)
    assert any(f"Target: **{name}**" in app.caption[-1].value for name in CLASSES)


def test_layers_names_the_users_conv_layers(app, registered):
    _open(app, "pages/layers.py")
    names = [name for name, module in registered.model.named_modules() if isinstance(module, torch.nn.Conv2d)]
    layer_captions = [c for c in _captions(app) if ": " in c and not c.startswith("CGMA")]
    assert [c.removeprefix("★ ").split(": ", 1)[1] for c in layer_captions] == names
    assert len(names) == 52 and layer_captions[0] == "★ 0: features.0.0"
    starred = [i for i, c in enumerate(layer_captions) if c.startswith("★")]
    assert starred == layer_positions(len(names), 8)
    assert f"**{len(names)} conv layers** in `{MODEL}`" in "\n".join(_texts(app, "markdown"))


def test_sftgan_uses_the_objects_generators_and_says_so(app):
    _open(app, "pages/sftgan.py")
    message = next(text for text in _texts(app, "info") if "LSFT-GAN uses" in text)
    # a 96x128 RGB model with no training data: the objects generators (choose_generator, as explain_image)
    assert "LSFT-GAN uses `lsft-objects` (objects strategy: user-mobilenet has no known training data; held-out Dice" in message
    assert "GSFT-GAN uses `gsft-objects`" in message and f"train-sftgan --kind lsft --pairs {MODEL}@folder:" in message
    titles = [m.strip("*") for m in _texts(app, "markdown") if m.startswith("**") and m.endswith("**")]
    assert titles[:4] == ["Original", "Grad-CAM", "LSFT-GAN", "GSFT-GAN"]
    assert [c for c in _captions(app) if c.startswith("without CGMA")] == [f"without CGMA {k}" for k in range(8)]


def test_concepts_explains_why_tcav_needs_training_data(app):
    _open(app, "pages/concepts.py")
    message = next(text for text in _texts(app, "info") if MODEL in text)
    assert "added without its training data, so TCAV cannot run on it" in message
    picker = app.selectbox(key=keys.TCAV_MODEL)
    assert MODEL not in picker.options and picker.value == "vgg-glyphs"


def test_report_builds_for_the_users_model(app):
    _open(app, "pages/report.py")
    assert any(f"{MODEL} was added without a training dataset" in text for text in _texts(app, "caption"))
    next(button for button in app.button if button.label == "Build report").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert [button.label for button in app.get("download_button")] == ["Download HTML report"]


def test_gan_studio_offers_it_as_the_cnn_reading_the_images(app):
    app.session_state[keys.GAN_ID] = GAN
    _open(app, "pages/gan_studio.py")
    picker = app.selectbox(key=keys.GAN_CNN)
    assert picker.value == "vgg-mnist" and picker.options[-1] == f"{MODEL} (added, own classes)"
    picker.select(MODEL).run()
    assert not app.exception, [e.message for e in app.exception]
    assert any(f"{MODEL} was not trained on mnist" in text for text in _texts(app, "caption"))
    maps = [c for c in _captions(app) if f"of {MODEL} for '" in c]
    assert [c.split(" of ")[0] for c in maps] == ["Grad-CAM", "LSFT-GAN"]
