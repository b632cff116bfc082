"""GAN Studio engine: latent edits move exactly where they should, interpolation keeps its end points, the chunked
sensitivity equals the engine's, and the ranking exports and plots in order (PNG encoding: tests/test_imaging.py)."""

import pytest
import torch

from xai_core.generative.dcgan import DCGANGenerator, sample_latents
from xai_core.generative.latent import latent_sensitivity, sefa_directions
from xai_core.generative.studio import (
    MAX_SEED,
    base_latent,
    dimension_maps,
    edit_latent,
    interpolate_latents,
    interpolation_strip,
    next_random_seed,
    render,
    sensitivity_csv,
    sensitivity_sample,
    top_dimensions,
    top_sefa_directions,
)
from xai_core.reports.charts import sensitivity_bars_figure


@pytest.fixture(scope="module")
def conditional() -> DCGANGenerator:
    torch.manual_seed(3)
    return DCGANGenerator(latent_dim=8, channels=1, image_size=8, num_classes=3, width=8).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def unconditional() -> DCGANGenerator:
    torch.manual_seed(4)
    return DCGANGenerator(latent_dim=6, channels=3, image_size=8, width=8).eval().requires_grad_(False)


def test_editing_a_basis_dimension_changes_exactly_that_coordinate():
    latent = torch.tensor([0.5, -1.0, 2.0, 0.25])
    edited = edit_latent(latent, {2: 1.5}, {})
    assert edited.tolist() == [0.5, -1.0, 3.5, 0.25]
    assert latent.tolist() == [0.5, -1.0, 2.0, 0.25]  # the input is untouched
    assert edit_latent(latent, {0: -0.5, 3: 0.75}, {}).tolist() == [0.0, -1.0, 2.0, 1.0]


def test_editing_along_a_sefa_direction_moves_by_offset_times_a_unit_vector(conditional):
    eigenvalues, directions = top_sefa_directions(conditional, 3)
    expected_values, expected_directions = sefa_directions(conditional.latent_weight())
    torch.testing.assert_close(eigenvalues, expected_values[:3])
    torch.testing.assert_close(directions, expected_directions[:3].float())
    torch.testing.assert_close(directions.norm(dim=1), torch.ones(3))
    latent = base_latent(conditional, 7)
    edited = edit_latent(latent, {}, {1: 0.7}, directions)
    torch.testing.assert_close(edited - latent, 0.7 * directions[1])
    torch.testing.assert_close((edited - latent).norm(), torch.tensor(0.7))
    both = edit_latent(latent, {4: -1.0}, {0: 2.0, 2: -0.5}, directions)
    torch.testing.assert_close(both, latent + torch.eye(8)[4] * -1.0 + 2.0 * directions[0] - 0.5 * directions[2])
    with pytest.raises(ValueError, match="directions"):
        edit_latent(latent, {}, {0: 1.0})


def test_interpolation_end_points_equal_the_inputs_and_paths_are_exact():
    start, end = sample_latents(2, 16, seed=5)
    for mode in ("linear", "slerp"):
        path = interpolate_latents(start, end, 7, mode)
        assert path.shape == (7, 16)
        assert torch.equal(path[0], start) and torch.equal(path[-1], end)
    torch.testing.assert_close(interpolate_latents(start, end, 3, "linear")[1], (start + end) / 2)
    # slerp between orthogonal unit vectors stays on the circle: the midpoint is (a + b) / sqrt(2)
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    torch.testing.assert_close(interpolate_latents(a, b, 3, "slerp")[1], torch.tensor([2**-0.5, 2**-0.5, 0.0]))
    # parallel codes have no angle to follow: slerp falls back to the straight line
    torch.testing.assert_close(interpolate_latents(a, 3 * a, 3, "slerp")[1], 2 * a)
    with pytest.raises(ValueError, match="2 frames"):
        interpolate_latents(a, b, 1)
    with pytest.raises(ValueError, match="mode"):
        interpolate_latents(a, b, 3, "cubic")


def test_render_and_strip_are_the_generator_forward(conditional, unconditional):
    latent = base_latent(conditional, 11)
    torch.testing.assert_close(latent, sample_latents(1, 8, 11)[0])
    image = render(conditional, latent, 2)
    assert image.shape == (1, 8, 8)
    torch.testing.assert_close(image, conditional(latent[None], torch.tensor([2]))[0])
    other = base_latent(conditional, 12)
    strip = interpolation_strip(conditional, latent, other, 2, frames=5, mode="slerp")
    assert strip.shape == (5, 1, 8, 8)
    torch.testing.assert_close(strip[0], image)
    torch.testing.assert_close(strip[-1], render(conditional, other, 2))
    assert render(unconditional, base_latent(unconditional, 0)).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="class-conditional"):
        render(conditional, latent, None)
    with pytest.raises(ValueError, match="class-conditional"):
        render(conditional, latent, 3)
    with pytest.raises(ValueError, match="unconditional"):
        render(unconditional, base_latent(unconditional, 0), 1)


def test_chunked_sensitivity_equals_the_engine_and_reports_progress(conditional):
    seen = []
    result = sensitivity_sample(conditional, 1, count=16, seed=9, chunk=3, on_progress=seen.append)
    latents = sample_latents(16, 8, 9)
    expected = latent_sensitivity(lambda z: conditional(z, torch.tensor([1])), latents)
    torch.testing.assert_close(result.sensitivity, expected.sensitivity)
    torch.testing.assert_close(result.pixel_maps, expected.pixel_maps)
    assert seen == [3 / 8, 6 / 8, 1.0]


def test_top_dimensions_maps_and_csv_on_a_constructed_ranking():
    sensitivity = torch.tensor([0.5, 2.0, 0.5, 1.0])
    assert top_dimensions(sensitivity, 3) == [1, 3, 0]  # the tie 0/2 goes to the lower index
    pixel_maps = torch.zeros(4, 2, 2, 2)
    pixel_maps[1] = torch.tensor([[[1.0, 3.0], [0.0, 2.0]], [[3.0, 1.0], [0.0, 2.0]]])
    maps = dimension_maps(pixel_maps, [1, 0])
    assert maps.shape == (2, 1, 2, 2)
    torch.testing.assert_close(maps[0, 0], torch.tensor([[1.0, 1.0], [0.0, 1.0]]))  # channel mean [[2, 2], [0, 2]] / 2
    assert torch.equal(maps[1], torch.zeros(1, 2, 2))  # a dimension that does nothing stays zero
    assert sensitivity_csv(sensitivity, 2) == (
        "rank,dimension,sensitivity,shown_as_slider\n1,1,2,True\n2,3,1,True\n3,0,0.5,False\n4,2,0.5,False\n"
    )
    figure = sensitivity_bars_figure(sensitivity.tolist(), [1, 3])
    bars = figure.data[0]
    assert list(bars.x) == ["z[1]", "z[3]", "z[0]", "z[2]"]
    assert list(bars.y) == [2.0, 1.0, 0.5, 0.5]
    assert list(bars.marker.color) == ["#ff7f0e", "#ff7f0e", "#1f77b4", "#1f77b4"]


def test_random_seed_sequence_is_reproducible_and_in_range():
    sequence = [0]
    for _ in range(5):
        sequence.append(next_random_seed(sequence[-1]))
    assert sequence[1:] == [next_random_seed(s) for s in sequence[:-1]]
    assert len(set(sequence)) == 6 and all(0 <= s <= MAX_SEED for s in sequence)
