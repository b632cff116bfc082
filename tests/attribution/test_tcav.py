"""TCAV: a planted concept on a hand-weighted net is found (score 1, p < 0.05) and a random one is not; one run
recomputed independently; determinism, Bonferroni, progress, errors; the bar chart; a shipped model and the CLI."""

import csv
import io
import json

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from xai_core import load_model
from xai_core.attribution import default_layer, run_tcav, tcav_scores
from xai_core.attribution.tcav import CSV_COLUMNS, SeededCAVClassifier, significance_stars, t_test_p_value
from xai_core.cli import main
from xai_core.models.card import ModelCard
from xai_core.reports.charts import tcav_bars_figure

SIZE = 8
N = 20


class PlantedRedNet(nn.Module):
    """Class 1's logit is the mean softplus of the red channel, class 0's of the green channel.

    conv: 1x1, channel 0 = R, channel 1 = G (the TCAV layer); head swaps them: logits = (mean G', mean R')."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, kernel_size=1, bias=False)
        self.act = nn.Softplus()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0
            self.conv.weight[1, 1] = 1.0
            self.head.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))

    def after_conv(self, activations: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.act(activations)).flatten(1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.after_conv(self.conv(images))


def _card() -> ModelCard:
    return ModelCard("planted-red", "planted", PlantedRedNet().eval(), ["green", "red"], 3, (SIZE, SIZE), (0.0,) * 3, (1.0,) * 3)


def _planted_sets():
    """Uniform RGB noise everywhere; the "red" set has its red channel lifted to U(0.6, 1), nothing else differs."""
    generator = torch.Generator().manual_seed(0)

    def noise() -> torch.Tensor:
        return torch.rand(N, 3, SIZE, SIZE, generator=generator)

    red = noise()
    red[:, 0] = 0.6 + 0.4 * red[:, 0]
    concepts = {"red": red, "noise": noise()}
    randoms = [noise() for _ in range(10)]
    return concepts, randoms, noise()


@pytest.fixture(scope="module")
def planted():
    card = _card()
    concepts, randoms, inputs = _planted_sets()
    calls = []
    result = tcav_scores(
        card, "conv", concepts, randoms, inputs, target=1, seed=0, progress=lambda fraction, message: calls.append((fraction, message))
    )
    return card, concepts, randoms, inputs, result, calls


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy on constant samples
def test_the_planted_concept_is_significant_and_a_random_one_is_not(planted):
    _, _, _, _, result, _ = planted
    red, noise = result.concept("red"), result.concept("noise")
    assert red.run_scores == [1.0] * 10 and red.score == 1.0 and red.score_std == 0.0
    assert red.significant and red.p_value < 1e-3 and red.stars == "***"
    assert red.magnitude > 0 and red.cav_accuracy > 0.9
    assert not noise.significant and noise.p_value > 0.05 and noise.stars == ""
    assert 0.35 < noise.cav_accuracy < 0.65  # a CAV between two random sets separates nothing
    assert len(result.random_run_scores) == result.n_random_sets == 10
    assert all(score in {k / N for k in range(N + 1)} for score in [*noise.run_scores, *result.random_run_scores])
    for concept in (red, noise):
        assert concept.p_value == stats.ttest_ind(concept.run_scores, result.random_run_scores).pvalue
        assert concept.p_adjusted == concept.p_value
    assert result.random_mean == pytest.approx(np.mean(result.random_run_scores), abs=1e-15)
    assert (result.layer, result.target, result.target_class, result.n_class_images) == ("conv", 1, "red", N)
    assert result.concept_set_sizes == {"red": N, "noise": N} and result.random_set_size == N


def test_one_run_equals_an_independent_computation(planted):
    card, concepts, randoms, inputs, result, _ = planted
    model = card.model
    run = 3  # "noise" (concept id 1) against random set 3 (concept id 2 + 3)
    with torch.no_grad():
        concept_activations = model.conv(concepts["noise"]).flatten(1)
        random_activations = model.conv(randoms[run]).flatten(1)
    classifier = SeededCAVClassifier(seed=0)
    accuracy = classifier.train_and_eval([(concept_activations, torch.full((N,), 1)), (random_activations, torch.full((N,), 2 + run))])
    assert classifier.classes() == [1, 2 + run]
    cav = classifier.weights()[0]
    assert cav.norm().item() == pytest.approx(1.0, abs=1e-6)
    activations = model.conv(inputs).detach().requires_grad_(True)
    (gradients,) = torch.autograd.grad(model.after_conv(activations)[:, 1].sum(), activations)
    derivatives = gradients.flatten(1) @ cav
    noise = result.concept("noise")
    assert noise.run_scores[run] == (derivatives > 0).sum().item() / N
    assert noise.run_magnitudes[run] == pytest.approx(derivatives.mean().item(), rel=1e-5)
    assert noise.cav_accuracies[run] == accuracy["accs"]


def test_deterministic_for_a_seed_and_the_seed_matters(planted):
    card, concepts, randoms, inputs, result, _ = planted
    again = tcav_scores(card, "conv", concepts, randoms, inputs, target=1, seed=0)
    assert again.to_dict() == result.to_dict()
    other = tcav_scores(card, "conv", concepts, randoms, inputs, target=1, seed=1)
    assert other.concept("noise").run_magnitudes != result.concept("noise").run_magnitudes


def test_bonferroni_multiplies_p_by_the_number_of_concepts(planted):
    card, concepts, randoms, inputs, result, _ = planted
    corrected = tcav_scores(card, "conv", concepts, randoms, inputs, target=1, seed=0, bonferroni=True)
    for name in concepts:
        plain, adjusted = result.concept(name), corrected.concept(name)
        assert adjusted.p_value == plain.p_value
        assert adjusted.p_adjusted == min(1.0, 2 * plain.p_value)
        assert adjusted.significant == (adjusted.p_adjusted < 0.05)
    assert corrected.bonferroni and corrected.rows()[0]["p_adjusted"] == corrected.concept("red").p_adjusted


def test_progress_reports_every_cav_then_the_derivatives(planted):
    *_, calls = planted
    fractions = [fraction for fraction, _ in calls]
    assert len(calls) == 3 * 10 + 2  # (2 concepts + the null) x 10 random sets, the derivatives, done
    assert fractions == sorted(fractions) and calls[-1] == (1.0, "done")
    assert calls[0][1] == "CAV 1/30: red vs random 0" and calls[29][1] == "CAV 30/30: random 9 vs random 0"


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy on constant samples
def test_statistics_helpers():
    assert [significance_stars(p) for p in (0.0005, 0.001, 0.005, 0.04, 0.05, 0.5)] == ["***", "**", "**", "*", "", ""]
    assert t_test_p_value([0.5] * 10, [0.5] * 10) == 1.0  # undefined test: no evidence
    assert t_test_p_value([1.0] * 10, [0.0, 1.0] * 5) == stats.ttest_ind([1.0] * 10, [0.0, 1.0] * 5).pvalue


def test_bad_arguments_are_refused(planted):
    card, concepts, randoms, inputs, _, _ = planted
    with pytest.raises(ValueError, match="at least 10 random sets"):
        tcav_scores(card, "conv", concepts, randoms[:9], inputs, target=1)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        tcav_scores(card, "conv9", concepts, randoms, inputs, target=1)
    with pytest.raises(ValueError, match="class index in 0..1"):
        tcav_scores(card, "conv", concepts, randoms, inputs, target=2)
    with pytest.raises(ValueError, match="at least one concept"):
        tcav_scores(card, "conv", {}, randoms, inputs, target=1)
    with pytest.raises(ValueError, match="at least 2 images"):
        tcav_scores(card, "conv", {"red": concepts["red"][:1]}, randoms, inputs, target=1)


def test_bar_chart_shows_scores_stars_and_the_random_band(planted):
    *_, result, _ = planted
    figure = tcav_bars_figure(result)
    bars = figure.data[0]
    assert list(bars.x) == ["red", "noise"]
    assert list(bars.y) == [1.0, result.concept("noise").score]
    assert list(bars.error_y.array) == [0.0, result.concept("noise").score_std]
    assert list(bars.text) == ["***", ""]
    assert list(bars.marker.color) == ["#1f77b4", "#b0b0b0"]
    band, line = figure.layout.shapes
    assert band.y0 == pytest.approx(max(0.0, result.random_mean - result.random_std))
    assert band.y1 == pytest.approx(min(1.0, result.random_mean + result.random_std))
    assert line.y0 == line.y1 == pytest.approx(result.random_mean)
    assert figure.layout.title.text == "TCAV scores for class red at conv"


@pytest.fixture(scope="module")
def glyphs_result():
    card = load_model("vgg-glyphs")
    return card, run_tcav(card, ["thick strokes", "slanted"], target=0, n_images=N, n_random=10, seed=0)


def test_a_shipped_model_gives_sane_fields(glyphs_result):
    card, result = glyphs_result
    assert default_layer(card) == result.layer == "features.20"
    assert [c.concept for c in result.concepts] == ["thick strokes", "slanted"] and result.target_class == "A"
    for concept in result.concepts:
        assert len(concept.run_scores) == len(concept.run_magnitudes) == len(concept.cav_accuracies) == 10
        assert all(score in {k / N for k in range(N + 1)} for score in concept.run_scores)
        assert 0 < concept.p_value <= 1 and concept.significant == (concept.p_value < 0.05)
        assert all(0 <= accuracy <= 1 for accuracy in concept.cav_accuracies) and concept.cav_accuracy > 0.5
        assert np.isfinite(concept.magnitude)
    assert result.config == {
        "model": "vgg-glyphs",
        "dataset": "glyphs",
        "concepts": ["thick strokes", "slanted"],
        "user_concepts": [],
        "target": 0,
        "n_images": N,
        "n_random": 10,
        "seed": 0,
        "layer": "features.20",
        "alpha": 0.05,
        "bonferroni": False,
        "class_images_split": "test",
        "random_sets_split": "train",
    }
    data = json.loads(result.to_json())
    assert data["summary"] == json.loads(json.dumps(result.rows())) and set(data["versions"]) >= {"torch", "captum"}
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [row["concept"] for row in rows] == ["thick strokes", "slanted"] and tuple(rows[0]) == CSV_COLUMNS


def test_user_concepts_join_the_registered_ones(glyphs_result):
    card, result = glyphs_result
    with pytest.raises(ValueError, match="used twice: slanted"):
        run_tcav(card, ["slanted"], 0, n_images=N, extra_concepts={"slanted": torch.zeros(4, 1, 32, 32)})


def test_cli_writes_the_same_csv_and_json(glyphs_result, tmp_path, capsys):
    _, result = glyphs_result
    code = main(
        [
            "tcav",
            "--model",
            "vgg-glyphs",
            "--concepts",
            "thick strokes, slanted",
            "--target",
            "A",
            "--randoms",
            "10",
            "--n",
            str(N),
            "--seed",
            "0",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    assert (tmp_path / "tcav.csv").read_text() == result.to_csv()
    written, expected = json.loads((tmp_path / "tcav.json").read_text()), json.loads(result.to_json())
    assert written == expected
    assert "TCAV for class A of vgg-glyphs at features.20" in capsys.readouterr().out
    assert main(["tcav", "--model", "vgg-glyphs", "--concepts", "slanted", "--target", "AA", "--out", str(tmp_path)]) == 2
    assert "unknown class 'AA'" in capsys.readouterr().err
