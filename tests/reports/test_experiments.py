"""The pinned paper experiments: the registry is consistent, runs are computed once and then read from
their cache (``rerun`` recomputes), Fig. 15's relevance run, and docs/results.md's evaluation sections
rendered from tiny versions of every experiment."""

import dataclasses
import json
import math
import re

import pytest
import torch

import xai_core.reports.experiments as experiments
from xai_core.explainers import build_explainer, is_known_method
from xai_core.metrics.suite import METRICS, EvaluationSettings, draw_sample, parse_pair
from xai_core.models import list_models, load_model
from xai_core.reports.evaluation_report import seed_statistics
from xai_core.reports.experiments import EXPERIMENTS, REPORT_SEEDS, Experiment, RelevanceExperiment, run_experiment, run_relevance
from xai_core.reports.results import render_evaluation_markdown
from xai_core.sftgan.data import STRATEGIES
from xai_core.sftgan.explainer import average_relevance


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_torch_thread):
    """Module scope, so the module-scoped runs below use one thread too."""
    yield


# --- the registry ------------------------------------------------------------------------------------


def test_every_experiment_names_known_methods_metrics_and_pairs():
    models = set(list_models())
    assert set(EXPERIMENTS) == {"symbols", "objects", "extra_regions", "generalisation", "unseen_symbols", "overfitting", "sanity"}
    for name, experiment in EXPERIMENTS.items():
        assert experiment.name == name and experiment.purpose
        assert experiment.methods and all(is_known_method(m) for m in experiment.methods), name
        assert experiment.metrics and all(m in METRICS for m in experiment.metrics), name
        assert experiment.n > 0
        assert len(set(experiment.pairs)) == len(experiment.pairs) and len(set(experiment.methods)) == len(experiment.methods)
        pairs = [parse_pair(text) for text in experiment.pairs]
        for text, pair in zip(experiment.pairs, pairs):
            assert pair.model_id in models and pair.dataset and pair.split in ("train", "test"), text
        assert experiment.seeds == ((0,) if name == "sanity" else REPORT_SEEDS) and REPORT_SEEDS == (0, 1, 2)
        config = experiment.config()
        assert config["pairs"] == [pair.name for pair in pairs] and config["seeds"] == list(experiment.seeds)
        assert config["methods"] == list(experiment.methods) and config["n"] == experiment.n


def test_experiments_fit_their_tables():
    # Table 1 needs masks and the three SFT-GAN methods; generalisation needs generators named by strategy
    assert set(EXPERIMENTS["symbols"].methods) == {"grad_cam", "lsft", "gsft"}
    assert {parse_pair(p).dataset for p in EXPERIMENTS["symbols"].pairs} == set(STRATEGIES["symbols"])
    assert {parse_pair(p).dataset for p in EXPERIMENTS["objects"].pairs} == set(STRATEGIES["objects"])
    for method in EXPERIMENTS["generalisation"].methods:
        assert method == "grad_cam" or method.partition("-")[2] in STRATEGIES
    overfitting = [parse_pair(p) for p in EXPERIMENTS["overfitting"].pairs]
    assert {(p.dataset, p.split) for p in overfitting} == {("shapes_biased", "train")}
    biased = [p for p in overfitting if p.model_id.endswith("shapes_biased")]
    assert 0 < len(biased) < len(overfitting)
    assert EXPERIMENTS["sanity"].metrics == ("sanity_correlation",)


# --- run_experiment: computed once, then cached -------------------------------------------------------

TINY = dataclasses.replace(
    EXPERIMENTS["symbols"], pairs=("vgg-mnist",), methods=("grad_cam", "lsft"), metrics=("dice", "average_drop"), n=3, seeds=(0,)
)


@pytest.fixture
def counted(monkeypatch):
    """Counts the calls of the suite runner that run_experiment uses."""
    calls = []
    real = experiments.run_evaluation

    def run_evaluation(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(experiments, "run_evaluation", run_evaluation)
    return calls


def test_run_experiment_computes_once_then_reads_the_cache(tmp_path, counted):
    first = run_experiment(TINY, root=tmp_path)
    assert len(counted) == 1
    cached = TINY.cache_dir(tmp_path) / "results.json"
    assert cached.parent.name == f"symbols-{TINY.config()['key']}" and cached.is_file()
    assert (cached.parent / "results.csv").is_file() and (cached.parent / "figures" / "dice.html").is_file()
    # 3 images x 2 methods x 2 metrics (Dice of Grad-CAM with itself included)
    assert len(first.rows) == 12
    assert {(r["method"], r["metric"]) for r in first.rows} == {(m, k) for m in ("grad_cam", "lsft") for k in ("dice", "average_drop")}
    assert all(r["value"] == 1.0 for r in first.rows if r["method"] == "grad_cam" and r["metric"] == "dice")
    assert first.config["key"] == TINY.config()["key"]

    second = run_experiment(TINY, root=tmp_path)
    assert len(counted) == 1  # not recomputed
    assert second.rows == first.rows and second.skipped == first.skipped
    assert second.config == json.loads(json.dumps(first.config))

    # the cache is what is read: a doctored file comes back as is ...
    recorded = json.loads(cached.read_text())
    recorded["rows"] = recorded["rows"][:2]
    cached.write_text(json.dumps(recorded))
    assert run_experiment(TINY, root=tmp_path).rows == first.rows[:2] and len(counted) == 1
    # ... until rerun recomputes it (and rewrites the cache)
    third = run_experiment(TINY, rerun=True, root=tmp_path)
    assert len(counted) == 2 and third.rows == first.rows
    assert json.loads(cached.read_text())["rows"] == first.rows


def test_another_configuration_has_another_cache(tmp_path):
    other = dataclasses.replace(TINY, n=2)
    assert other.config()["key"] != TINY.config()["key"]
    assert other.cache_dir(tmp_path) == tmp_path / f"symbols-{other.config()['key']}" != TINY.cache_dir(tmp_path)
    assert dataclasses.replace(TINY, settings=EvaluationSettings(batch_size=7)).config()["key"] != TINY.config()["key"]


# --- run_relevance (Fig. 15) -------------------------------------------------------------------------

RELEVANCE = RelevanceExperiment(pairs=("vgg-mnist",), n=2, seeds=(0, 1))


@pytest.fixture(scope="module")
def relevance_root(tmp_path_factory):
    return tmp_path_factory.mktemp("relevance")


@pytest.fixture(scope="module")
def relevance(relevance_root):
    return run_relevance(RELEVANCE, root=relevance_root)


def test_run_relevance_means_and_stds_over_seeds(relevance):
    assert list(relevance) == ["vgg-mnist@mnist"]
    entry = relevance["vgg-mnist@mnist"]
    assert len(entry["mean"]) == len(entry["std"]) == 8
    assert entry["layers"] == [0, 1, 2, 3, 4, 5, 6, 6]  # 7 conv layers spread over 8 generator slots
    assert entry["images"] == 2 and entry["seeds"] == [0, 1]
    # the same numbers computed directly: per seed, the mean over its images; then mean and std over seeds
    card = load_model("vgg-mnist")
    explainer = build_explainer("lsft", card)
    per_seed = torch.stack(
        [average_relevance(explainer, card.preprocess, draw_sample(card, "mnist", 2, seed).images)[0] for seed in (0, 1)]
    )
    assert entry["mean"] == pytest.approx(per_seed.mean(0).tolist(), rel=1e-5, abs=1e-6)
    assert entry["std"] == pytest.approx(per_seed.std(0).tolist(), rel=1e-4, abs=1e-6)
    assert all(value >= 0 for value in entry["mean"]) and sum(entry["mean"]) > 0


def test_run_relevance_is_cached(relevance, relevance_root, monkeypatch):
    files = list(relevance_root.glob("relevance-*.json"))
    assert [f.name for f in files] == ["relevance-lsft-n2-seeds0_1.json"]
    doctored = {"vgg-mnist@mnist": {**relevance["vgg-mnist@mnist"], "mean": [1.0] * 8}}
    files[0].write_text(json.dumps(doctored))
    assert run_relevance(RELEVANCE, root=relevance_root) == doctored  # read, not recomputed

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr("xai_core.reports.experiments.build_explainer", refuse)
    assert run_relevance(RELEVANCE, root=relevance_root) == doctored
    with pytest.raises(AssertionError, match="recomputed"):
        run_relevance(RELEVANCE, rerun=True, root=relevance_root)
    # same kind, n and seeds (so the same file name) but other pairs: recomputed, not the vgg-mnist figures
    with pytest.raises(AssertionError, match="recomputed"):
        run_relevance(dataclasses.replace(RELEVANCE, pairs=("resnet-mnist",)), root=relevance_root)
    with pytest.raises(AssertionError, match="recomputed"):
        run_relevance(dataclasses.replace(RELEVANCE, pairs=("vgg-mnist", "resnet-mnist")), root=relevance_root)


# --- docs/results.md's evaluation sections from tiny versions of every experiment ----------------------


def tiny(name: str, **changes) -> Experiment:
    return dataclasses.replace(EXPERIMENTS[name], n=2, seeds=(0,), **changes)


TINY_EXPERIMENTS = {
    "symbols": tiny("symbols", pairs=("vgg-mnist",), settings=EvaluationSettings(robustness_images=2, noise_levels=(0.0, 0.1))),
    "objects": tiny("objects", pairs=("vgg-shapes",), settings=EvaluationSettings(perturbation_steps=4)),
    "extra_regions": tiny("extra_regions", pairs=("vgg-mnist",)),
    "generalisation": tiny("generalisation", pairs=("vgg-mnist",)),
    "unseen_symbols": tiny("unseen_symbols", pairs=("vgg-glyphs",)),
    "overfitting": tiny(
        "overfitting", pairs=("vgg-shapes_biased@shapes_biased[train]", "vgg-shapes@shapes_biased[train]"), methods=("grad_cam", "saliency")
    ),
    "sanity": tiny("sanity", pairs=("vgg-mnist",), methods=("grad_cam",), settings=EvaluationSettings(sanity_images=2, sanity_steps=2)),
}


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    assert set(TINY_EXPERIMENTS) == set(EXPERIMENTS)
    root = tmp_path_factory.mktemp("evaluation")
    return {name: run_experiment(experiment, root=root) for name, experiment in TINY_EXPERIMENTS.items()}


@pytest.fixture(scope="module")
def markdown(tiny_results, relevance):
    return render_evaluation_markdown(tiny_results, relevance, dataset_count="### §4.3.3 / Fig. 7: planted\n")


def test_evaluation_markdown_has_every_section(markdown):
    for heading in (
        "Table 1",
        "Table 2",
        "Table 3",
        "§4.3.2 / Fig. 6",
        "§4.3.3 / Fig. 7",
        "Fig. 13",
        "Fig. 15",
        "§4.3.4",
        "§4.3.5",
        "§4.3.6",
        "Sanity check",
    ):
        assert f"### {heading}" in markdown, heading
    assert not re.search(r"\bnan\b", markdown, re.IGNORECASE)  # no missing figure rendered as NaN
    assert "*Run `symbols`: 1 pairs, 2 images per pair and seed" in markdown
    assert "*Run `generalisation`: 1 pairs" in markdown


def test_evaluation_markdown_holds_the_runs_figures(markdown, tiny_results):
    symbols = tiny_results["symbols"].rows
    lsft_dice, _, _ = seed_statistics(symbols, "dice", "lsft")
    assert f"Our LSFT average ({lsft_dice:.4f})" in markdown and "LSFT 0.6588 |" in markdown
    assert markdown.count("| paper (strategy not stated) | LSFT-GAN | 9.95 | 6.82 |") == 1  # Table 3: once, apart from both strategies
    assert "| p=0.0 | p=0.1 |" in markdown  # Fig. 13 over the run's noise levels
    assert "| `vgg-mnist@mnist` | " + " | ".join(f"CGMA {k}" for k in range(8)) not in markdown
    assert "| pair | " + " | ".join(f"CGMA {k}" for k in range(8)) + " |" in markdown
    assert "over\n2 test images per seed; mean ± std over seeds\n0, 1." in markdown
    assert "| Grad-CAM | 1 of 1 |" in markdown or "| Grad-CAM | 0 of 1 |" in markdown  # sanity: one model
    assert "of 2 methods put less of their mass on the object" in markdown  # overfitting: Grad-CAM and Saliency compared
    assert "| `vgg-mnist@mnist` | LSFT-GAN (symbols) | seen | seen |" in markdown
    assert "| `vgg-mnist@mnist` | GSFT-GAN (objects) | **unseen** | seen |" in markdown
    assert "| LSFT-GAN (objects) |" in markdown.partition("### §4.3.5")[2]  # the unseen-symbols table lists every generator
    assert "Not applicable and skipped" not in markdown
    for steps in ("RISE; 4 steps",):
        assert steps in markdown
    for value in (seed_statistics(tiny_results["objects"].rows, "deletion_auc", "lsft")[0],):
        assert not math.isnan(value) and f"{value:.3f} ± 0.000" in markdown
