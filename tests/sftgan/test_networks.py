"""SFT-GAN networks: shapes, gradients, the SFT formula, LSFT/GSFT conditioning, the discriminator."""

import pytest
import torch

from xai_core.sftgan.data import generator_image
from xai_core.sftgan.networks import ConditionNetwork, PatchDiscriminator, SFTGenerator, SFTLayer, SFTResidualBlock

CHANNELS, CONDITION_CHANNELS, ETA = 8, 4, 8


def tiny_generator(kind: str = "lsft", seed: int = 0) -> SFTGenerator:
    torch.manual_seed(seed)
    return SFTGenerator(kind, eta=ETA, channels=CHANNELS, condition_channels=CONDITION_CHANNELS)


def assert_gradients_flow(module: torch.nn.Module, *inputs: torch.Tensor) -> None:
    """Every parameter and every input gets a finite, not all-zero gradient from output.sum()."""
    named = list(module.named_parameters())
    assert named, "module has no parameters"
    for _, parameter in named:
        parameter.grad = None
    for tensor in inputs:
        assert tensor.is_leaf and tensor.requires_grad
    module(*inputs).sum().backward()
    for name, parameter in named:
        assert parameter.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name} has a non-finite gradient"
        assert parameter.grad.abs().sum() > 0, f"{name} has an all-zero gradient"
    for index, tensor in enumerate(inputs):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all(), f"input {index}"
        assert tensor.grad.abs().sum() > 0, f"input {index} has an all-zero gradient"


# ---------------------------------------------------------------- SFT layer


def test_sft_layer_shape_and_gradients():
    torch.manual_seed(0)
    layer = SFTLayer(CONDITION_CHANNELS, CHANNELS)
    features = torch.randn(2, CHANNELS, 6, 7, requires_grad=True)
    condition = torch.randn(2, CONDITION_CHANNELS, 6, 7, requires_grad=True)
    assert layer(features, condition).shape == (2, CHANNELS, 6, 7)
    alpha, beta = layer.alpha_beta(condition)
    assert alpha.shape == beta.shape == (2, CHANNELS, 6, 7)
    assert_gradients_flow(layer, features, condition)


def test_sft_layer_with_zero_alpha_and_beta_is_exactly_the_identity():
    torch.manual_seed(0)
    layer = SFTLayer(CONDITION_CHANNELS, CHANNELS)
    with torch.no_grad():
        layer.modulation[-1].weight.zero_()
        layer.modulation[-1].bias.zero_()
    features = torch.randn(3, CHANNELS, 5, 5)
    condition = torch.randn(3, CONDITION_CHANNELS, 5, 5)
    alpha, beta = layer.alpha_beta(condition)
    assert torch.count_nonzero(alpha) == 0 and torch.count_nonzero(beta) == 0
    assert torch.equal(layer(features, condition), features)


def test_sft_layer_computes_feat_times_one_plus_alpha_plus_beta():
    torch.manual_seed(1)
    layer = SFTLayer(CONDITION_CHANNELS, CHANNELS)
    features = torch.randn(2, CHANNELS, 4, 5)
    condition = torch.randn(2, CONDITION_CHANNELS, 4, 5)
    alpha, beta = layer.alpha_beta(condition)
    # alpha and beta are the two halves of the modulation head, per pixel and per channel
    head = layer.modulation(condition)
    assert torch.equal(alpha, head[:, :CHANNELS]) and torch.equal(beta, head[:, CHANNELS:])
    assert alpha.std() > 0 and beta.std() > 0
    torch.testing.assert_close(layer(features, condition), features * (1 + alpha) + beta, rtol=0, atol=1e-6)


def test_sft_layer_with_constant_alpha_and_beta_by_hand():
    layer = SFTLayer(CONDITION_CHANNELS, 2)
    with torch.no_grad():
        layer.modulation[-1].weight.zero_()
        layer.modulation[-1].bias.copy_(torch.tensor([0.5, -1.0, 2.0, 3.0]))  # alpha = (0.5, -1), beta = (2, 3)
    features = torch.tensor([[[[1.0, -2.0]], [[4.0, 5.0]]]])  # [1, 2, 1, 2]
    out = layer(features, torch.randn(1, CONDITION_CHANNELS, 1, 2))
    # channel 0: f * 1.5 + 2; channel 1: f * 0 + 3
    assert torch.equal(out, torch.tensor([[[[3.5, -1.0]], [[3.0, 3.0]]]]))


# ---------------------------------------------------------------- condition network and residual block


@pytest.mark.parametrize("size, expected", [((16, 16), (8, 8)), ((15, 17), (8, 9))])
def test_condition_network_halves_the_resolution(size, expected):
    torch.manual_seed(0)
    network = ConditionNetwork(3, CONDITION_CHANNELS)
    conditions = torch.rand(2, 3, *size, requires_grad=True)
    assert network(conditions).shape == (2, CONDITION_CHANNELS, *expected)
    assert_gradients_flow(network, conditions)


def test_sft_residual_block_shape_and_gradients():
    torch.manual_seed(0)
    block = SFTResidualBlock(CHANNELS, CONDITION_CHANNELS)
    features = torch.randn(2, CHANNELS, 8, 9, requires_grad=True)
    condition = torch.randn(2, CONDITION_CHANNELS, 8, 9, requires_grad=True)
    out = block(features, condition)
    assert out.shape == (2, CHANNELS, 8, 9)
    expected = features + block.conv2(torch.relu(block.conv1(block.sft(features, condition))))
    torch.testing.assert_close(out, expected)
    assert_gradients_flow(block, features, condition)


# ---------------------------------------------------------------- generator


@pytest.mark.parametrize("kind", ["lsft", "gsft"])
@pytest.mark.parametrize("size", [(16, 16), (15, 17)])
def test_generator_shape_range_and_gradients(kind, size):
    generator = tiny_generator(kind)
    image = torch.rand(2, 3, *size, requires_grad=True)
    cgmas = torch.rand(2, ETA, *size, requires_grad=True)
    out = generator(image, cgmas)
    assert out.shape == (2, 1, *size)
    assert out.min() >= 0 and out.max() <= 1
    assert_gradients_flow(generator, image, cgmas)


@pytest.mark.parametrize("kind", ["lsft", "gsft"])
def test_generator_on_a_one_channel_image_repeated_to_three(kind):
    generator = tiny_generator(kind)
    gray = torch.rand(2, 1, 15, 17)
    image = generator_image(gray)
    assert image.shape == (2, 3, 15, 17)
    cgmas = torch.rand(2, ETA, 15, 17)
    out = generator(image, cgmas)
    assert out.shape == (2, 1, 15, 17)
    torch.testing.assert_close(out, generator(image.contiguous(), cgmas))  # the expanded view behaves like a copy
    # gradients reach a 1-channel source through the repeat
    source = gray.clone().requires_grad_(True)
    generator(source.expand(-1, 3, -1, -1), cgmas).sum().backward()
    assert source.grad is not None and torch.isfinite(source.grad).all() and source.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["lsft", "gsft"])
def test_generator_output_stays_in_unit_interval_for_extreme_inputs(kind):
    generator = tiny_generator(kind)
    image = torch.randn(2, 3, 16, 16) * 100
    cgmas = torch.randn(2, ETA, 16, 16) * 100
    out = generator(image, cgmas)
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    assert out.std() > 0


def _block_inputs(generator: SFTGenerator, image: torch.Tensor, cgmas: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(features, condition) each block receives, in block order."""
    captured: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(generator.blocks)
    handles = []
    for index, block in enumerate(generator.blocks):

        def hook(module, args, index=index):
            features, condition = args
            captured[index] = (features.detach().clone(), condition.detach().clone())

        handles.append(block.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            generator(image, cgmas)
    finally:
        for handle in handles:
            handle.remove()
    assert all(c is not None for c in captured)
    return captured  # type: ignore[return-value]


@pytest.mark.parametrize("k", [0, 3, 7])
def test_lsft_block_k_is_conditioned_by_cgma_k_only(k):
    generator = tiny_generator("lsft")
    torch.manual_seed(5)
    image, cgmas = torch.rand(2, 3, 16, 16), torch.rand(2, ETA, 16, 16)
    ablated = cgmas.clone()
    ablated[:, k] = 0
    original, changed = _block_inputs(generator, image, cgmas), _block_inputs(generator, image, ablated)
    for j in range(ETA):
        (features, condition), (features_ablated, condition_ablated) = original[j], changed[j]
        if j == k:
            assert not torch.equal(condition, condition_ablated), "block k's condition must come from CGMA k"
            assert torch.equal(features, features_ablated), "changes begin inside block k"
        else:
            assert torch.equal(condition, condition_ablated), f"block {j}'s condition must not depend on CGMA {k}"
        if j < k:
            assert torch.equal(features, features_ablated), f"block {j} runs before block {k}"
        if j > k:
            assert not torch.equal(features, features_ablated), f"block {j} runs after block {k}"


def test_lsft_conditions_use_one_shared_condition_network():
    generator = tiny_generator("lsft")
    cgmas = torch.rand(2, ETA, 16, 16)
    conditions = generator.conditions(cgmas)
    assert len(conditions) == ETA
    with torch.no_grad():
        for k in range(ETA):
            torch.testing.assert_close(conditions[k], generator.condition(cgmas[:, k : k + 1]))


@pytest.mark.parametrize("k", [0, 3, 7])
def test_gsft_every_block_sees_all_cgmas(k):
    generator = tiny_generator("gsft")
    torch.manual_seed(5)
    image, cgmas = torch.rand(2, 3, 16, 16), torch.rand(2, ETA, 16, 16)
    ablated = cgmas.clone()
    ablated[:, k] = 0
    original, changed = _block_inputs(generator, image, cgmas), _block_inputs(generator, image, ablated)
    for j in range(ETA):
        assert torch.equal(original[j][1], original[0][1]), "GSFT feeds one condition to every block"
        assert not torch.equal(original[j][1], changed[j][1]), f"zeroing CGMA {k} must change block {j}'s condition"
    assert torch.equal(original[0][0], changed[0][0])  # the first block's features come from the image only


def test_generator_validation():
    with pytest.raises(ValueError, match="kind"):
        SFTGenerator("xyz")
    generator = tiny_generator("lsft")
    with pytest.raises(ValueError, match="8 CGMAs, got 7"):
        generator(torch.rand(1, 3, 16, 16), torch.rand(1, 7, 16, 16))
    with pytest.raises(ValueError, match="8 CGMAs, got 9"):
        tiny_generator("gsft")(torch.rand(1, 3, 16, 16), torch.rand(1, 9, 16, 16))
    with pytest.raises(ValueError):
        generator(torch.rand(1, 1, 16, 16), torch.rand(1, ETA, 16, 16))  # image must have 3 channels
    with pytest.raises(ValueError):
        generator(torch.rand(1, 3, 16, 16), torch.rand(1, ETA, 8, 8))  # image and CGMAs of one size
    assert generator.config() == {"kind": "lsft", "eta": ETA, "channels": CHANNELS, "condition_channels": CONDITION_CHANNELS}


# ---------------------------------------------------------------- discriminator


@pytest.mark.parametrize("size, expected", [((16, 16), (4, 4)), ((15, 17), (4, 5))])
def test_discriminator_shape_and_gradients(size, expected):
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8)
    image = torch.rand(2, 3, *size, requires_grad=True)
    interpretation = torch.rand(2, 1, *size, requires_grad=True)
    assert discriminator(image, interpretation).shape == (2, 1, *expected)
    assert_gradients_flow(discriminator, image, interpretation)


def test_discriminator_output_depends_on_map_and_image():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8)
    image = torch.rand(2, 3, 16, 16)
    first, second = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        logits = discriminator(image, first)
        assert (logits - discriminator(image, second)).abs().max() > 1e-4, "different maps must give different logits"
        assert (logits - discriminator(torch.rand(2, 3, 16, 16), first)).abs().max() > 1e-4, "different images too"
        assert logits.std() > 0, "the logits must not be constant"


def test_discriminator_returns_raw_logits_without_sigmoid():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8)
    image, interpretation = torch.randn(2, 3, 16, 16) * 50, torch.randn(2, 1, 16, 16) * 50
    with torch.no_grad():
        logits = discriminator(image, interpretation)
        assert torch.equal(logits, discriminator.layers(torch.cat([image, interpretation], dim=1)))
    assert logits.min() < 0 or logits.max() > 1, "logits must not be squashed into [0, 1]"
    assert logits.abs().max() > 1
