"""The radial, cluttered and prior-posed placed generators: a solid star-shaped outline per class (a radius per angle
and a hole), HSV colours, round-capped clutter strokes and a pose drawn from a uniform prior, each checked against the
formula it is built from."""

import colorsys
import math

import numpy as np
import pytest
import torch

from xai_core.generative.dcgan import (
    COLOUR_LATENTS,
    COLOUR_PRIOR,
    CORNER_GAP,
    CORNERS,
    HARMONICS,
    HOLE_FLOOR,
    HOLE_GAIN,
    RADIAL_ANGLES,
    RADIAL_GAIN,
    RADIUS_SPREAD,
    SEGMENT_READS,
    SEGMENTS,
    SIZE_PRIOR,
    START_HOLE_LOGIT,
    START_RADIUS,
    TEMPLATE_BANK,
    ClutteredRadialGenerator,
    OpenHoleGenerator,
    PolygonClosedHoleGenerator,
    PolygonPriorGenerator,
    PolygonRoundHoleGenerator,
    PriorPosedGenerator,
    RadialPlacedGenerator,
    RoundClosedHoleGenerator,
    RoundHolePriorGenerator,
    SmoothPriorGenerator,
    affine_pose,
    build_generator,
)
from xai_core.imaging import hsv_to_rgb

SIDE = 48
IDENTITY_POSE = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])  # no turn, scale 1, no shift
QUARTER_TURN = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])


def radial(kind: type[RadialPlacedGenerator] = RadialPlacedGenerator, num_classes: int = 2) -> RadialPlacedGenerator:
    torch.manual_seed(0)
    return kind(latent_dim=4, channels=3, image_size=SIDE, num_classes=num_classes, width=4).eval()


def placed_mask(generator: RadialPlacedGenerator, pose_read: torch.Tensor, label: int = 0) -> torch.Tensor:
    """The mask Tensor[S, S] of class ``label`` at the pose ``pose_read`` gives, whatever the latent."""
    with torch.no_grad():
        generator.to_pose.weight.zero_()
        generator.to_pose.bias.copy_(pose_read)
        latents, labels = torch.randn(1, 4), torch.tensor([label])
        projected = generator.project_latents(latents, labels)
        return generator.mask(projected, labels, generator.pose(projected, labels, latents))[0, 0]


def pixel_centres() -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of every pixel centre in image coordinates [-1, 1] (``affine_grid``'s, align_corners=False): Tensor[S, S]."""
    axis = (2 * torch.arange(SIDE, dtype=torch.float32) + 1) / SIDE - 1
    return axis[None, :].expand(SIDE, SIDE), axis[:, None].expand(SIDE, SIDE)


def test_the_starting_outline_is_a_disc_of_half_the_half_side_with_a_one_pixel_edge_and_a_hole_of_radius_zero():
    generator = radial()
    mask = placed_mask(generator, IDENTITY_POSE)
    x, y = pixel_centres()
    distance = torch.hypot(x, y)
    assert torch.sigmoid(torch.tensor(START_HOLE_LOGIT)) == pytest.approx(HOLE_FLOOR)  # the hole's radius is 0
    expected = torch.sigmoid(4 * (SIDE / 2) * (START_RADIUS - distance)) * torch.sigmoid(4 * (SIDE / 2) * distance)
    torch.testing.assert_close(mask, expected, rtol=1e-5, atol=1e-5)
    # the centre pixels, 0.71 px from the centre, show the closed hole's edge; one pixel further out it is gone
    assert mask[23:25, 23:25].min() > 0.94 and mask[22, 22:26].min() > 0.99 and mask[0, 0] < 1e-6
    assert generator.radii.shape == (2, RADIAL_ANGLES) and generator.holes.shape == (2,)
    assert not hasattr(generator, "templates")


def test_the_radius_is_read_per_angle_and_turns_with_the_pose():
    """A bump of radius 0.8 around angle 0 (the template's +x axis) on a disc of 0.5: a pixel 0.7 out along +x is
    inside, the same pixel along -x outside; a quarter turn carries the bump to +y (down the image)."""
    generator = radial()
    with torch.no_grad():
        generator.radii[0, [RADIAL_ANGLES - 1, 0, 1]] = math.log(0.8) / RADIAL_GAIN
    column_plus, column_minus, centre = round(SIDE / 2 + 0.7 * SIDE / 2), round(SIDE / 2 - 0.7 * SIDE / 2), SIDE // 2
    mask = placed_mask(generator, IDENTITY_POSE)
    assert mask[centre, column_plus] > 0.99 and mask[centre, column_minus] < 0.01
    assert mask[column_plus, centre] < 0.01 and mask[column_minus, centre] < 0.01  # no bump along y
    other_class = placed_mask(generator, IDENTITY_POSE, label=1)
    assert other_class[centre, column_plus] < 0.01
    turned = placed_mask(generator, QUARTER_TURN)
    assert turned[column_plus, centre] > 0.99 and turned[centre, column_plus] < 0.01


def test_a_hole_of_half_the_radius_makes_a_ring():
    generator = radial()
    with torch.no_grad():
        generator.holes[1] = math.log(0.7 / 0.3) / RADIAL_GAIN  # sigmoid = 0.7: hole = radius x (0.7 - 0.2)
    mask = placed_mask(generator, IDENTITY_POSE, label=1)
    x, y = pixel_centres()
    distance = torch.hypot(x, y)
    assert mask[distance < 0.2].max() < 0.01  # the hole: radius 0.25, the edge one pixel (1/24) wide
    assert mask[(distance > 0.3) & (distance < 0.45)].min() > 0.98
    assert mask[distance > 0.55].max() < 0.01
    assert placed_mask(generator, IDENTITY_POSE, label=0)[(distance > 0.07) & (distance < 0.2)].min() > 0.999


def test_an_unconditional_radial_generator_mixes_its_outlines_by_the_latent():
    generator = radial(num_classes=0)
    assert generator.radii.shape == (TEMPLATE_BANK, RADIAL_ANGLES)
    with torch.no_grad():
        generator.radii.normal_(generator=torch.Generator().manual_seed(1))
        generator.holes.normal_(generator=torch.Generator().manual_seed(2))
        projected = generator.project_latents(torch.randn(3, 4))
        weights = torch.softmax(generator.to_choice(projected.flatten(1)), dim=1)
        log_radii, holes = generator.outline(projected, None)
    torch.testing.assert_close(log_radii, weights @ (RADIAL_GAIN * generator.radii), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(holes, weights @ (RADIAL_GAIN * generator.holes), rtol=1e-5, atol=1e-6)


def test_colours_are_read_as_hsv_for_the_object_and_the_striped_background():
    generator = radial()
    read = torch.tensor([[2.0, 0.0, 30.0, 30.0], [0.0, -3.0, -30.0, 0.0]])  # hue 0, s = v = 1; hue 0.75, s = 0, v = 0.5
    torch.testing.assert_close(generator.colours(read), torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]]), rtol=0, atol=1e-6)
    with torch.no_grad():
        generator.to_stripes.weight.zero_()
        generator.to_stripes.bias.zero_()
        generator.to_stripes.bias[:4] = torch.tensor([0.0, 1.0, 0.0, 0.0])  # hue 0.25, s = v = 0.5
        generator.to_stripes.bias[4:10] = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])  # across x, phase 90 degrees, 4.5 cycles
        labels = torch.tensor([0])
        background = generator.background(generator.project_latents(torch.randn(1, 4), labels), labels)[0]
    base = hsv_to_rgb(torch.tensor(0.25), torch.tensor(0.5), torch.tensor(0.5))
    x = torch.arange(SIDE, dtype=torch.float32) / SIDE
    wave = 1 + 0.2 * torch.cos(2 * torch.pi * 4.5 * x)
    torch.testing.assert_close(background, (base[:, None, None] * wave[None, None, :]).expand(3, SIDE, SIDE), rtol=1e-5, atol=1e-6)
    assert isinstance(build_generator(**generator.config()), RadialPlacedGenerator)


def test_a_one_channel_radial_generator_paints_the_value_alone():
    generator = RadialPlacedGenerator(latent_dim=4, channels=1, image_size=SIDE, num_classes=2, width=4)
    read = torch.tensor([[2.0, 0.0, 30.0, 0.0], [0.0, -3.0, -30.0, 1.0]])
    torch.testing.assert_close(generator.colours(read), torch.sigmoid(read[:, 3:]), rtol=0, atol=0)
    assert generator(torch.randn(2, 4), torch.tensor([0, 1])).shape == (2, 1, SIDE, SIDE)


def test_a_clutter_stroke_covers_the_pixels_within_its_half_width_of_its_segment():
    """One stroke present from (8, 20) to (40, 30) px, half-width 1.5, pure blue; the other seven absent: the background
    is the striped one with the stroke painted over it, coverage sigmoid(4 (1.5 - distance to the segment))."""
    generator = radial(ClutteredRadialGenerator)
    start, end = np.array([8.0, 20.0]), np.array([40.0, 30.0])
    ends = torch.atanh(torch.tensor(np.concatenate([start, end]) / (SIDE / 2) - 1, dtype=torch.float32))
    with torch.no_grad():
        generator.to_strokes.weight.zero_()
        bias = torch.zeros(SEGMENTS, SEGMENT_READS)
        bias[:, -1] = -40.0  # absent
        bias[0] = torch.cat([ends, torch.tensor([-1.0, -math.sqrt(3), 30.0, 30.0, 0.0, 40.0])])  # hue 2/3 (blue), width logit 0
        generator.to_strokes.bias.copy_(bias.flatten())
        labels = torch.tensor([1])
        projected = generator.project_latents(torch.randn(1, 4), labels)
        coverage, colours = generator.strokes(projected)
        background = generator.background(projected, labels)[0]
        striped = super(ClutteredRadialGenerator, generator).background(projected, labels)[0]
    ys, xs = np.mgrid[0:SIDE, 0:SIDE] + 0.5
    points = np.stack([xs, ys], axis=-1)
    along = end - start
    reach = np.clip(((points - start) @ along) / (along @ along), 0, 1)
    distance = np.linalg.norm(points - start - reach[..., None] * along, axis=-1)
    expected = torch.sigmoid(torch.tensor(4 * (1.5 - distance), dtype=torch.float32))
    torch.testing.assert_close(coverage[0, 0], expected, rtol=1e-4, atol=1e-5)
    assert coverage[0, 1:].max() < 1e-12
    torch.testing.assert_close(colours[0, 0], torch.tensor([0.0, 0.0, 1.0]), rtol=0, atol=1e-6)
    blue = torch.tensor([0.0, 0.0, 1.0])[:, None, None]
    torch.testing.assert_close(background, expected * blue + (1 - expected) * striped, rtol=1e-5, atol=1e-5)
    assert isinstance(build_generator(**generator.config()), ClutteredRadialGenerator)


def prior_pose(generator: PriorPosedGenerator, pose_latents: torch.Tensor, label: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(theta Tensor[N, 2, 3], mask Tensor[N, S, S]) of class ``label`` for latents whose first four dimensions are
    ``pose_latents`` Tensor[N, 4] (the rest zero)."""
    latents = torch.zeros(len(pose_latents), generator.latent_dim)
    latents[:, :4] = pose_latents
    labels = torch.full((len(pose_latents),), label)
    with torch.no_grad():
        projected = generator.project_latents(latents, labels)
        theta = generator.pose(projected, labels, latents)
        return theta, generator.mask(projected, labels, theta)[:, 0]


def test_the_prior_pose_reads_place_size_and_angle_from_the_first_latents_through_the_normal_cdf():
    """Latents (0, 0, 0, 0): each draw is 0.5, so the object sits at the centre, at the prior's middle scale, half a turn
    round. The other latent dimensions and the first layer's output do not move it."""
    generator = radial(PriorPosedGenerator)
    assert not hasattr(generator, "to_pose")
    theta, _ = prior_pose(generator, torch.zeros(1, 4))
    middle = torch.tensor([[sum(SIZE_PRIOR) / 2]])
    torch.testing.assert_close(theta, affine_pose(torch.tensor([[-1.0, 0.0]]), middle, torch.zeros(1, 2)), rtol=0, atol=1e-6)
    latents = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    latents[:, :4] = torch.tensor([0.3, -1.2, 2.0, 0.7])
    labels = torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        thetas = generator.pose(generator.project_latents(latents, labels), labels, latents)
    torch.testing.assert_close(thetas, thetas[:1].expand(3, 2, 3), rtol=0, atol=0)
    with pytest.raises(ValueError, match="4 latent dimensions"):
        PriorPosedGenerator(latent_dim=3, channels=3, image_size=SIDE, num_classes=2, width=4)


def test_the_prior_pose_keeps_the_outline_a_pixel_inside_the_image_at_its_farthest_draw():
    """Draws x -> 1 (latent 8), y = 0.5, the smallest scale (latent -8), no turn: the disc of radius 0.5 x 0.8 of the
    half side ends one pixel from the right edge; so the last column's centre lies half a pixel outside it and the
    one before half a pixel inside, the mask there sigmoid(-+4 x 0.5 px) along the middle rows."""
    generator = radial(PriorPosedGenerator)
    theta, mask = prior_pose(generator, torch.tensor([[8.0, 0.0, -8.0, -8.0]]))
    scale = SIZE_PRIOR[0]
    room = 1 - scale * START_RADIUS - 2 / SIDE
    torch.testing.assert_close(theta[0, :, 2], torch.tensor([-room / scale, 0.0]), rtol=1e-5, atol=1e-5)
    radius_px = scale * START_RADIUS * SIDE / 2
    centre_px = np.array([SIDE / 2 + room * SIDE / 2, SIDE / 2])
    for column in (SIDE - 1, SIDE - 2):
        distance = np.hypot(column + 0.5 - centre_px[0], SIDE / 2 - 0.5 - centre_px[1])  # row SIDE/2 - 1: 0.5 px above the centre
        expected = 1 / (1 + math.exp(-4 * (radius_px - distance)))
        assert mask[0, SIDE // 2 - 1, column].item() == pytest.approx(expected, abs=1e-3)
    assert mask[0, SIDE // 2, SIDE - 1] < 0.15 < 0.85 < mask[0, SIDE // 2, SIDE - 2]
    spiky = radial(PriorPosedGenerator)
    with torch.no_grad():  # one radius twice as long: the farthest point, and so the room, follows it
        spiky.radii[0, 5] += math.log(2) / RADIAL_GAIN
    spiky_theta, _ = prior_pose(spiky, torch.tensor([[8.0, 0.0, -8.0, -8.0]]))
    spiky_room = 1 - scale * 2 * START_RADIUS - 2 / SIDE
    torch.testing.assert_close(spiky_theta[0, :, 2], torch.tensor([-spiky_room / scale, 0.0]), rtol=1e-5, atol=1e-5)


def test_the_prior_pose_places_centres_uniformly_over_the_room_and_sizes_over_the_prior():
    """For 20,000 standard normal latents, the centre's share of the room, the scale and the angle are uniform: the
    empirical CDF stays within the Kolmogorov-Smirnov bound of 1.95 / sqrt(n) (alpha 0.001) of the uniform one."""
    generator = radial(PriorPosedGenerator)
    count = 20_000
    pose_latents = torch.randn(count, 4, generator=torch.Generator().manual_seed(3))
    theta, _ = prior_pose(generator, pose_latents)
    linear = theta[:, :, :2]
    scale = 1 / torch.linalg.det(linear).sqrt()
    centre = -torch.linalg.solve(linear, theta[:, :, 2:])[:, :, 0]
    room = 1 - scale * START_RADIUS - 2 / SIDE
    angle = torch.atan2(-linear[:, 0, 1], linear[:, 0, 0]) % (2 * math.pi)
    low, high = SIZE_PRIOR
    draws = {
        "x": (centre[:, 0] / room + 1) / 2,
        "y": (centre[:, 1] / room + 1) / 2,
        "size": (scale - low) / (high - low),
        "angle": angle / (2 * math.pi),
    }
    uniform = (torch.arange(count) + 0.5) / count
    for name, draw in draws.items():
        assert (draw.sort().values.double() - uniform).abs().max() < 1.95 / math.sqrt(count), name


def test_the_smooth_outline_is_its_fourier_series_at_every_angle_and_the_colour_is_drawn_from_the_prior():
    """Harmonics a_0 = log 0.5, a_5 = 0.1, b_2 = -0.05 of class 1: the log radius at each of the 64 angles is the sum,
    computed here in numpy; class 0 stays a circle. Latents 4 to 6 at (0, -inf, +inf): hue 0.5, the lowest
    saturation and the highest value of the prior; the object is that colour 5 px from its centre."""
    generator = SmoothPriorGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert not hasattr(generator, "radii") and not hasattr(generator, "to_colour")
    with torch.no_grad():
        generator.harmonics[1, 5] = 0.1 / RADIAL_GAIN
        generator.harmonics[1, HARMONICS + 2] = -0.05 / RADIAL_GAIN
        log_radii = generator.log_radii()
    angles = np.arange(RADIAL_ANGLES) * 2 * np.pi / RADIAL_ANGLES
    expected = math.log(START_RADIUS) + 0.1 * np.cos(5 * angles) - 0.05 * np.sin(2 * angles)
    np.testing.assert_allclose(log_radii[1].numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(log_radii[0].numpy(), np.full(RADIAL_ANGLES, math.log(START_RADIUS)), rtol=0, atol=1e-6)
    latents = torch.zeros(1, 8)
    latents[0, COLOUR_LATENTS[0] :] = torch.tensor([0.0, -40.0, 40.0, 0.0])
    labels = torch.tensor([0])
    with torch.no_grad():
        colour = generator.object_colour(generator.project_latents(latents, labels), latents)
        image = generator(latents, labels)[0]
    low_saturation, high_value = COLOUR_PRIOR["saturation"][0], COLOUR_PRIOR["value"][1]
    cyan = torch.tensor(colorsys.hsv_to_rgb(0.5, low_saturation, high_value), dtype=torch.float32)
    torch.testing.assert_close(colour[0], cyan, rtol=0, atol=1e-6)
    torch.testing.assert_close(image[:, SIDE // 2, SIDE // 2 + 5], cyan, rtol=0, atol=1e-4)  # inside, 5 px from the closed hole
    with pytest.raises(ValueError, match="7 latent dimensions"):
        SmoothPriorGenerator(latent_dim=6, channels=3, image_size=SIDE, num_classes=2, width=4)


def test_the_open_hole_generator_starts_every_outline_as_a_ring_of_three_tenths_of_its_radius():
    """At the prior pose of latents 0 (the centre, the middle scale): along the row below the centre, the pixels under
    0.3 of the radius are empty and those between 0.3 and the radius full, for both classes."""
    generator = OpenHoleGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert isinstance(build_generator(**generator.config()), OpenHoleGenerator)
    torch.testing.assert_close(torch.sigmoid(RADIAL_GAIN * generator.holes) - HOLE_FLOOR, torch.full((2,), 0.3))
    for label in (0, 1):
        _, mask = prior_pose(generator, torch.zeros(1, 4), label)
        radius_px = START_RADIUS * sum(SIZE_PRIOR) / 2 * SIDE / 2
        offsets = np.arange(SIDE) + 0.5 - SIDE / 2  # px from the centre along the row just below it, 0.5 px off the axis
        distance = np.hypot(offsets, 0.5)
        row = mask[0, SIDE // 2].numpy()
        assert row[distance < 0.3 * radius_px - 1].max() < 0.02
        assert row[(distance > 0.3 * radius_px + 1) & (distance < radius_px - 1)].min() > 0.98
        assert row[distance > radius_px + 1].max() < 0.02


def test_the_round_hole_is_a_circle_of_its_share_of_the_geometric_mean_radius_whatever_the_outline():
    """Class 0 starts with a hole of 0.1 of its radius. Class 1, a five-lobed outline exp(a_0 + 0.15 cos 5 phi) with a
    hole share of 0.55 (the ``shapes`` ring's), at the prior pose of latents 0 (the centre, the middle scale): every
    pixel nearer the centre than 0.55 of exp(a_0) (the geometric mean radius) is empty and every pixel between that
    circle and the outline's smallest radius is full, in every direction."""
    generator = RoundHolePriorGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert isinstance(build_generator(**generator.config()), RoundHolePriorGenerator)
    torch.testing.assert_close(torch.sigmoid(HOLE_GAIN * generator.holes[0]) - HOLE_FLOOR, torch.tensor(0.1))
    with torch.no_grad():
        generator.harmonics[1, 5] = 0.15 / RADIAL_GAIN
        generator.holes[1] = math.log(0.75 / 0.25) / HOLE_GAIN
    mask = prior_pose(generator, torch.zeros(1, 4), 1)[1][0].numpy()
    radius_px = START_RADIUS * sum(SIZE_PRIOR) / 2 * SIDE / 2
    hole_px, smallest_px = 0.55 * radius_px, radius_px * math.exp(-0.15)
    offsets = np.arange(SIDE) + 0.5 - SIDE / 2
    distance = np.hypot(offsets[None, :], offsets[:, None])
    assert mask[distance < hole_px - 1].max() < 0.02
    assert mask[(distance > hole_px + 1) & (distance < smallest_px - 1)].min() > 0.98


def test_the_round_hole_outline_spans_at_most_its_spread_and_keeps_a_small_smooth_outline_as_it_is():
    """Random large harmonics: every outline's farthest radius is at most ``RADIUS_SPREAD`` times its nearest (a smooth
    generator with the same harmonics spans far more). Small harmonics (a log radius within +-0.01 of its mean) pass
    through tanh unchanged to 1e-5."""
    smooth = SmoothPriorGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4)
    bounded = RoundHolePriorGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4)
    harmonics = torch.randn(2, 2 * HARMONICS + 1, generator=torch.Generator().manual_seed(0)) / RADIAL_GAIN
    with torch.no_grad():
        for generator in (smooth, bounded):
            generator.harmonics.copy_(harmonics)
        free, squashed = smooth.log_radii(), bounded.log_radii()
        spread = (squashed.max(dim=1).values - squashed.min(dim=1).values).exp()
        assert float(spread.max()) <= RADIUS_SPREAD + 1e-5
        assert float((free.max(dim=1).values - free.min(dim=1).values).exp().min()) > 10 * RADIUS_SPREAD
        small = harmonics.clone()
        small[:, 1:] *= 0.01 / float((free - free.mean(dim=1, keepdim=True)).abs().max())
        for generator in (smooth, bounded):
            generator.harmonics.copy_(small)
        torch.testing.assert_close(bounded.log_radii(), smooth.log_radii(), rtol=0, atol=1e-5)


def test_a_polygon_outline_draws_straight_edges_between_its_vertices():
    """Class 1's 12 vertices at equal gaps, radius R on the axes and R / (cos 30 + sin 30) between them, lie on a square
    with its corners on the axes: the log radius at every one of the 64 angles is that square's, log R - log(|cos phi| +
    |sin phi|). Class 0 starts as the regular 12-gon (radius 0.5 at every vertex). Random gaps keep every vertex gap
    in its bounds, below 180 degrees, and sum to a full turn."""
    generator = PolygonPriorGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert not hasattr(generator, "harmonics")
    corner_angles = np.arange(CORNERS) * 2 * np.pi / CORNERS
    square_radius = 0.6
    on_square = square_radius / (np.abs(np.cos(corner_angles)) + np.abs(np.sin(corner_angles)))
    with torch.no_grad():
        generator.corner_radii[1] = torch.tensor(np.log(on_square) / RADIAL_GAIN, dtype=torch.float32)
        log_radii = generator.log_radii()
        vertex_angles, radii = generator.corners()
    angles = np.arange(RADIAL_ANGLES) * 2 * np.pi / RADIAL_ANGLES
    expected = np.log(square_radius) - np.log(np.abs(np.cos(angles)) + np.abs(np.sin(angles)))
    np.testing.assert_allclose(log_radii[1].numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(vertex_angles[0].numpy(), np.append(corner_angles, 2 * np.pi), rtol=0, atol=1e-5)
    torch.testing.assert_close(radii[0], torch.full((CORNERS,), START_RADIUS), rtol=0, atol=1e-6)
    with torch.no_grad():
        generator.corner_gaps.copy_(torch.randn(2, CORNERS, generator=torch.Generator().manual_seed(0)) * 4 / RADIAL_GAIN)
        vertex_angles, _ = generator.corners()
    gaps = vertex_angles.diff(dim=1)
    low, high = CORNER_GAP
    largest = 2 * np.pi * high / (high + (CORNERS - 1) * low)
    assert float(gaps.max()) <= largest + 1e-6 and largest < np.pi
    torch.testing.assert_close(vertex_angles[:, -1], torch.full((2,), 2 * math.pi), rtol=0, atol=1e-5)
    assert torch.isfinite(generator.log_radii()).all()


def test_the_round_hole_polygon_draws_a_circular_hole_in_its_polygon():
    """Class 1 a square (its 12 vertices on a square of radius R to its corners) with a hole share of 0.55, at the prior
    pose of latents 0: pixels nearer the centre than 0.55 of the square's geometric-mean radius are empty, pixels
    between that circle and the square's inscribed radius R / sqrt(2) full. It starts with holes of 0.1 of the radius."""
    generator = PolygonRoundHoleGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert isinstance(build_generator(**generator.config()), PolygonRoundHoleGenerator)
    torch.testing.assert_close(torch.sigmoid(HOLE_GAIN * generator.holes) - HOLE_FLOOR, torch.full((2,), 0.1))
    corner_angles = np.arange(CORNERS) * 2 * np.pi / CORNERS
    on_square = 0.6 / (np.abs(np.cos(corner_angles)) + np.abs(np.sin(corner_angles)))
    with torch.no_grad():
        generator.corner_radii[1] = torch.tensor(np.log(on_square) / RADIAL_GAIN, dtype=torch.float32)
        generator.holes[1] = math.log(0.75 / 0.25) / HOLE_GAIN
        geometric_mean = float(generator.log_radii()[1].mean().exp())
    mask = prior_pose(generator, torch.zeros(1, 4), 1)[1][0].numpy()
    to_px = sum(SIZE_PRIOR) / 2 * SIDE / 2  # the middle scale, in pixels per unit of the half side
    hole_px, inscribed_px = 0.55 * geometric_mean * to_px, 0.6 / math.sqrt(2) * to_px
    offsets = np.arange(SIDE) + 0.5 - SIDE / 2
    distance = np.hypot(offsets[None, :], offsets[:, None])
    assert mask[distance < hole_px - 1].max() < 0.02
    assert mask[(distance > hole_px + 1) & (distance < inscribed_px - 1)].min() > 0.98


@pytest.mark.parametrize(
    ("closed_class", "round_class"),
    [(PolygonClosedHoleGenerator, PolygonRoundHoleGenerator), (RoundClosedHoleGenerator, RoundHolePriorGenerator)],
)
def test_a_closed_hole_generator_is_its_round_hole_generator_started_with_every_hole_closed(closed_class, round_class):
    """Every class starts at ``START_HOLE_LOGIT``: a share of 0, on the edge of opening; with the round-hole
    generator's holes set there, the two draw the same masks (the same seeded weights)."""
    torch.manual_seed(0)
    closed = closed_class(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert isinstance(build_generator(**closed.config()), closed_class)
    torch.testing.assert_close(HOLE_GAIN * closed.holes, torch.full((2,), START_HOLE_LOGIT))
    torch.testing.assert_close(closed.hole_shares(None), torch.zeros(2), rtol=0, atol=1e-6)
    torch.manual_seed(0)
    rounded = round_class(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4).eval()
    assert rounded.hole_shares(None).min() > 0.05  # the round-hole generator's start: open
    with torch.no_grad():
        rounded.holes.copy_(closed.holes)
    latents = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    for label in (0, 1):
        torch.testing.assert_close(prior_pose(closed, latents, label)[1], prior_pose(rounded, latents, label)[1], rtol=0, atol=0)


def test_hole_shares_are_how_far_each_requested_hole_is_open_and_zero_when_closed():
    """Class 0 closed below the floor, class 1 at the ``shapes`` ring's 0.55; unconditional: every outline of the bank."""
    generator = PolygonRoundHoleGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=2, width=4)
    with torch.no_grad():
        generator.holes.copy_(torch.tensor([-3.0, math.log(0.75 / 0.25)]) / HOLE_GAIN)
    torch.testing.assert_close(generator.hole_shares(torch.tensor([1, 0, 1])), torch.tensor([0.55, 0.0, 0.55]))
    unconditional = RadialPlacedGenerator(latent_dim=8, channels=3, image_size=SIDE, num_classes=0, width=4)
    torch.testing.assert_close(unconditional.hole_shares(None), torch.zeros(TEMPLATE_BANK))  # closed, on the edge of opening
