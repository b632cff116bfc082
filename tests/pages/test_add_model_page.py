"""The Add-a-model page through AppTest, with files the tests make (a torchvision MobileNetV3-Small with random weights
and 3 classes, ~6 MB): uploaded weights and classes are validated and registered into the first directory of
XAI_STUDIO_CHECKPOINT_DIRS, the summary shows, the model becomes the current one and is listed, then removed;
every refusal says what is wrong and writes nothing; an ONNX upload takes its input size from the file. Also the
page's helpers (pages/common/user_models.py): output directory, upload cap, ids, number fields."""

import io
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.testing.v1 import AppTest

from pages.common import keys
from pages.common.user_models import (
    DEFAULT_WEIGHTS_CAP_MB,
    WEIGHTS_CAP_VARIABLE,
    add_uploaded_model,
    default_model_id,
    parse_numbers,
    user_model_dir,
    weights_cap_mb,
)
from xai_core import list_models, load_model
from xai_core.models.checkpoints import USER_CHECKPOINT_DIR, read_manifest, sha256_of
from xai_core.models.sources import Preprocessing

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ARCH = "torchvision:mobilenet_v3_small"
CLASSES = b"cat\ndog\nfox\n"


@pytest.fixture(scope="module")
def network(one_torch_thread) -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v3_small(num_classes=3).eval()


@pytest.fixture(scope="module")
def weights(network) -> bytes:
    return save({key: value.contiguous() for key, value in network.state_dict().items()})


@pytest.fixture
def out(tmp_path, monkeypatch) -> Path:
    """The browser's output directory: the first of XAI_STUDIO_CHECKPOINT_DIRS (a second one is only read)."""
    directory = tmp_path / "added"
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", f"{directory}:{tmp_path / 'other'}")
    return directory


def _open() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("pages/add_model.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _fill(app: AppTest, weights: tuple[str, bytes], classes: tuple[str, bytes] | None = ("classes.txt", CLASSES), **fields) -> AppTest:
    """Upload the weights (and classes), set the 96x96 input and any other ``fields`` ({widget key: value})."""
    generation = app.session_state[keys.ADD_MODEL_UPLOADS]
    app.selectbox(key=keys.ADD_MODEL_ARCH).select(ARCH).run()
    app.file_uploader(key=f"{keys.ADD_MODEL_WEIGHTS}{generation}").upload(weights[0], weights[1], "application/octet-stream").run()
    if classes is not None:
        app.file_uploader(key=f"{keys.ADD_MODEL_CLASSES}{generation}").upload(classes[0], classes[1], "text/plain").run()
    for key, value in {keys.ADD_MODEL_HEIGHT: 96, keys.ADD_MODEL_WIDTH: 96, **fields}.items():
        widget = app.text_input(key=key) if key in (keys.ADD_MODEL_ID, keys.ADD_MODEL_MEAN, keys.ADD_MODEL_STD) else None
        if widget is None:
            widget = app.number_input(key=key) if key in (keys.ADD_MODEL_HEIGHT, keys.ADD_MODEL_WIDTH) else app.radio(key=key)
        widget.set_value(value).run()
    return app


def _validate(app: AppTest) -> AppTest:
    next(button for button in app.button if button.label == "Validate and add").click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_the_form_registers_uploaded_weights_and_the_model_is_everywhere_then_removed(out, weights, network, monkeypatch):
    released = []
    remove_file = MemoryUploadedFileManager.remove_file

    def record(self, session_id: str, file_id: str) -> None:
        released.append(file_id)
        remove_file(self, session_id, file_id)

    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file", record)
    app = _fill(_open(), ("My ResNet (v2).safetensors", weights), **{keys.ADD_MODEL_RESIZE: "center_crop"})
    uploaded = [app.file_uploader(key=f"{prefix}0").value.file_id for prefix in (keys.ADD_MODEL_WEIGHTS, keys.ADD_MODEL_CLASSES)]
    _validate(app)
    assert not app.error, [e.value for e in app.error]
    assert "Added **My-ResNet-v2**" in app.success[0].value  # the id defaults to the file's name
    summary = app.code[0].value
    assert summary.startswith("registered My-ResNet-v2: torchvision:mobilenet_v3_small, 1,520,931 parameters")
    assert "classes      cat, dog, fox" in summary and "input        3x96x96 (center_crop)" in summary
    assert "conv layers  52 (features.0.0 ... features.12.0)" in summary and "logits [1, 3]" in summary
    # written to the first checkpoint directory, with the upload's name and sha256 as provenance
    entry = read_manifest(out)[0]
    assert (entry["id"], entry["dataset"], entry["resize"], entry["input_size"]) == ("My-ResNet-v2", "", "center_crop", [96, 96])
    assert entry["source"] == {
        "classes": "browser upload classes.txt",
        "weights": "browser upload My ResNet (v2).safetensors",
        "weights_sha256": entry["source"]["weights_sha256"],
    }
    assert "--weights 'My ResNet (v2).safetensors' --classes classes.txt --input-size 96 96 --resize center_crop" in entry["command"]
    loaded = load_model("My-ResNet-v2").model.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in network.state_dict().items())
    # the current model in the sidebar, listed under Your models; the uploads left the server's memory, the uploaders
    # start again
    assert app.session_state[keys.MODEL_ID] == "My-ResNet-v2" and "My-ResNet-v2" in app.selectbox(key=keys.MODEL_ID).options
    assert released == uploaded and app.file_uploader(key=f"{keys.ADD_MODEL_WEIGHTS}1").value is None
    assert any(m.value.startswith("**My-ResNet-v2** · `torchvision:mobilenet_v3_small` · 3 classes") for m in app.markdown)
    app.switch_page("pages/explore.py").run()
    assert not app.exception and app.session_state[keys.MODEL_ID] == "My-ResNet-v2"

    app.switch_page("pages/add_model.py").run()
    next(button for button in app.button if button.key == "remove:My-ResNet-v2").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert "Removed My-ResNet-v2 (deleted My-ResNet-v2.safetensors" in app.info[0].value
    assert "My-ResNet-v2" not in list_models() and read_manifest(out) == [] and not (out / "My-ResNet-v2.safetensors").exists()
    assert app.session_state[keys.MODEL_ID] == "vgg-mnist"  # the sidebar's default again


def test_refusals_name_the_problem_and_write_nothing(out, weights, network):
    app = _validate(_open())
    assert app.error[0].value == "Upload the weights first."
    _validate(_fill(app, ("net.safetensors", weights), ("four.txt", b"a\nb\nc\nd\n"), **{keys.ADD_MODEL_ID: "four"}))
    refusal = app.error[0].value
    assert refusal.startswith("four was not added (nothing was written): the weights have 3 classes (classifier.3.")
    assert refusal.endswith("the classes file names 4")

    pickled = io.BytesIO()
    torch.save(network, pickled)
    app = _validate(_fill(_open(), ("whole-model.pt", pickled.getvalue()), **{keys.ADD_MODEL_ID: "pickled"}))
    refusal = app.error[0].value
    assert refusal.startswith("pickled was not added (nothing was written): ") and "whole-model.pt" in refusal
    assert "If the file holds a whole pickled model, save the weights alone: torch.save(model.state_dict()" in refusal
    assert "Unsupported global: GLOBAL torchvision.models.mobilenetv3.MobileNetV3" in refusal
    assert "xai-studio-upload" not in refusal and "weights_only" not in refusal  # no temporary path, no torch advice

    app = _validate(_fill(_open(), ("net.safetensors", weights), **{keys.ADD_MODEL_ID: "vgg-mnist"}))
    assert "vgg-mnist is already a model id: choose another, or remove yours below first" in app.error[0].value
    for mean, expected in (("0.5", "a 3-channel model needs 3 mean(s) and 3 positive std(s)"), ("red", "mean must be numbers")):
        app.text_input(key=keys.ADD_MODEL_ID).set_value("fine-id").run()
        app.text_input(key=keys.ADD_MODEL_MEAN).set_value(mean).run()
        assert expected in _validate(app).error[0].value
    assert not out.exists() and "fine-id" not in list_models()


def test_an_onnx_upload_takes_its_input_from_the_graph_and_imagenet_classes(out, tmp_path):
    torch.manual_seed(0)
    network = torchvision.models.mobilenet_v3_small(num_classes=1000).eval()
    torch.onnx.export(network, (torch.zeros(1, 3, 64, 80),), str(tmp_path / "net.onnx"), dynamo=False, opset_version=17)
    app = _open()
    app.radio(key=keys.ADD_MODEL_SOURCE).set_value(keys.ADD_MODEL_SOURCE_ONNX).run()
    app.radio(key=keys.ADD_MODEL_CLASSES_SOURCE).set_value(keys.ADD_MODEL_CLASSES_IMAGENET).run()
    assert app.number_input(key=keys.ADD_MODEL_HEIGHT).disabled  # the checkbox "from the ONNX file" is on
    app.file_uploader(key=f"{keys.ADD_MODEL_ONNX}0").upload("net.onnx", (tmp_path / "net.onnx").read_bytes(), "application/octet-stream")
    _validate(app.run())
    assert not app.error, [e.value for e in app.error]
    assert "input        3x64x80 (stretch)" in app.code[0].value and "classes      tench, goldfish" in app.code[0].value
    entry = read_manifest(out)[0]
    assert (entry["id"], entry["arch"], entry["sha256"]) == ("net", "onnx", sha256_of(out / "net.onnx"))
    assert entry["source"] == {"onnx": "browser upload net.onnx", "classes": "imagenet"}
    assert entry["command"].startswith("python -m xai_core add-model --id net --onnx net.onnx --classes imagenet --input-size 64 80")


def test_the_output_directory_is_the_first_checkpoint_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("XAI_STUDIO_CHECKPOINT_DIRS", raising=False)
    assert user_model_dir() == USER_CHECKPOINT_DIR
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", f"{tmp_path / 'first'}:{tmp_path / 'second'}")
    assert user_model_dir() == tmp_path / "first"


def test_the_weights_cap_follows_the_variable_within_the_servers_cap(monkeypatch):
    monkeypatch.delenv(WEIGHTS_CAP_VARIABLE, raising=False)
    assert weights_cap_mb(1024) == (DEFAULT_WEIGHTS_CAP_MB, "")
    assert weights_cap_mb(200)[0] == 200 and "--server.maxUploadSize 1024" in weights_cap_mb(200)[1]
    monkeypatch.setenv(WEIGHTS_CAP_VARIABLE, "64")
    assert weights_cap_mb(1024) == (64, "")
    monkeypatch.setenv(WEIGHTS_CAP_VARIABLE, "2048")
    assert weights_cap_mb(1024) == (1024, weights_cap_mb(1024)[1]) and "--server.maxUploadSize 2048" in weights_cap_mb(1024)[1]
    monkeypatch.setenv(WEIGHTS_CAP_VARIABLE, "lots")
    assert weights_cap_mb(1024)[0] == DEFAULT_WEIGHTS_CAP_MB and "is not a positive whole number" in weights_cap_mb(1024)[1]


def test_ids_numbers_and_factories(out, weights):
    assert default_model_id("My ResNet (v2).safetensors") == "My-ResNet-v2" and default_model_id("(1).pt") == "1"
    assert parse_numbers("0.485, 0.456 0.406", "mean") == (0.485, 0.456, 0.406)
    with pytest.raises(ValueError, match="give the std"):
        parse_numbers(" ", "std")
    with pytest.raises(ValueError, match="a model id is 1-64 letters"):
        add_uploaded_model("../outside", ARCH, ("w.safetensors", weights), None, Preprocessing(), out)
    with pytest.raises(ValueError, match="a factory runs Python code and is added only on the command line, with --trust-code"):
        add_uploaded_model("mine", "factory:evil.py:build", ("w.safetensors", weights), None, Preprocessing(), out)
    with pytest.raises(ValueError, match=r"w.onnx: the weights must be a .safetensors or .pt or .pth file"):
        add_uploaded_model("mine", ARCH, ("w.onnx", weights), None, Preprocessing(), out)
    assert not out.exists()
