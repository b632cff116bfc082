"""Your own model: torchvision architectures with weights from files the tests create, validated before anything is
written, then loaded by id and explained like a shipped model; every refusal with its message."""

import json

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from xai_core.cli import main
from xai_core.explainers import explain
from xai_core.models import CheckpointError, load_model
from xai_core.models.card import ModelCard
from xai_core.models.checkpoints import read_manifest, sha256_of
from xai_core.models.sources import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, add_model, read_classes, remove_model

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A seeded torchvision resnet18 with 3 classes saved as safetensors and as a .pt state dict, a classes file,
    and an output directory the registry also reads."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=3).eval()
    safetensors_path, pt_path = tmp_path / "weights.safetensors", tmp_path / "weights.pt"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(safetensors_path))
    torch.save(model.state_dict(), pt_path)
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\ndog\n\nfox\n")
    out = tmp_path / "registered"
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(out))
    return {"model": model, "safetensors": safetensors_path, "pt": pt_path, "classes": classes, "out": out, "tmp": tmp_path}


def test_an_added_model_loads_by_id_and_explains_like_the_original(files):
    added = add_model("my-resnet", "torchvision:resnet18", files["safetensors"], files["classes"], out_dir=files["out"])
    assert added.logits_shape == (1, 3) and len(added.conv_layers) == 20 and added.conv_layers[0] == "conv1"
    entry = read_manifest(files["out"])[0]
    assert entry["id"] == "my-resnet" and entry["classes"] == CLASSES and entry["input_size"] == [224, 224]
    assert entry["mean"] == list(IMAGENET_MEAN) and entry["std"] == list(IMAGENET_STD)
    assert entry["sha256"] == sha256_of(files["out"] / "my-resnet.safetensors")
    assert entry["source"]["weights_sha256"] == sha256_of(files["safetensors"])
    card = load_model("my-resnet")
    reference = ModelCard(
        id="ref",
        arch="resnet18",
        model=files["model"],
        classes=CLASSES,
        in_channels=3,
        input_size=(224, 224),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
    image = torch.rand(3, 300, 260, generator=torch.Generator().manual_seed(1))
    assert [p.label for p in card.predict(image, k=3)] == [p.label for p in reference.predict(image, k=3)]
    # identical weights and preprocessing: the same Grad-CAM, up to float32 kernel differences
    torch.testing.assert_close(
        explain(card, image, ["grad_cam"], 1)["grad_cam"], explain(reference, image, ["grad_cam"], 1)["grad_cam"], rtol=0, atol=1e-5
    )


def test_a_pt_state_dict_registers_the_same_weights(files):
    add_model("from-pt", "torchvision:resnet18", files["pt"], files["classes"], out_dir=files["out"])
    loaded = load_model("from-pt").model.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in files["model"].state_dict().items())


def test_refusals_say_what_is_wrong_and_write_nothing(files):
    out = files["out"]
    pickled = files["tmp"] / "module.pt"
    torch.save(files["model"], pickled)
    with pytest.raises(CheckpointError, match=r"pickled model, save the weights alone: torch.save\(model.state_dict\(\)"):
        add_model("x", "torchvision:resnet18", pickled, files["classes"], out_dir=out)
    truncated = files["tmp"] / "truncated.safetensors"
    truncated.write_bytes(files["safetensors"].read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        add_model("x", "torchvision:resnet18", truncated, files["classes"], out_dir=out)
    four = files["tmp"] / "four.txt"
    four.write_text("a\nb\nc\nd\n")
    with pytest.raises(CheckpointError, match=r"the weights have 3 classes \(fc\.(weight|bias) is \(3,.*\)\), the classes file names 4"):
        add_model("x", "torchvision:resnet18", files["safetensors"], four, out_dir=out)
    with pytest.raises(CheckpointError, match="unknown torchvision architecture 'resnet19'"):
        add_model("x", "torchvision:resnet19", files["safetensors"], files["classes"], out_dir=out)
    with pytest.raises(CheckpointError, match="the weights do not fit torchvision:resnet34"):
        add_model("x", "torchvision:resnet34", files["safetensors"], files["classes"], out_dir=out)
    with pytest.raises(ValueError, match=r"a 3-channel model needs 3 mean\(s\) and 3 positive std\(s\), got mean \[0.5\]"):
        add_model("x", "torchvision:resnet18", files["safetensors"], files["classes"], Preprocessing(mean=(0.5,), std=(0.5,)), out)
    with pytest.raises(ValueError, match="resize policy must be one of stretch, center_crop"):
        add_model("x", "torchvision:resnet18", files["safetensors"], files["classes"], Preprocessing(resize="squash"), out)
    with pytest.raises(ValueError, match="a model id is 1-64 letters, digits"):
        add_model("../outside", "torchvision:resnet18", files["safetensors"], files["classes"], out_dir=out)
    with pytest.raises(ValueError, match="vgg-mnist is a shipped id"):
        add_model("vgg-mnist", "torchvision:resnet18", files["safetensors"], files["classes"], out_dir=out)
    assert not out.exists()


def test_class_files(tmp_path):
    listed, indexed, bad, twice = (tmp_path / name for name in ("l.json", "i.json", "b.json", "t.txt"))
    listed.write_text(json.dumps(["a", "b"]))
    indexed.write_text(json.dumps({"1": "b", "0": "a"}))
    bad.write_text(json.dumps({"0": "a", "2": "c"}))
    twice.write_text("a\nb\na\n")
    assert read_classes(listed) == read_classes(indexed) == ["a", "b"]
    assert len(read_classes("imagenet")) == 1000
    with pytest.raises(ValueError, match="indices 0..K-1"):
        read_classes(bad)
    with pytest.raises(ValueError, match="names a more than once"):
        read_classes(twice)


def test_add_and_remove_through_the_cli(files, capsys):
    arguments = [
        "add-model",
        "--id",
        "cli-resnet",
        "--arch",
        "torchvision:resnet18",
        "--weights",
        str(files["safetensors"]),
        "--classes",
        str(files["classes"]),
        "--input-size",
        "160",
        "160",
        "--out",
        str(files["out"]),
    ]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "registered cli-resnet: torchvision:resnet18, 11,178,051 parameters" in printed
    assert "classes      cat, dog, fox" in printed and "conv layers  20 (conv1 ... layer4.1.conv2)" in printed
    assert "logits [1, 3]" in printed and load_model("cli-resnet").input_size == (160, 160)
    assert read_manifest(files["out"])[0]["command"].startswith("python -m xai_core add-model --id cli-resnet --arch torchvision:resnet18")
    assert main(["predict", "--model", "cli-resnet", "--dataset", "shapes", "--index", "0"]) == 0
    assert main(["remove-model", "cli-resnet", "--dir", str(files["out"])]) == 0
    assert read_manifest(files["out"]) == [] and not (files["out"] / "cli-resnet.safetensors").exists()
    assert main(["remove-model", "vgg-mnist", "--dir", str(files["out"])]) == 2
    assert "vgg-mnist is a shipped model" in capsys.readouterr().err
    with pytest.raises(ValueError, match="holds no model 'gone'"):
        remove_model("gone", files["out"])
