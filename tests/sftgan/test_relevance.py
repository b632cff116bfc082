"""CGMA-ablation relevance, the SFT-GAN explainers, strategy choice and generator loading."""

import pytest
import torch
from torch import nn

from xai_core.models.checkpoints import CheckpointError, save_state_dict, write_manifest_entry
from xai_core.sftgan import explainer as sftgan_explainer
from xai_core.sftgan.data import generator_inputs, resize_maps
from xai_core.sftgan.explainer import (
    GSFT,
    LSFT,
    average_relevance,
    cgma_relevance,
    explain_relevance,
    generator_info,
    list_generators,
    load_generator,
    strategy_for,
)
from xai_core.sftgan.networks import SFTGenerator

ETA = 8


def tiny_generator(kind: str = "lsft", seed: int = 0) -> SFTGenerator:
    torch.manual_seed(seed)
    return SFTGenerator(kind, eta=ETA, channels=8, condition_channels=4).eval()


def tiny_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()


def sample(n: int = 2, size=(16, 16), seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, *size, generator=generator), torch.rand(n, ETA, *size, generator=generator)


# ---------------------------------------------------------------- cgma_relevance


@pytest.mark.parametrize("k", [0, 4, 7])
def test_a_cgma_the_generator_ignores_has_zero_relevance(k):
    generator = tiny_generator("lsft")
    with torch.no_grad():  # alpha = beta = 0 in block k: CGMA k (LSFT feeds it to block k only) has no effect
        generator.blocks[k].sft.modulation[-1].weight.zero_()
        generator.blocks[k].sft.modulation[-1].bias.zero_()
    image, cgmas = sample()
    result = cgma_relevance(generator, image, cgmas)
    assert torch.equal(result.relevance[:, k], torch.zeros(2))
    assert torch.equal(result.blackout[:, k : k + 1], result.maps)
    others = [j for j in range(ETA) if j != k]
    assert (result.relevance[:, others] > 0).all()


@pytest.mark.parametrize("kind", ["lsft", "gsft"])
def test_cgma_relevance_matches_one_ablation_at_a_time(kind):
    generator = tiny_generator(kind)
    image, cgmas = sample(n=3, size=(15, 17))
    result = cgma_relevance(generator, image, cgmas)
    assert result.maps.shape == (3, 1, 15, 17)
    assert result.blackout.shape == (3, ETA, 15, 17)
    assert result.relevance.shape == (3, ETA)
    with torch.no_grad():
        torch.testing.assert_close(result.maps, generator(image, cgmas))
        for k in range(ETA):
            ablated = cgmas.clone()
            ablated[:, k] = 0
            blackout = generator(image, ablated)
            torch.testing.assert_close(result.blackout[:, k : k + 1], blackout)
            expected = (generator(image, cgmas) - blackout).abs().sum(dim=(1, 2, 3))
            torch.testing.assert_close(result.relevance[:, k], expected, rtol=1e-4, atol=1e-5)
    assert (result.relevance > 0).all()
    assert torch.equal(cgmas, sample(n=3, size=(15, 17))[1]), "the caller's CGMAs are not modified"


def test_cgma_relevance_runs_without_gradients():
    generator = tiny_generator("lsft").requires_grad_(True)
    image, cgmas = sample()
    result = cgma_relevance(generator, image, cgmas.requires_grad_(True))
    for tensor in (result.maps, result.blackout, result.relevance):
        assert not tensor.requires_grad and tensor.is_inference()
    assert all(p.grad is None for p in generator.parameters())


# ---------------------------------------------------------------- explainers


def test_attribute_returns_maps_at_the_input_size():
    model, generator = tiny_cnn(), tiny_generator("lsft")
    inputs = torch.randn(2, 1, 20, 24)
    maps = LSFT(model, generator=generator).attribute(inputs)
    assert maps.shape == (2, 1, 20, 24)
    assert maps.min() >= 0 and maps.max() <= 1 and maps.std() > 0
    computed = generator_inputs(model, inputs)
    with torch.no_grad():
        torch.testing.assert_close(maps, generator(computed.image, computed.cgmas))  # small input: no resizing
    # an explicit target changes the CGMAs, hence the map
    other = LSFT(model, generator=generator).attribute(inputs, target=[0, 0])
    assert not torch.equal(LSFT(model, generator=generator).attribute(inputs, target=[1, 1]), other)


def test_large_inputs_are_explained_at_the_working_size():
    model, generator = tiny_cnn(), tiny_generator("gsft")
    seen = []
    handle = generator.register_forward_pre_hook(lambda module, args: seen.append((tuple(args[0].shape), tuple(args[1].shape))))
    try:
        explainer = GSFT(model, generator=generator, max_side=32)
        inputs = torch.randn(2, 1, 80, 80)
        maps = explainer.attribute(inputs)
    finally:
        handle.remove()
    assert seen == [((2, 3, 32, 32), (2, ETA, 32, 32))]
    assert maps.shape == (2, 1, 80, 80) and maps.min() >= 0 and maps.max() <= 1
    image, cgmas = explainer.conditioned_inputs(inputs)
    with torch.no_grad():
        expected = resize_maps(generator(image, cgmas), (80, 80)).clamp(0, 1)
    torch.testing.assert_close(maps, expected)
    assert LSFT.name == "LSFT-GAN" and GSFT.name == "GSFT-GAN" and LSFT.family == GSFT.family == "sftgan"


def test_explain_relevance_uses_the_explainers_inputs():
    model, generator = tiny_cnn(), tiny_generator("lsft")
    explainer = LSFT(model, generator=generator, max_side=16)
    inputs = torch.randn(2, 1, 24, 24)
    result = explain_relevance(explainer, inputs)
    image, cgmas = explainer.conditioned_inputs(inputs)
    assert image.shape == (2, 3, 16, 16) and result.maps.shape == (2, 1, 16, 16)
    torch.testing.assert_close(result.relevance, cgma_relevance(generator, image, cgmas).relevance)


def test_average_relevance_over_batches():
    model, generator = tiny_cnn(), tiny_generator("lsft")
    explainer = LSFT(model, generator=generator)
    torch.manual_seed(2)
    images = torch.rand(10, 1, 12, 12)
    preprocess = lambda x: (x - 0.5) / 0.25  # noqa: E731
    fractions = []
    mean, per_image = average_relevance(explainer, preprocess, images, batch_size=4, on_progress=fractions.append)
    assert per_image.shape == (10, ETA) and mean.shape == (ETA,)
    torch.testing.assert_close(mean, per_image.mean(dim=0))
    assert fractions == pytest.approx([0.4, 0.8, 1.0])
    # each image's relevance does not depend on how the images are batched
    _, in_one_batch = average_relevance(explainer, preprocess, images, batch_size=64)
    torch.testing.assert_close(per_image, in_one_batch, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(per_image[4:8], explain_relevance(explainer, preprocess(images[4:8])).relevance, rtol=1e-4, atol=1e-5)
    assert (per_image > 0).all()


# ---------------------------------------------------------------- strategies and loading


@pytest.mark.parametrize("dataset", ["mnist", "glyphs", "digits", "glyphs_cjk", "torchvision-emnist:/x", "torchvision-mnist"])
def test_symbol_datasets_use_the_symbols_generators(dataset):
    assert strategy_for(dataset) == "symbols"


@pytest.mark.parametrize("dataset", ["shapes", "shapes_biased", "fashion_mnist", "photos", None, "imagenet", "mnistish"])
def test_other_datasets_use_the_objects_generators(dataset):
    assert strategy_for(dataset) == "objects"


def test_a_missing_generator_says_how_to_train_one():
    with pytest.raises(CheckpointError, match="train-sftgan"):
        load_generator("pytest-no-such-generator")
    with pytest.raises(CheckpointError, match="pytest-no-such-generator"):
        generator_info("pytest-no-such-generator")


@pytest.fixture
def extra_checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    load_generator.cache_clear()
    yield tmp_path
    load_generator.cache_clear()


def _register(directory, generator: SFTGenerator, generator_id: str) -> dict:
    sha256 = save_state_dict(generator.state_dict(), directory / f"{generator_id}.safetensors")
    entry = {
        "id": generator_id,
        "kind": generator.kind,
        "architecture": generator.config(),
        "file": f"{generator_id}.safetensors",
        "sha256": sha256,
    }
    write_manifest_entry(directory, entry, section="generators")
    return entry


def test_a_registered_generator_loads_with_its_weights(extra_checkpoint_dir):
    generator = tiny_generator("gsft", seed=4)
    entry = _register(extra_checkpoint_dir, generator, "pytest-gsft-tiny")
    assert "pytest-gsft-tiny" in list_generators()
    assert generator_info("pytest-gsft-tiny") == entry
    loaded = load_generator("pytest-gsft-tiny")
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert loaded.config() == generator.config()
    image, cgmas = sample()
    with torch.no_grad():
        assert torch.equal(loaded(image, cgmas), generator(image, cgmas))
    assert load_generator("pytest-gsft-tiny") is loaded  # cached
    # the explainers find it by <kind>-<strategy>
    _register(extra_checkpoint_dir, generator, "gsft-pytest")
    found = GSFT(tiny_cnn(), strategy="pytest").generator
    assert found.config() == generator.config() and torch.equal(found(image, cgmas), loaded(image, cgmas))


def test_a_tampered_generator_is_refused(extra_checkpoint_dir):
    _register(extra_checkpoint_dir, tiny_generator("lsft"), "pytest-lsft-tampered")
    path = extra_checkpoint_dir / "pytest-lsft-tampered.safetensors"
    path.write_bytes(path.read_bytes()[:-4] + b"\x00\x00\x80\x3f")
    with pytest.raises(CheckpointError, match="sha256"):
        load_generator("pytest-lsft-tampered")


def test_a_manifest_entry_that_is_not_a_generator_is_refused(extra_checkpoint_dir):
    entry = _register(extra_checkpoint_dir, tiny_generator("lsft"), "pytest-bad-architecture")
    write_manifest_entry(extra_checkpoint_dir, {**entry, "architecture": {"kind": "unet"}}, section="generators")
    with pytest.raises(CheckpointError, match="not an SFT generator"):
        load_generator("pytest-bad-architecture")
    assert sftgan_explainer.checkpoint_dirs()[-1] == extra_checkpoint_dir
