"""The ``sngan`` GAN recipe: the upsampling generator with class-conditional BatchNorm, DiffAugment, the EMA
generator, the AC-GAN head, and training that resumes exactly where it stopped."""

import pytest
import torch

from xai_core.generative import dcgan
from xai_core.generative.dcgan import ClassBatchNorm2d, DCGANDiscriminator, DCGANGenerator, UpsamplingGenerator, build_generator
from xai_core.generative.training import RECIPES, GANConfig, diff_augment, generate, recalibrate_batchnorm, train_gan, update_average
from xai_core.models.checkpoints import load_state_dict_file


@pytest.mark.parametrize("size", [28, 48])
def test_upsampling_generator_shapes_and_its_manifest_architecture(size):
    torch.manual_seed(0)
    generator = UpsamplingGenerator(latent_dim=8, channels=3, image_size=size, num_classes=4, width=4)
    labels = torch.tensor([0, 1, 2, 3, 0])
    images = generator(torch.randn(5, 8), labels)
    assert images.shape == (5, 3, size, size) and images.min() >= 0 and images.max() <= 1
    start = size // 2**generator.steps
    assert generator.first_features(torch.randn(5, 8), labels).shape == (5, 4 * 2**generator.steps, start, start)
    assert generator.latent_weight().shape == (generator.start_channels * start**2, 8)
    rebuilt = build_generator(**generator.config())
    assert isinstance(rebuilt, UpsamplingGenerator) and rebuilt.state_dict().keys() == generator.state_dict().keys()
    legacy = DCGANGenerator(latent_dim=8, channels=3, image_size=size, width=4).config()
    assert "upsample" not in legacy and isinstance(build_generator(**legacy), DCGANGenerator)
    with pytest.raises(ValueError, match="unknown generator upsampling 'bicubic'"):
        build_generator(upsample="bicubic", **legacy)


def test_class_batchnorm_scales_and_shifts_by_class():
    norm = ClassBatchNorm2d(2, num_classes=3).train()
    with torch.no_grad():
        norm.gain.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]]))
        norm.shift.weight.copy_(torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, -5.0]]))
    x = torch.tensor([[[[1.0]], [[2.0]]], [[[3.0]], [[6.0]]], [[[5.0]], [[10.0]]]])  # [3, 2, 1, 1]
    normalised = torch.nn.functional.batch_norm(x, None, None, training=True)
    out = norm(x, torch.tensor([0, 1, 2]))
    torch.testing.assert_close(out[0], normalised[0])
    torch.testing.assert_close(out[1], 2 * normalised[1])
    torch.testing.assert_close(out[2], normalised[2] + torch.tensor([5.0, -5.0]).view(2, 1, 1))
    assert ClassBatchNorm2d(2, num_classes=0)(x, None).shape == x.shape


def test_diff_augment_colour_and_shift_are_exact():
    image = torch.arange(64, dtype=torch.float32).view(1, 1, 8, 8) / 64
    neutral = torch.full((1, 5), 0.5)  # brightness +0, saturation x1, contrast x1, shift 0 (S=8: 1 pixel each way)
    torch.testing.assert_close(diff_augment(image, neutral), image)
    right_down = torch.tensor([[0.5, 0.5, 0.5, 0.0, 0.0]])  # the lowest draw moves the content by one pixel right and down
    shifted = diff_augment(image, right_down)
    torch.testing.assert_close(shifted[0, 0, 1:, 1:], image[0, 0, :-1, :-1])
    assert shifted[0, 0, 0].abs().sum() == 0 and shifted[0, 0, :, 0].abs().sum() == 0
    brighter = diff_augment(image, torch.tensor([[0.75, 0.5, 0.5, 0.5, 0.5]]))  # +0.1
    torch.testing.assert_close(brighter, image + 0.1)
    flat = diff_augment(image, torch.tensor([[0.5, 0.5, 0.0, 0.5, 0.5]]))  # contrast x0.5 about the mean
    torch.testing.assert_close(flat, (image - image.mean()) * 0.5 + image.mean())
    colour = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    grey = diff_augment(colour, torch.tensor([[0.5, 0.0, 0.5, 0.5, 0.5]] * 2))  # saturation x0: every channel its grey
    torch.testing.assert_close(grey, colour.mean(dim=1, keepdim=True).expand_as(colour))
    grey.sum().backward()
    assert colour.grad is not None and colour.grad.abs().sum() > 0


def test_the_average_moves_one_minus_decay_of_the_way_and_copies_statistics():
    average, trained = torch.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        average.weight.fill_(1.0)
        trained.weight.fill_(3.0)
        trained.running_mean.fill_(7.0)
    update_average(average, trained, decay=0.75)
    torch.testing.assert_close(average.weight, torch.full((2,), 1.5))
    torch.testing.assert_close(average.running_mean, torch.full((2,), 7.0))


def test_the_auxiliary_classifier_head():
    discriminator = DCGANDiscriminator(1, 28, num_classes=3, width=4, classifier=True)
    logits, classes = discriminator(torch.rand(2, 1, 28, 28), torch.tensor([0, 2]), with_classes=True)
    assert logits.shape == (2,) and classes.shape == (2, 3)
    with pytest.raises(ValueError, match="no auxiliary classifier"):
        DCGANDiscriminator(1, 28, num_classes=3, width=4)(torch.rand(2, 1, 28, 28), torch.tensor([0, 2]), with_classes=True)
    with pytest.raises(ValueError, match="needs a class-conditional"):
        DCGANDiscriminator(1, 28, width=4, classifier=True)


def sngan_config(epochs):
    return GANConfig("mnist", conditional=True, epochs=epochs, batch_size=250, width=4, latent_dim=8, recipe="sngan", gan_id="tiny-sngan")


def test_an_interrupted_run_resumes_to_the_same_weights_and_loads_as_its_architecture(tmp_path, monkeypatch):
    assert RECIPES["sngan"].augment and RECIPES["sngan"].ema_decay and RECIPES["sngan"].classifier_weight
    straight = train_gan(sngan_config(2), out_dir=tmp_path / "a", run_dir=tmp_path / "run-a", progress=False, score=False)
    train_gan(sngan_config(1), out_dir=tmp_path / "b", run_dir=tmp_path / "run-b", progress=False, score=False)
    resumed = train_gan(sngan_config(2), out_dir=tmp_path / "b", run_dir=tmp_path / "run-b", progress=False, score=False)
    assert resumed["sha256"] == straight["sha256"] and [h["epoch"] for h in resumed["history"]] == [1, 2]
    assert straight["architecture"]["upsample"] == "nearest"
    assert straight["command"] == (
        "python -m xai_core train-gan --dataset mnist --seed 0 --epochs 2 --conditional --batch-size 250 --latent-dim 8 "
        f"--width 4 --id tiny-sngan --recipe sngan --out {tmp_path / 'a'}"
    )
    with pytest.raises(ValueError, match="different configuration"):
        train_gan(
            GANConfig("mnist", conditional=True, epochs=3, batch_size=250, width=8, latent_dim=8, recipe="sngan", gan_id="tiny-sngan"),
            out_dir=tmp_path / "b",
            run_dir=tmp_path / "run-b",
            progress=False,
            score=False,
        )

    monkeypatch.setattr(dcgan, "checkpoint_dirs", lambda: [tmp_path / "a"])
    dcgan.load_gan.cache_clear()
    try:
        generator = dcgan.load_gan("tiny-sngan")
        assert isinstance(generator, UpsamplingGenerator) and not generator.training
        saved = load_state_dict_file(tmp_path / "a" / "tiny-sngan.safetensors")
        assert all(torch.equal(saved[name], value) for name, value in generator.state_dict().items())
        assert generate(generator, 4, seed=3).shape == (4, 1, 28, 28)
    finally:
        dcgan.load_gan.cache_clear()


def test_batchnorm_recalibration_is_the_mean_of_seeded_batch_statistics_and_keeps_the_weights():
    torch.manual_seed(0)
    generator = UpsamplingGenerator(latent_dim=8, channels=1, image_size=28, num_classes=3, width=4).eval()
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    weights = {name: value.clone() for name, value in generator.named_parameters()}
    inputs = {id(norm): [] for norm in norms}
    handles = [norm.register_forward_hook(lambda module, args, _out: inputs[id(module)].append(args[0])) for norm in norms]
    draws = torch.Generator().manual_seed(5)  # the draws recalibrate_batchnorm makes for seed 5
    with torch.no_grad():
        generator.train()
        for _ in range(3):
            generator(torch.randn(16, 8, generator=draws), torch.randint(0, 3, (16,), generator=draws))
    for handle in handles:
        handle.remove()
    generator.eval()
    recalibrate_batchnorm(generator, seed=5, batches=3, batch_size=16)
    assert not generator.training and all(norm.momentum == 0.1 for norm in norms)
    assert all(torch.equal(value, weights[name]) for name, value in generator.named_parameters())
    for norm in norms:
        batches = inputs[id(norm)]
        torch.testing.assert_close(norm.running_mean, torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0))
        torch.testing.assert_close(norm.running_var, torch.stack([b.var(dim=(0, 2, 3), unbiased=True) for b in batches]).mean(0))
        assert norm.num_batches_tracked == 3
