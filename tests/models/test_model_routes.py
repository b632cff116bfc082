"""Your own model by every route, at real sizes with random weights saved to files the tests create: torchvision
ResNet-50 and DenseNet-121, a timm ConvNeXt, an ONNX export of a torchvision ResNet (its Grad-CAM equal to the
original's), a Python factory (only with trust), a module in memory (register_model); the resize policies."""

import textwrap

import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from xai_core.attribution import layer_gradcams
from xai_core.attribution.cam import class_activation_maps, grad_cam_weights, layer_pass
from xai_core.cli import main
from xai_core.explainers import explain, explain_image
from xai_core.models import CheckpointError, load_model
from xai_core.models.card import CENTER_CROP, ModelCard
from xai_core.models.checkpoints import read_manifest, sha256_of
from xai_core.models.sources import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, add_model, add_onnx_model, register_model

CLASSES = ["cat", "dog", "fox"]
# Maps are min-max normalised to [0, 1]; the same float32 network evaluated by different kernels (or with
# BatchNorm folded into the conv before it) differs by ~1e-6 relative in activations and gradients, which
# moves normalised map values by well under 1e-4.
MAP_TOLERANCE = 1e-4


@pytest.fixture
def out(tmp_path, monkeypatch):
    """A checkpoint directory the registry reads, and a classes file."""
    directory = tmp_path / "registered"
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(directory))
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES))
    return directory


def _save(model: nn.Module, path) -> None:
    save_file({key: value.contiguous() for key, value in model.state_dict().items()}, str(path))


def _reference(model: nn.Module, **preprocessing) -> ModelCard:
    settings = {"in_channels": 3, "input_size": (224, 224), "mean": IMAGENET_MEAN, "std": IMAGENET_STD} | preprocessing
    return ModelCard(id="reference", arch="reference", model=model.eval(), classes=CLASSES, **settings)


def _photo(seed: int = 1) -> torch.Tensor:
    return torch.rand(3, 260, 300, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("name", "conv_layers"), [("resnet50", 53), ("densenet121", 120)])
def test_torchvision_architectures_at_224_explain_like_the_original(out, name, conv_layers):
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None, num_classes=3)
    _save(original, out.parent / "weights.safetensors")
    added = add_model(name, f"torchvision:{name}", out.parent / "weights.safetensors", out.parent / "classes.txt", out_dir=out)
    assert len(added.conv_layers) == conv_layers and added.entry["resize"] == "stretch"
    card, reference = load_model(name), _reference(original)
    image = _photo()
    torch.testing.assert_close(card.probabilities(image), reference.probabilities(image), rtol=0, atol=1e-6)
    ours, original_map = explain(card, image, ["grad_cam"], 2)["grad_cam"], explain(reference, image, ["grad_cam"], 2)["grad_cam"]
    torch.testing.assert_close(ours, original_map, rtol=0, atol=MAP_TOLERANCE)


def test_a_timm_model_registers_with_one_or_three_channels(out):
    import timm

    torch.manual_seed(0)
    original = timm.create_model("convnext_atto", pretrained=False, num_classes=3)
    _save(original, out.parent / "convnext.safetensors")
    add_model("convnext", "timm:convnext_atto", out.parent / "convnext.safetensors", out.parent / "classes.txt", out_dir=out)
    card = load_model("convnext")
    assert card.arch == "timm:convnext_atto" and card.mean == IMAGENET_MEAN
    torch.testing.assert_close(card.probabilities(_photo()), _reference(original).probabilities(_photo()), rtol=0, atol=1e-6)
    # ConvNeXt has GELUs, no ReLU: Guided Backprop says why it does not apply, the CAMs work
    explanation = explain_image(card, _photo(), ["grad_cam", "guided_backprop"], 0)
    assert explanation.maps["grad_cam"].shape == (1, 1, 224, 224)
    assert explanation.not_applicable == {"guided_backprop": "Guided Backprop rewrites the backward pass of nn.ReLU; this model has none"}
    gray = timm.create_model("resnet10t", pretrained=False, num_classes=3, in_chans=1)
    _save(gray, out.parent / "gray.safetensors")
    one_channel = Preprocessing((64, 64), (0.5,), (0.25,), in_channels=1)
    add_model("gray", "timm:resnet10t", out.parent / "gray.safetensors", out.parent / "classes.txt", one_channel, out)
    assert load_model("gray").preprocess(_photo()).shape == (1, 1, 64, 64)
    with pytest.raises(CheckpointError, match="unknown timm architecture 'convnext_attoo'"):
        add_model("x", "timm:convnext_attoo", out.parent / "convnext.safetensors", out.parent / "classes.txt", out_dir=out)


def _export_onnx(model: nn.Module, path, size: int = 224) -> None:
    torch.onnx.export(model.eval(), (torch.zeros(1, 3, size, size),), str(path), dynamo=False, opset_version=17, input_names=["image"])


def test_an_onnx_export_keeps_its_conv_layers_and_its_grad_cams(out):
    """Exporters fold each BatchNorm into the conv before it, so the converted model's conv outputs are the
    original's BatchNorm outputs: Grad-CAM at every converted conv equals the original's at the matching BN."""
    torch.manual_seed(0)
    original = torchvision.models.resnet18(num_classes=3).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding them matters
        for module in original.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    _export_onnx(original, out.parent / "resnet18.onnx")
    added = add_onnx_model("from-onnx", out.parent / "resnet18.onnx", out.parent / "classes.txt", out_dir=out)
    entry = read_manifest(out)[0]
    assert entry["arch"] == "onnx" and entry["input_size"] == [224, 224] and entry["sha256"] == sha256_of(out / "from-onnx.onnx")
    assert len(added.conv_layers) == 20
    card, reference = load_model("from-onnx"), _reference(original)
    image = _photo()
    torch.testing.assert_close(card.probabilities(image), reference.probabilities(image), rtol=0, atol=1e-5)
    converted = layer_gradcams(card.model, card.preprocess(image), 1)
    batch_norms = [original.get_submodule(_batch_norm_after(name)) for name in converted.names]
    recorded = layer_pass(original, batch_norms, reference.preprocess(image), 1)
    activations = [recorded.activations[recorded.order.index(i)] for i in range(len(batch_norms))]
    gradients = [recorded.gradients[recorded.order.index(i)] for i in range(len(batch_norms))]
    expected = class_activation_maps(activations, [grad_cam_weights(g) for g in gradients], (224, 224))
    assert converted.maps.shape == expected.shape == (1, 20, 224, 224)
    torch.testing.assert_close(converted.maps, expected, rtol=0, atol=MAP_TOLERANCE)


def _batch_norm_after(converted_name: str) -> str:
    """onnx2torch names a conv by its ONNX scope: ``layer2/layer2/0/downsample/downsample/0/Conv`` is the original's
    ``layer2.0.downsample.0``, whose BatchNorm is ``layer2.0.downsample.1``; ``conv1`` is followed by ``bn1``."""
    scopes = converted_name.split("/")[:-1]
    parts = [part for index, part in enumerate(scopes) if index == 0 or part != scopes[index - 1]]
    if parts[-2:-1] == ["downsample"]:
        return ".".join(parts[:-1] + ["1"])
    return ".".join(parts[:-1] + [parts[-1].replace("conv", "bn")])


def test_a_newer_opset_is_converted_down_first(out):
    """onnx2torch stops at opset 17 operators (Identity-19 is unknown to it): the graph is converted down, not refused."""
    torch.manual_seed(0)
    original = torchvision.models.resnet18(num_classes=3).eval()
    torch.onnx.export(original, (torch.zeros(1, 3, 64, 64),), str(out.parent / "r19.onnx"), dynamo=False, opset_version=19)
    added = add_onnx_model("opset19", out.parent / "r19.onnx", CLASSES, out_dir=out)
    assert len(added.conv_layers) == 20 and added.entry["input_size"] == [64, 64]
    image = _photo()
    card = load_model("opset19")
    torch.testing.assert_close(card.probabilities(image), _reference(original, input_size=(64, 64)).probabilities(image), rtol=0, atol=1e-5)


def test_onnx_refusals(out):
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 3))
    torch.onnx.export(mlp.eval(), (torch.zeros(1, 3, 32, 32),), str(out.parent / "mlp.onnx"), dynamo=False, opset_version=17)
    with pytest.raises(CheckpointError, match="mlp.onnx has no Conv layer after conversion"):
        add_onnx_model("mlp", out.parent / "mlp.onnx", out.parent / "classes.txt", out_dir=out)
    (out.parent / "fake.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(CheckpointError, match="fake.onnx is not a valid ONNX model"):
        add_onnx_model("fake", out.parent / "fake.onnx", out.parent / "classes.txt", out_dir=out)
    torch.manual_seed(0)
    _export_onnx(torchvision.models.resnet18(num_classes=5), out.parent / "five.onnx", size=64)
    with pytest.raises(CheckpointError, match=r"the model has 5 classes \(its logits\), the classes file names 3"):
        add_onnx_model("five", out.parent / "five.onnx", out.parent / "classes.txt", out_dir=out)
    assert not out.exists()


FACTORY = """
from torch import nn


def build(num_classes):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes),
    )
"""


def test_a_factory_runs_only_with_trust_and_only_unchanged(out, capsys):
    source = out.parent / "my_net.py"
    source.write_text(textwrap.dedent(FACTORY))
    classes = str(out.parent / "classes.txt")
    with pytest.raises(ValueError, match="runs your Python code: pass --trust-code"):
        add_model("mine", f"factory:{source}:build", None, classes, out_dir=out)
    arguments = ["add-model", "--id", "mine", "--factory", f"{source}:build", "--classes", classes, "--input-size", "64", "64"]
    assert main([*arguments, "--out", str(out)]) == 2 and "--trust-code" in capsys.readouterr().err
    assert main([*arguments, "--trust-code", "--out", str(out)]) == 0
    assert "conv layers  0, 2" in capsys.readouterr().out
    entry = read_manifest(out)[0]
    assert entry["factory_sha256"] == sha256_of(source) and entry["trust_code"] is True
    assert entry["command"].startswith(f"python -m xai_core add-model --id mine --factory {source}:build")
    card = load_model("mine")
    assert explain(card, _photo(), ["grad_cam"], 0)["grad_cam"].shape == (1, 1, 64, 64)
    source.write_text(textwrap.dedent(FACTORY) + "\nprint('changed')\n")
    with pytest.raises(CheckpointError, match="changed since the model was registered"):
        load_model("mine")


def test_register_model_from_memory_recognises_torchvision_and_timm(out):
    import timm

    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(num_classes=3).eval()
    added = register_model("notebook-resnet", resnet, CLASSES, input_size=(128, 128), resize=CENTER_CROP, out_dir=out)
    assert added.entry["arch"] == "torchvision:resnet18" and added.entry["resize"] == "center_crop"
    card = load_model("notebook-resnet")
    assert all(torch.equal(card.model.state_dict()[k], v) for k, v in resnet.state_dict().items())
    assert card.resize_policy == CENTER_CROP and card.input_size == (128, 128)
    convnext = timm.create_model("convnext_atto", pretrained=False, num_classes=3)
    assert register_model("notebook-convnext", convnext, CLASSES, out_dir=out).entry["arch"] == "timm:convnext_atto"
    assert sorted(entry["id"] for entry in read_manifest(out)) == ["notebook-convnext", "notebook-resnet"]
    with pytest.raises(ValueError, match="cannot tell how to rebuild a torch.nn.modules.container.Sequential"):
        register_model("custom", nn.Sequential(nn.Conv2d(3, 3, 3), nn.Flatten()), CLASSES, out_dir=out)


def test_center_crop_sees_the_centred_square_and_stretch_the_whole_image():
    """A 2x4 image whose outer columns differ from its centre: a square model under center_crop sees only the
    centre 2x2, under stretch all four columns."""
    image = torch.tensor([[0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0]]).expand(3, 2, 4)
    crop = _reference(nn.Identity(), input_size=(2, 2), mean=(0, 0, 0), std=(1, 1, 1), resize_policy=CENTER_CROP)
    stretch = _reference(nn.Identity(), input_size=(2, 4), mean=(0, 0, 0), std=(1, 1, 1))
    assert torch.equal(crop.field_of_view(image), image[:, :, 1:3])
    assert torch.equal(crop.resize(image)[0], torch.full((3, 2, 2), 0.5))
    assert torch.equal(stretch.field_of_view(image), image) and torch.equal(stretch.resize(image)[0], image)
    with pytest.raises(ValueError, match="resize policy must be one of stretch, center_crop"):
        _reference(nn.Identity(), resize_policy="fit")
