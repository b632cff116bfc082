"""The ``projected`` GAN recipe: a discriminator on the frozen features of a zoo CNN (Sauer et al., NeurIPS 2021),
which must read exactly the blocks it names, never train or re-normalise that CNN, and never be the GAN's judge."""

import dataclasses

import pytest
import torch

from xai_core.data import load_dataset
from xai_core.generative.dcgan import (
    EMPTY_LOGIT,
    HOLE_GAIN,
    PROJECTION_TAPS,
    ROUND_HOLE_LOGIT,
    STRIPE_AMPLITUDE,
    TEMPLATE_GAIN,
    CoarsePlacedGenerator,
    DCGANDiscriminator,
    FrozenTaps,
    LayeredGenerator,
    PlacedGenerator,
    ProjectedDiscriminator,
    StripedPlacedGenerator,
    build_generator,
    group_deviation,
)
from xai_core.generative.training import (
    RECIPES,
    GANConfig,
    build_discriminator,
    draw_labels,
    mode_seeking_loss,
    projection_models,
    train_gan,
)
from xai_core.models.checkpoints import RUN_STATE_NAME
from xai_core.models.zoo import build_model


def random_resnet(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    network = build_model("resnet", 3, 4)
    for module in network.modules():  # non-trivial running statistics, so eval and train mode differ
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return network.eval()


def projected(network: torch.nn.Module, num_classes: int = 4, classifier: bool = True, pixels: bool = False) -> ProjectedDiscriminator:
    torch.manual_seed(1)
    backbone = FrozenTaps(network, PROJECTION_TAPS["resnet"], (0.5,) * 3, (0.25,) * 3)
    return ProjectedDiscriminator([backbone], 16, num_classes, 4, classifier, pixels)


def test_features_are_the_heads_on_the_named_blocks_of_the_normalised_images():
    network = random_resnet()
    discriminator = projected(network).eval()  # eval: spectral norm's power iteration would move between the two passes
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        x = network.stem((images - 0.5) / 0.25)
        taps = []
        for block in network.layers[:3]:
            x = block(x)
            taps.append(x)
        expected = torch.cat([head(tap).mean(dim=(2, 3)) for head, tap in zip(discriminator.heads, taps, strict=True)], dim=1)
        features = discriminator.features(images)
    assert features.shape == (3, 2 * 4 * 3)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-6)
    logits, classes = discriminator(images, torch.tensor([0, 1, 3]), with_classes=True)
    assert logits.shape == (3,) and classes.shape == (3, 4)


def test_the_pixel_head_reads_the_normalised_images_after_the_tapped_blocks():
    network = random_resnet()
    discriminator = projected(network, pixels=True).eval()
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        features = discriminator.features(images)
        pixel_features = discriminator.pixel_head((images - 0.5) / 0.25).mean(dim=(2, 3))
        without = projected(network).eval().features(images)
    assert features.shape == (3, 2 * 4 * 4) and pixel_features.shape == (3, 8)
    torch.testing.assert_close(features[:, -8:], pixel_features, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(features[:, :-8], without, rtol=1e-5, atol=1e-6)  # the same seed builds the same tap heads
    recoloured = images.flip(1)  # swapping red and blue changes what the pixel head sees
    assert not torch.allclose(discriminator.features(recoloured)[:, -8:], pixel_features)


def test_an_ensemble_discriminator_reads_the_heads_of_every_frozen_network_in_turn():
    """Vision-aided GAN's ensemble: a resnet's three tapped blocks, then a MobileNetV2's, each through its own head and
    each network normalising the images by its own statistics; the pixel head reads the first network's normalisation."""
    resnet = random_resnet()
    torch.manual_seed(4)
    mobilenet = build_model("mobilenet", 3, 4).eval()
    backbones = [
        FrozenTaps(resnet, PROJECTION_TAPS["resnet"], (0.5,) * 3, (0.25,) * 3),
        FrozenTaps(mobilenet, PROJECTION_TAPS["mobilenet"], (0.4,) * 3, (0.2,) * 3),
    ]
    torch.manual_seed(1)
    discriminator = ProjectedDiscriminator(backbones, 16, 4, 4, classifier=True, pixels=True).eval()
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        x = (images - 0.4) / 0.2
        mobile_taps = []
        for index, block in enumerate(mobilenet.features[:10]):
            x = block(x)
            if index in (1, 3, 9):
                mobile_taps.append(x)
        resnet_features = projected(resnet).eval().features(images)  # the same seed builds the same first heads
        mobile_features = torch.cat([head(tap).mean(dim=(2, 3)) for head, tap in zip(discriminator.heads[3:], mobile_taps, strict=True)], 1)
        pixel_features = discriminator.pixel_head((images - 0.5) / 0.25).mean(dim=(2, 3))
        features = discriminator.features(images)
    assert [tap.shape[1:] for tap in mobile_taps] == [(16, 8, 8), (24, 8, 8), (64, 4, 4)]
    assert features.shape == (3, 2 * 4 * 7)
    torch.testing.assert_close(features, torch.cat([resnet_features, mobile_features, pixel_features], 1), rtol=1e-5, atol=1e-6)
    assert all(not p.requires_grad for backbone in discriminator.backbones for p in backbone.parameters())


def test_the_closed_recipe_is_the_penalised_one_with_its_holes_started_closed():
    penalised = RECIPES["projected-placed-polygon-penalised"]
    assert RECIPES["projected-placed-polygon-closed"] == dataclasses.replace(penalised, generator="placed-polygon-closed")


def test_the_round_closed_recipe_is_the_penalised_one_on_the_smooth_outlines_with_holes_started_closed():
    penalised = RECIPES["projected-placed-polygon-penalised"]
    assert RECIPES["projected-placed-round-closed"] == dataclasses.replace(penalised, generator="placed-round-closed")


def test_the_heavy_recipes_price_holes_four_times_as_high_started_closed_or_open():
    closed, penalised = RECIPES["projected-placed-polygon-closed"], RECIPES["projected-placed-polygon-penalised"]
    assert RECIPES["projected-placed-polygon-heavy"] == dataclasses.replace(closed, hole_penalty=4.0)
    assert RECIPES["projected-placed-polygon-heavy-open"] == dataclasses.replace(penalised, hole_penalty=4.0)


def test_the_ensemble_recipe_reads_resnet_and_mobilenet_of_the_dataset():
    penalised = RECIPES["projected-placed-polygon-penalised"]
    assert RECIPES["projected-placed-polygon-ensemble"] == dataclasses.replace(penalised, projection="resnet+mobilenet")
    config = GANConfig("shapes", conditional=True, recipe="projected-placed-polygon-ensemble", width=4)
    assert projection_models(config) == ("resnet-shapes", "mobilenet-shapes")
    discriminator = build_discriminator(config, 3, 48, 8)
    assert len(discriminator.backbones) == 2 and len(discriminator.heads) == 6
    with pytest.raises(ValueError, match="mobilenet-shapes judges the GAN"):
        build_discriminator(dataclasses.replace(config, feature_model="mobilenet-shapes"), 3, 48, 8)


def test_mode_seeking_loss_is_one_over_image_distance_per_latent_distance_of_the_pairs():
    images = torch.zeros(5, 1, 2, 2)
    images[1] = 0.5  # pair (0, 1): mean |difference| 0.5; pair (2, 3): 0; image 4 has no partner
    images[4] = 9.0
    latents = torch.zeros(5, 2)
    latents[1] = torch.tensor([1.0, 3.0])  # mean |difference| 2
    latents[3] = torch.tensor([2.0, 2.0])  # 2
    # image distance (0.5 + 0) / 2 = 0.25, latent distance 2: 1 / (0.125 + eps)
    assert mode_seeking_loss(images, latents).item() == pytest.approx(1 / (0.125 + 1e-5), rel=1e-6)
    collapsed = mode_seeking_loss(torch.ones(4, 1, 2, 2), torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
    assert collapsed.item() == pytest.approx(1e5, rel=1e-6)  # identical images for different latents: the largest penalty
    with pytest.raises(ValueError, match="at least two images"):
        mode_seeking_loss(torch.ones(1, 1, 2, 2), torch.ones(1, 2))


def test_the_network_stays_frozen_in_eval_mode_and_gradients_reach_the_images():
    network = random_resnet()
    before = {name: value.clone() for name, value in network.state_dict().items()}
    discriminator = projected(network).train()
    assert not any(module.training for module in discriminator.backbones[0].network.modules())
    assert all(not p.requires_grad for p in discriminator.backbones[0].network.parameters())
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(3), requires_grad=True)
    discriminator(images, torch.tensor([0, 1, 2, 3])).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert all(p.grad is not None for p in discriminator.heads.parameters())
    frozen = dict(discriminator.backbones[0].network.named_buffers())
    assert all(torch.equal(frozen[name], before[name]) for name in frozen if "running" in name)  # no statistics updated
    assert all(torch.equal(value, before[name]) for name, value in network.state_dict().items())  # the caller's copy untouched


def test_the_recipe_builds_a_projected_discriminator_on_resnet_of_the_dataset_and_refuses_the_judge():
    config = GANConfig("mnist", conditional=True, recipe="projected", width=4)
    assert projection_models(config) == ("resnet-mnist",) and config.feature_model == "vgg-mnist"
    assert projection_models(GANConfig("mnist", recipe="sngan")) == ()
    discriminator = build_discriminator(config, 1, 28, 10)
    assert isinstance(discriminator, ProjectedDiscriminator) and discriminator.classify is not None
    assert isinstance(build_discriminator(GANConfig("mnist", width=4), 1, 28, 0), DCGANDiscriminator)
    with pytest.raises(ValueError, match="resnet-mnist judges the GAN"):
        build_discriminator(GANConfig("mnist", recipe="projected", feature_model="resnet-mnist"), 1, 28, 0)
    with pytest.raises(ValueError, match="resnet-glyphs_cjk, which is not in the zoo: train it first"):
        build_discriminator(GANConfig("glyphs_cjk", recipe="projected"), 1, 32, 0)
    with pytest.raises(ValueError, match="takes 1-channel images and cannot read this dataset's 3-channel ones"):
        build_discriminator(config, 3, 28, 10)


def test_a_projected_run_trains_resumes_and_records_its_recipe(tmp_path):
    assert RECIPES["projected"].projection == "resnet" and RECIPES["projected"].classifier_weight
    config = GANConfig(
        "digits", conditional=True, epochs=1, batch_size=500, width=4, latent_dim=8, recipe="projected", gan_id="tiny-projected"
    )
    entry = train_gan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", progress=False, score=False)
    assert entry["architecture"]["upsample"] == "nearest" and entry["training"]["recipe"] == "projected"
    assert "--recipe projected" in entry["command"]
    history = entry["history"][0]
    assert 0 < history["d_real"] < 1 and 0 < history["d_fake"] < 1
    again = train_gan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", progress=False, score=False)
    assert again["sha256"] == entry["sha256"] and again["history"] == entry["history"]  # resumed: nothing left to train


def test_paired_labels_share_a_class_per_pair_and_unpaired_draws_are_unchanged():
    paired = draw_labels(8, 7, torch.Generator().manual_seed(0), paired=True)
    assert paired.shape == (7,) and torch.equal(paired[0:6:2], paired[1:6:2]) and int(paired.max()) < 8
    assert torch.equal(
        draw_labels(8, 7, torch.Generator().manual_seed(0)), torch.randint(0, 8, (7,), generator=torch.Generator().manual_seed(0))
    )


def test_the_diverse_recipe_reads_pixels_and_adds_the_mode_seeking_term(tmp_path, monkeypatch):
    recipe = RECIPES["projected-diverse"]
    assert recipe.pixel_head and recipe.mode_seeking == 0.2 and recipe.projection == "resnet"
    assert build_discriminator(GANConfig("mnist", True, recipe="projected-diverse", width=4), 1, 28, 10).pixel_head is not None
    seen = []
    monkeypatch.setattr(
        "xai_core.generative.training.mode_seeking_loss",
        lambda images, latents: seen.append((len(images), len(latents))) or mode_seeking_loss(images, latents),
    )
    config = GANConfig("digits", True, epochs=1, batch_size=250, width=4, latent_dim=8, recipe="projected-diverse", gan_id="tiny-diverse")
    entry = train_gan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", progress=False, score=False)
    assert "--recipe projected-diverse" in entry["command"]
    assert seen and set(seen) == {(250, 250)}  # once per generator step, on the whole batch


def test_group_deviation_is_the_population_std_of_each_feature_over_groups_of_four():
    features = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [6.0, 1.0], [1.0, 0.0], [3.0, 5.0]])
    expected_first = torch.tensor([5.0**0.5, 0.0])  # std of 0, 2, 4, 6 (divisor 4) and of a constant
    expected_last = torch.tensor([1.0, 2.5])  # the smaller last group: std of (1, 3) and of (0, 5)
    torch.testing.assert_close(group_deviation(features), torch.stack([expected_first] * 4 + [expected_last] * 2))
    assert torch.equal(group_deviation(torch.ones(5, 3)), torch.zeros(5, 3))  # one image whatever the latent: 0
    assert torch.equal(group_deviation(features[:1]), torch.zeros(1, 2))  # a group of one
    # a shard of a multiple of four images groups as the whole batch does (DDP)
    torch.testing.assert_close(torch.cat([group_deviation(features[:4]), group_deviation(features[4:])]), group_deviation(features))


def test_the_deviation_recipe_adds_a_head_on_the_group_deviation_of_the_features():
    recipe = RECIPES["projected-deviation"]
    assert recipe.deviation and recipe.pixel_head and recipe.mode_seeking == 0 and recipe.projection == "resnet"
    discriminator = build_discriminator(GANConfig("mnist", True, recipe="projected-deviation", width=4), 1, 28, 10).eval()
    assert discriminator.pixel_head is not None and discriminator.deviation_head is not None
    assert build_discriminator(GANConfig("mnist", True, recipe="projected", width=4), 1, 28, 10).deviation_head is None
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    labels = torch.arange(8) % 10
    with torch.no_grad():
        features = discriminator.features(images)
        plain = discriminator.head(features).squeeze(1) + (discriminator.embed(labels) * features).sum(dim=1)
        logits = discriminator(images, labels)
        collapsed = discriminator(images[:1].expand(8, -1, -1, -1), labels)
    torch.testing.assert_close(logits - plain, discriminator.deviation_head(group_deviation(features)).squeeze(1))
    collapsed_plain = discriminator.head(features[:1]).squeeze(1) + (discriminator.embed(labels) * features[:1]).sum(dim=1)
    torch.testing.assert_close(collapsed, collapsed_plain)  # identical images: the deviation head adds nothing


def test_the_layered_generator_paints_one_colour_through_a_mask_over_its_background():
    torch.manual_seed(0)
    generator = LayeredGenerator(latent_dim=4, channels=3, image_size=8, num_classes=2, width=4).eval()
    latents, labels = torch.randn(3, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 1])
    with torch.no_grad():
        mask, colour, background = generator.layers(generator.project_latents(latents, labels), labels)
        images = generator(latents, labels)
        assert mask.shape == (3, 1, 8, 8) and colour.shape == (3, 3, 1, 1) and background.shape == (3, 3, 8, 8)
        torch.testing.assert_close(images, mask * colour + (1 - mask) * background, rtol=1e-5, atol=1e-6)
        generator.to_mask.weight.zero_()  # the mask's logit: +40 everywhere, the foreground covers the image
        generator.to_mask.bias.fill_(40.0)
        covered = generator(latents, labels)
        generator.to_mask.bias.fill_(-40.0)  # and nowhere: the background alone
        small = []
        handle = generator.to_background.register_forward_hook(lambda module, inputs, output: small.append(output))
        uncovered = generator(latents, labels)
        handle.remove()
    torch.testing.assert_close(covered, colour.expand(3, 3, 8, 8), rtol=1e-5, atol=1e-6)  # one colour per image
    torch.testing.assert_close(uncovered, background, rtol=1e-5, atol=1e-6)
    # 8 px = 2 px start and 2 doublings: the background is read after the first, at 4x4, and blown up bilinearly
    assert small[0].shape == (3, 3, 4, 4)
    blown_up = torch.nn.functional.interpolate(torch.sigmoid(small[0]), size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(uncovered, blown_up, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(colour[1], colour[2])  # the colour follows the latent within a class
    rebuilt = build_generator(**generator.config())
    assert isinstance(rebuilt, LayeredGenerator) and generator.config()["upsample"] == "layered"


def full_template_mask(kind: type[PlacedGenerator], image_size: int, log_scale_read: float) -> torch.Tensor:
    """The mask Tensor[S, S] of a one-class ``kind`` whose template covers its whole square, placed with no turn and no
    shift at the scale its log-scale read gives (0: scale 1; -20: x0.78)."""
    torch.manual_seed(0)
    generator = kind(latent_dim=4, channels=3, image_size=image_size, num_classes=1, width=4).eval()
    with torch.no_grad():
        generator.templates.fill_(1.0)
        generator.to_pose.weight.zero_()
        generator.to_pose.bias.copy_(torch.tensor([1.0, 0.0, log_scale_read, 0.0, 0.0]))
        latents, labels = torch.randn(1, 4), torch.zeros(1, dtype=torch.long)
        projected = generator.project_latents(latents, labels)
        return generator.mask(projected, labels, generator.pose(projected, labels, latents))[0, 0]


def test_a_framed_template_leaves_the_image_outside_it_empty_where_border_padding_fills_it():
    """A template that covers its whole square, shrunk (scale x0.78): the plain placed generator's border padding
    carries the template's edge into the corners; the coarse one's empty frame does not."""
    masks = {kind: full_template_mask(kind, image_size=16, log_scale_read=-20.0) for kind in (PlacedGenerator, CoarsePlacedGenerator)}
    assert CoarsePlacedGenerator(latent_dim=4, channels=3, image_size=16, num_classes=1, width=4).templates.shape == (1, 1, 8, 8)
    torch.testing.assert_close(masks[PlacedGenerator], torch.ones(16, 16))
    framed = masks[CoarsePlacedGenerator]
    assert framed[0, 0] < 1e-6 and framed[-1, -1] < 1e-6 and framed[8, 8] > 1 - 1e-6
    assert torch.sigmoid(torch.tensor(EMPTY_LOGIT)) < 1e-6


@pytest.mark.parametrize(
    "generator",
    [
        "layered",
        "placed",
        "placed-coarse",
        "placed-striped",
        "placed-radial",
        "placed-cluttered",
        "placed-prior",
        "placed-smooth",
        "placed-open",
        "placed-round",
        "placed-polygon",
        "placed-polygon-round",
    ],
)
def test_the_composing_recipes_are_the_deviation_recipe_with_their_generator(tmp_path, generator):
    recipe, deviation = RECIPES[f"projected-{generator}"], RECIPES["projected-deviation"]
    assert recipe.generator == generator and dataclasses.replace(recipe, generator=deviation.generator) == deviation
    config = GANConfig(
        "digits", True, epochs=1, batch_size=250, width=4, latent_dim=8, recipe=f"projected-{generator}", gan_id=f"tiny-{generator}"
    )
    entry = train_gan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", progress=False, score=False)
    assert entry["architecture"]["upsample"] == generator and f"--recipe projected-{generator}" in entry["command"]


def placed_generator(num_classes: int = 2) -> PlacedGenerator:
    torch.manual_seed(0)
    return PlacedGenerator(latent_dim=4, channels=3, image_size=8, num_classes=num_classes, width=4).eval()


def test_the_placed_generator_composes_its_template_mask_colour_and_background():
    generator = placed_generator()
    latents, labels = torch.randn(3, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 1])
    with torch.no_grad():
        projected = generator.project_latents(latents, labels)
        mask, colour, background = generator.layers(projected, labels, latents)
        images = generator(latents, labels)
    assert mask.shape == (3, 1, 8, 8) and colour.shape == (3, 3, 1, 1) and background.shape == (3, 3, 8, 8)
    torch.testing.assert_close(images, mask * colour + (1 - mask) * background, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(colour[1], colour[2]) and not torch.allclose(mask[1], mask[2])  # the latent moves both
    rebuilt = build_generator(**generator.config())
    assert isinstance(rebuilt, PlacedGenerator) and generator.config()["upsample"] == "placed"
    assert generator.templates.shape == (2, 1, 8, 8)
    unconditional = placed_generator(0)  # one of 8 templates, mixed by the latent's softmax read
    with torch.no_grad():
        unconditional.templates.normal_(generator=torch.Generator().manual_seed(2))  # 8 different outlines
        weights = torch.softmax(unconditional.to_choice(unconditional.project_latents(latents).flatten(1)), dim=1)
        unconditional.to_pose.weight.zero_()
        unconditional.to_pose.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
        projected = unconditional.project_latents(latents)
        mixed = unconditional.mask(projected, None, unconditional.pose(projected, None, latents))
    assert unconditional.templates.shape == (8, 1, 8, 8)
    expected = torch.sigmoid(torch.einsum("nk,khw->nhw", weights, TEMPLATE_GAIN * unconditional.templates[:, 0]))
    torch.testing.assert_close(mixed[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_the_placed_pose_turns_scales_and_moves_the_template_as_its_read_says():
    generator = placed_generator()
    with torch.no_grad():
        generator.to_pose.weight.zero_()
        # rotation read (cos, sin) = (0, 3) -> 90 degrees; log-scale read atanh(0.5) -> scale exp(0.25 * 0.5); shift 0
        generator.to_pose.bias.copy_(torch.tensor([0.0, 3.0, 0.5493061, 0.0, 0.0]))
        theta = generator.pose(torch.zeros(1, generator.start_channels, 2, 2), None, torch.zeros(1, 4))
    scale = torch.exp(torch.tensor(0.125))
    expected = torch.tensor([[[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]]) / scale
    torch.testing.assert_close(theta, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # a shift of +0.3 in x (atanh(0.5) * 0.6) at no turn and unit scale: template x = image x - 0.3
        generator.to_pose.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.5493061, 0.0]))
        theta = generator.pose(torch.zeros(1, generator.start_channels, 2, 2), None, torch.zeros(1, 4))
    torch.testing.assert_close(theta, torch.tensor([[[1.0, 0.0, -0.3], [0.0, 1.0, 0.0]]]), rtol=1e-5, atol=1e-6)


def placed_mask(generator: PlacedGenerator, labels: torch.Tensor) -> torch.Tensor:
    """The masks Tensor[N, 1, S, S] of ``labels`` for random latents, at the pose the generator's reads give."""
    latents = torch.randn(len(labels), generator.latent_dim)
    projected = generator.project_latents(latents, labels)
    return generator.mask(projected, labels, generator.pose(projected, labels, latents))


def test_the_placed_mask_is_the_class_template_where_the_pose_is_the_identity():
    generator = placed_generator()
    with torch.no_grad():
        generator.to_pose.weight.zero_()
        generator.to_pose.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
        template = torch.full((8, 8), -1.0)
        template[2:5, 1:6] = 1.0  # an off-centre bar, class 1 only
        generator.templates[1, 0] = template
        labels = torch.tensor([0, 1])
        mask = placed_mask(generator, labels)
        generator.to_pose.bias.copy_(torch.tensor([-1.0, 0.0, 0.0, 0.0, 0.0]))  # half a turn
        turned = placed_mask(generator, labels)
    torch.testing.assert_close(mask[1, 0], torch.sigmoid(TEMPLATE_GAIN * template), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mask[0, 0], torch.sigmoid(TEMPLATE_GAIN * generator.templates[0, 0]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(turned[1, 0], torch.sigmoid(TEMPLATE_GAIN * template).flip(0, 1), rtol=1e-5, atol=1e-6)


def test_the_striped_background_is_its_base_colour_times_the_plane_wave_it_reads():
    torch.manual_seed(0)
    generator = StripedPlacedGenerator(latent_dim=4, channels=3, image_size=16, num_classes=2, width=4).eval()
    base_logits = torch.tensor([0.0, 1.0, -1.0])
    with torch.no_grad():
        generator.to_stripes.weight.zero_()
        # base, angle (cos, sin) = (0, 2): stripes across y; phase (cos, sin) = (0, 1): p = 90 degrees;
        # frequency logit 0: 4.5 cycles per side; amplitude logit 0: a = STRIPE_AMPLITUDE / 2
        generator.to_stripes.bias.copy_(torch.cat([base_logits, torch.tensor([0.0, 2.0, 0.0, 1.0, 0.0, 0.0])]))
        labels = torch.tensor([0, 1])
        background = generator.background(generator.project_latents(torch.randn(2, 4), labels), labels)
    y = torch.arange(16.0) / 16
    wave = 1 + STRIPE_AMPLITUDE / 2 * torch.cos(2 * torch.pi * 4.5 * y)
    expected = torch.sigmoid(base_logits)[:, None, None] * wave[None, :, None].expand(3, 16, 16)
    torch.testing.assert_close(background, expected.expand(2, 3, 16, 16), rtol=1e-5, atol=1e-6)
    assert not hasattr(generator, "background_conv") and len(generator.norms) == 1
    assert isinstance(build_generator(**generator.config()), StripedPlacedGenerator)


def test_the_striped_template_holds_its_outer_two_pixels_empty():
    """A template that covers its whole square, at the identity pose: the coarse generator's mask reaches the image
    rows its template's second pixel covers; the striped one's stays empty there and keeps the inner template."""
    masks = {kind: full_template_mask(kind, image_size=48, log_scale_read=0.0) for kind in (CoarsePlacedGenerator, StripedPlacedGenerator)}
    # image row 4 samples the framed 26-px template at 1.94: its pixels 1 and 2 (both margin in the striped one)
    assert masks[CoarsePlacedGenerator][4, 24] > 0.5 and masks[StripedPlacedGenerator][:5].max() < 1e-6
    assert masks[StripedPlacedGenerator][6:-6, 6:-6].min() > 1 - 1e-6


def test_the_hole_penalty_closes_holes_the_discriminator_does_not_hold_open(tmp_path, monkeypatch):
    """The penalised recipe is the polygon-round one with a unit hole penalty. The same seeded one-epoch run on
    ``digits`` (5 steps) with a penalty of 1e4, which outweighs any adversarial push: every Adam step (beta1 = 0) moves
    each trained hole parameter by about -lr, so each hole logit falls by about 5 x lr x ``HOLE_GAIN`` from its start,
    below the unpenalised run's."""
    assert RECIPES["projected-placed-polygon-penalised"] == dataclasses.replace(RECIPES["projected-placed-polygon-round"], hole_penalty=1.0)
    monkeypatch.setitem(RECIPES, "heavy", dataclasses.replace(RECIPES["projected-placed-polygon-round"], hole_penalty=1e4))
    logits = {}
    for recipe in ("projected-placed-polygon-round", "heavy"):
        config = GANConfig("digits", True, epochs=1, batch_size=250, width=4, latent_dim=8, recipe=recipe, gan_id=f"tiny-{recipe}")
        train_gan(config, out_dir=tmp_path / recipe, run_dir=tmp_path / recipe / "run", progress=False, score=False)
        trained = torch.load(tmp_path / recipe / "run" / RUN_STATE_NAME, weights_only=True)["generator"]  # not the EMA copy
        logits[recipe] = HOLE_GAIN * trained["holes"]
    expected = -(len(load_dataset("digits", "train")) // config.batch_size) * config.lr * HOLE_GAIN
    fall = logits["heavy"] - ROUND_HOLE_LOGIT
    assert ((1.5 * expected < fall) & (fall < 0.5 * expected)).all()
    assert (logits["heavy"] < logits["projected-placed-polygon-round"]).all()
