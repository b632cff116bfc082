"""The evaluation suite on the shipped "vgg-mnist" model (CPU, a handful of images): tidy rows,
determinism, agreement with the functional API, summaries and the files it writes."""

import csv
import json
import math

import pytest
import torch

from xai_core.metrics import average_drop, deletion_auc, dice, insertion_auc, localisation_rates, win_rate
from xai_core.metrics.sanity import layers_in_execution_order
from xai_core.metrics.suite import (
    CSV_COLUMNS,
    METRICS,
    SUMMARY_COLUMNS,
    EvaluationPair,
    EvaluationResult,
    EvaluationSettings,
    draw_sample,
    evaluation_config,
    load_sanity_verdicts,
    method_map_function,
    parse_pair,
    run_evaluation,
    sanity_verdicts,
    summarise,
    write_sanity_verdicts,
)
from xai_core.models import load_model
from xai_core.reports.evaluation_report import write_evaluation

SMALL = EvaluationSettings(robustness_images=3, sanity_images=2, sanity_steps=2, noise_levels=(0.0, 0.1))
METHODS = ["grad_cam", "saliency"]
N = 6
SEEDS = [0, 1]
PER_IMAGE = {name for name, metric in METRICS.items() if not metric.level_name}
MASK_METRICS = {name for name, metric in METRICS.items() if metric.needs_mask}
# what a method adds to the reference (Grad-CAM), judged by Saliency: neither of METHODS has such a metric
EXTRA_REGION = {"extra_region_size", "extra_region_saliency", "extra_region_baseline"}


def evaluate(pairs=("vgg-mnist",), n=N, seeds=SEEDS, **kwargs):
    return run_evaluation(list(pairs), METHODS, n=n, seeds=seeds, settings=SMALL, **kwargs)


@pytest.fixture(scope="module")
def card():
    return load_model("vgg-mnist")


@pytest.fixture(scope="module")
def result():
    return evaluate()


def select(rows, **conditions):
    return [row for row in rows if all(row[key] == value for key, value in conditions.items())]


# --- rows -----------------------------------------------------------------------------------


def test_rows_follow_the_tidy_schema(result):
    assert CSV_COLUMNS == ("pair", "model", "dataset", "split", "seed", "method", "metric", "level", "image", "value")
    assert result.rows
    for row in result.rows:
        assert set(row) == set(CSV_COLUMNS) and len(row) == len(CSV_COLUMNS)
        assert (row["pair"], row["model"], row["dataset"], row["split"]) == ("vgg-mnist@mnist", "vgg-mnist", "mnist", "test")
        assert row["seed"] in SEEDS and row["method"] in METHODS and row["metric"] in METRICS
        assert isinstance(row["image"], int) and isinstance(row["value"], float) and math.isfinite(row["value"])
        assert isinstance(row["level"], str)
        assert (row["level"] == "") == (row["metric"] in PER_IMAGE)


def test_rows_cover_every_image_method_metric_and_level(result, card):
    # mnist has masks, so every metric applies; win_rate only to the non-reference method
    assert {row["metric"] for row in select(result.rows, method="saliency")} == set(METRICS) - EXTRA_REGION
    assert {row["metric"] for row in select(result.rows, method="grad_cam")} == set(METRICS) - {"win_rate"} - EXTRA_REGION
    cascade = [name for name, _ in reversed(layers_in_execution_order(card.model, torch.zeros(1, 1, 32, 32)))]
    for seed in SEEDS:
        images = [row["image"] for row in select(result.rows, seed=seed, method="grad_cam", metric="average_drop")]
        assert len(images) == N == len(set(images)) and images == sorted(images)  # sorted test-set indices
        for method in METHODS:
            for metric in PER_IMAGE - EXTRA_REGION - ({"win_rate"} if method == "grad_cam" else set()):
                assert [row["image"] for row in select(result.rows, seed=seed, method=method, metric=metric)] == images
            for metric in ("noise_stability", "noise_background_error"):  # first 3 images x 2 levels
                rows = select(result.rows, seed=seed, method=method, metric=metric)
                assert [(row["image"], row["level"]) for row in rows] == [(i, level) for i in images[:3] for level in ("0.0", "0.1")]
            # first 2 images x 2 steps: the output layer, then the fully random model (down to the first conv)
            rows = select(result.rows, seed=seed, method=method, metric="sanity_correlation")
            assert [(row["image"], row["level"]) for row in rows] == [(i, level) for i in images[:2] for level in (cascade[0], cascade[-1])]
    assert (cascade[0], cascade[-1]) == ("classifier.4", "features.0")
    # the two seeds draw different images
    assert {r["image"] for r in select(result.rows, seed=0)} != {r["image"] for r in select(result.rows, seed=1)}


def test_rows_are_deterministic_and_independent_of_the_other_seeds(result):
    # the same call again, with seed 1 alone: each seed's rows do not depend on the other seeds in the run
    again = evaluate(seeds=[1])
    assert again.rows == select(result.rows, seed=1)
    assert again.rows and again.skipped == [] == result.skipped


def test_reference_method_agrees_with_itself(result):
    assert select(result.rows, method="grad_cam", metric="win_rate") == []
    assert [row["value"] for row in select(result.rows, method="grad_cam", metric="dice")] == [1.0] * (N * len(SEEDS))
    assert {row["value"] for row in select(result.rows, method="saliency", metric="win_rate")} <= {0.0, 100.0}
    # a clean map is perfectly stable
    stability = [row["value"] for row in select(result.rows, metric="noise_stability", level="0.0")]
    assert stability == pytest.approx([1.0] * len(stability), abs=1e-12) and len(stability) == 3 * 2 * 2


def test_metric_values_are_in_range_and_consistent(result):
    for row in result.rows:
        metric, value = row["metric"], row["value"]
        if metric in ("increase_in_confidence", "win_rate", "pointing_game"):
            assert value in ({0.0, 100.0} if metric != "pointing_game" else {0.0, 1.0})
        elif metric in ("average_drop", "average_increase"):
            assert 0.0 <= value <= 100.0
        elif metric == "noise_empty_maps":
            assert value in (0.0, 1.0)
        elif metric in ("sanity_correlation", "noise_stability"):
            assert -1.0 - 1e-9 <= value <= 1.0 + 1e-9
        else:
            assert 0.0 <= value <= 1.0 + 1e-9
    for seed in SEEDS:
        for method in METHODS:

            def values(metric):
                return [row["value"] for row in select(result.rows, seed=seed, method=method, metric=metric)]

            assert [tp + fn for tp, fn in zip(values("tp_rate"), values("fn_rate"))] == pytest.approx([1.0] * N)
            assert [tn + fp for tn, fp in zip(values("tn_rate"), values("fp_rate"))] == pytest.approx([1.0] * N)


def test_rows_match_the_functional_api(result, card):
    seed = 1
    sample = draw_sample(card, "mnist", N, seed)
    assert sample.target_source == "label"
    assert sample.images.shape == (N, 1, 32, 32) and sample.masks.shape == (N, 1, 32, 32) and sample.masks.dtype == torch.bool
    maps = {method: method_map_function(card, method, SMALL.batch_size, seed)(sample.images, sample.targets) for method in METHODS}

    def values(method, metric):
        rows = select(result.rows, seed=seed, method=method, metric=metric)
        assert [row["image"] for row in rows] == sample.indices
        return [row["value"] for row in rows]

    for method in METHODS:
        m = maps[method]
        assert sum(values(method, "average_drop")) / N == pytest.approx(average_drop(card, sample.images, m, sample.targets))
        assert values(method, "deletion_auc") == pytest.approx(
            deletion_auc(card, sample.images, m, sample.targets, SMALL.perturbation_steps).tolist()
        )
        assert values(method, "insertion_auc") == pytest.approx(
            insertion_auc(card, sample.images, m, sample.targets, SMALL.perturbation_steps).tolist()
        )
        assert values(method, "tp_rate") == pytest.approx(localisation_rates(m, sample.masks)["tp_rate"].tolist())
    assert values("saliency", "dice") == pytest.approx(dice(maps["saliency"], maps["grad_cam"]).tolist())
    assert sum(values("saliency", "win_rate")) / N == pytest.approx(
        win_rate(card, sample.images, maps["saliency"], maps["grad_cam"], sample.targets)
    )


def test_mask_metrics_are_skipped_on_data_without_masks(card):
    progress = []
    photos = evaluate(["vgg-mnist@photos"], n=4, seeds=[0], on_progress=lambda fraction, message: progress.append(fraction))
    assert {row["pair"] for row in photos.rows} == {"vgg-mnist@photos"}
    assert {row["metric"] for row in photos.rows} == set(METRICS) - MASK_METRICS - EXTRA_REGION
    assert {row["metric"] for row in select(photos.rows, method="grad_cam")} == set(METRICS) - MASK_METRICS - {"win_rate"} - EXTRA_REGION
    assert len(select(photos.rows, method="saliency", metric="average_drop")) == 4
    # one step for the reference maps, one per method
    assert progress == pytest.approx([1 / 3, 2 / 3, 1.0])
    # 224 px RGB photos are resized to the model's 32x32 grey input; the targets are the model's predictions
    sample = draw_sample(card, "photos", 4, 0)
    assert sample.masks is None and sample.target_source == "prediction"
    assert sample.images.shape == (4, 1, 32, 32)
    with torch.inference_mode():
        assert torch.equal(sample.targets, card.model(card.preprocess(sample.images)).argmax(dim=1))


def test_unknown_method_or_metric_raises_key_error():
    with pytest.raises(KeyError, match="no_such_method"):
        run_evaluation(["vgg-mnist"], ["no_such_method"], n=2)
    with pytest.raises(KeyError, match="no_such_metric"):
        run_evaluation(["vgg-mnist"], ["grad_cam"], metrics=["average_drop", "no_such_metric"], n=2)


def test_parse_pair():
    assert parse_pair("vgg-mnist") == EvaluationPair("vgg-mnist", "mnist")
    assert parse_pair("vgg-mnist").name == "vgg-mnist@mnist"
    assert parse_pair("vgg-mnist@digits") == EvaluationPair("vgg-mnist", "digits")
    assert parse_pair(" resnet-glyphs@photos ") == EvaluationPair("resnet-glyphs", "photos")
    with pytest.raises(ValueError, match="empty model id"):
        parse_pair("@mnist")
    # a split in brackets; the test split is the default and is left out of the name
    train = parse_pair("vgg-shapes_biased@shapes_biased[train]")
    assert train == EvaluationPair("vgg-shapes_biased", "shapes_biased", "train")
    assert train.name == "vgg-shapes_biased@shapes_biased[train]"
    assert parse_pair("vgg-mnist@mnist[test]") == parse_pair("vgg-mnist") and parse_pair("vgg-mnist").split == "test"
    with pytest.raises(ValueError, match="split must be train or test"):
        parse_pair("vgg-mnist@mnist[validation]")


def test_methods_undefined_on_a_model_are_skipped_and_recorded():
    # Guided Backprop needs nn.ReLU; the MobileNet uses ReLU6
    result = run_evaluation(
        ["mobilenet-mnist"], ["grad_cam", "guided_backprop"], metrics=["average_drop"], n=2, seeds=[0, 1], settings=SMALL
    )
    assert {row["method"] for row in result.rows} == {"grad_cam"} and len(result.rows) == 4
    assert len(result.skipped) == 1  # recorded once, not once per seed
    assert result.skipped[0]["pair"] == "mobilenet-mnist@mnist" and result.skipped[0]["method"] == "guided_backprop"
    assert "ReLU" in result.skipped[0]["reason"]


def test_evaluation_config_records_the_run(result):
    config = result.config
    assert config["pairs"] == ["vgg-mnist@mnist"] and config["methods"] == METHODS and config["metrics"] == list(METRICS)
    assert config["n"] == N and config["seeds"] == SEEDS
    assert config["settings"]["noise_levels"] == (0.0, 0.1) and config["settings"]["sanity_steps"] == 2
    pairs = [parse_pair("vgg-mnist")]
    key = evaluation_config(pairs, METHODS, list(METRICS), N, SEEDS, SMALL)["key"]
    assert key == config["key"] and len(key) == 16
    assert evaluation_config(pairs, METHODS, list(METRICS), N + 1, SEEDS, SMALL)["key"] != key
    assert evaluation_config(pairs, METHODS, list(METRICS), N, SEEDS, EvaluationSettings())["key"] != key


# --- summaries --------------------------------------------------------------------------------


def row(seed, value, metric="average_drop", level="", method="grad_cam", image=0):
    return {
        "pair": "m@d",
        "model": "m",
        "dataset": "d",
        "seed": seed,
        "method": method,
        "metric": metric,
        "level": level,
        "image": image,
        "value": value,
    }


def test_summarise_means_over_images_then_mean_and_sample_std_over_seeds():
    rows = [
        row(0, 1.0),
        row(0, 2.0),
        row(0, 3.0),  # seed 0: mean 2
        row(1, 4.0),
        row(1, 6.0),  # seed 1: mean 5
        row(2, 5.0),  # seed 2: mean 5
        row(0, 0.2, "noise_stability", "0.1"),
        row(0, 0.4, "noise_stability", "0.1"),  # one seed: std 0
        row(0, 7.0, method="saliency"),
    ]
    summary = summarise(rows)
    assert [tuple(entry) for entry in summary] == [SUMMARY_COLUMNS] * 3
    by_key = {(s["method"], s["metric"], s["level"]): s for s in summary}
    drop = by_key[("grad_cam", "average_drop", "")]
    # over seeds: mean (2 + 5 + 5) / 3 = 4; sample std sqrt(((2-4)^2 + 1^2 + 1^2) / 2) = sqrt(3)
    assert drop["mean"] == pytest.approx(4.0) and drop["std"] == pytest.approx(math.sqrt(3))
    assert (drop["seeds"], drop["images"], drop["pair"]) == (3, 3, "m@d")
    noise = by_key[("grad_cam", "noise_stability", "0.1")]
    assert (noise["mean"], noise["std"], noise["seeds"], noise["images"]) == (pytest.approx(0.3), 0.0, 1, 2)
    assert by_key[("saliency", "average_drop", "")]["mean"] == 7.0
    assert summarise([]) == []


def test_summary_of_a_run_and_its_sanity_verdicts(result):
    summary = result.summary()
    entry = next(s for s in summary if s["method"] == "grad_cam" and s["metric"] == "average_drop")
    per_seed = [sum(r["value"] for r in select(result.rows, seed=s, method="grad_cam", metric="average_drop")) / N for s in SEEDS]
    assert entry["mean"] == pytest.approx(sum(per_seed) / 2)
    assert entry["std"] == pytest.approx(abs(per_seed[0] - per_seed[1]) / math.sqrt(2))
    assert (entry["seeds"], entry["images"]) == (2, N)
    verdicts = sanity_verdicts(summary)
    assert set(verdicts) == {("vgg-mnist@mnist", "grad_cam"), ("vgg-mnist@mnist", "saliency")}
    for (_pair, method), verdict in verdicts.items():
        final = next(s for s in summary if s["method"] == method and s["metric"] == "sanity_correlation" and s["level"] == "features.0")
        assert verdict == {"final_correlation": final["mean"], "passed": final["mean"] < 0.5}
    hand_made = summarise(
        [
            row(0, 0.9, "sanity_correlation", "head"),
            row(0, 0.1, "sanity_correlation", "conv"),
            row(0, 0.6, "sanity_correlation", "head", "saliency"),
            row(0, 0.7, "sanity_correlation", "conv", "saliency"),
        ]
    )
    assert sanity_verdicts(hand_made) == {
        ("m@d", "grad_cam"): {"final_correlation": 0.1, "passed": True},
        ("m@d", "saliency"): {"final_correlation": 0.7, "passed": False},
    }
    assert sanity_verdicts(hand_made, threshold=0.05)[("m@d", "grad_cam")]["passed"] is False


# --- files ------------------------------------------------------------------------------------


def test_write_evaluation_writes_tables_json_and_figures(result, tmp_path):
    out = tmp_path / "evaluation"
    written = write_evaluation(result, out)
    assert written[:3] == [out / "results.csv", out / "summary.csv", out / "results.json"]
    assert all(path.is_file() for path in written)
    with (out / "results.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        table = list(reader)
    assert len(table) == len(result.rows)
    assert table[0] == {key: str(value) for key, value in result.rows[0].items()}
    assert table[-1] == {key: str(value) for key, value in result.rows[-1].items()}  # a curve row
    assert [float(r["value"]) for r in table] == [r["value"] for r in result.rows]
    with (out / "summary.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS
        assert len(list(reader)) == len(result.summary())
    saved = json.loads((out / "results.json").read_text())
    assert {"config", "versions", "summary", "sanity", "skipped", "rows"} <= set(saved)
    assert saved["config"]["key"] == result.config["key"] and saved["config"]["seeds"] == SEEDS
    assert saved["rows"] == result.rows
    assert saved["versions"]["torch"] == torch.__version__
    verdicts = sanity_verdicts(result.summary())
    assert sorted((v["pair"], v["method"]) for v in saved["sanity"]) == sorted(verdicts)
    for entry in saved["sanity"]:
        assert entry["passed"] == verdicts[(entry["pair"], entry["method"])]["passed"]
        assert entry["final_correlation"] == pytest.approx(verdicts[(entry["pair"], entry["method"])]["final_correlation"])
    figures = sorted(path.name for path in written[3:])
    assert figures == sorted(f"{name}.html" for name in METRICS if name not in EXTRA_REGION)
    assert all(path.parent == out / "figures" and path.stat().st_size > 0 for path in written[3:])
    assert "Average drop" in (out / "figures" / "average_drop.html").read_text()  # the metric's label as title


def test_sanity_verdicts_round_trip(result, tmp_path):
    path = tmp_path / "nested" / "sanity.json"
    assert load_sanity_verdicts(path) == {}  # nothing recorded yet
    assert write_sanity_verdicts(result, path) == path
    loaded = load_sanity_verdicts(path)
    assert set(loaded) == {("vgg-mnist", "grad_cam"), ("vgg-mnist", "saliency")}
    verdicts = sanity_verdicts(result.summary())
    for (model, method), entry in loaded.items():
        expected = verdicts[("vgg-mnist@mnist", method)]
        assert entry["model"] == model and entry["method"] == method and entry["dataset"] == "mnist"
        assert entry["passed"] == expected["passed"]
        assert entry["final_correlation"] == round(expected["final_correlation"], 4)
        assert entry["images"] == SMALL.sanity_images and entry["seeds"] == SEEDS
    assert json.loads(path.read_text())["threshold"] == 0.5


def test_metric_classes_follow_the_contract():
    assert list(METRICS) == [
        "average_drop",
        "increase_in_confidence",
        "average_increase",
        "win_rate",
        "deletion_auc",
        "insertion_auc",
        "dice",
        "extra_region_size",
        "extra_region_saliency",
        "extra_region_baseline",
        "tp_rate",
        "tn_rate",
        "fp_rate",
        "fn_rate",
        "pointing_game",
        "energy_pointing_game",
        "background_error",
        "noise_background_error",
        "noise_background_share",
        "noise_map_mass",
        "noise_empty_maps",
        "noise_stability",
        "sanity_correlation",
    ]
    for name, metric in METRICS.items():
        assert metric.name == name and metric.label and metric.family
        assert metric.level_name in ("", "noise", "layer")
    lower_is_better = {name for name, metric in METRICS.items() if not metric.higher_is_better}
    assert lower_is_better == {
        "average_drop",
        "deletion_auc",
        "fp_rate",
        "fn_rate",
        "background_error",
        "noise_background_error",
        "noise_background_share",
        "noise_empty_maps",
        "sanity_correlation",
    }
    assert {
        "tp_rate",
        "tn_rate",
        "fp_rate",
        "fn_rate",
        "pointing_game",
        "energy_pointing_game",
        "background_error",
        "noise_background_error",
        "noise_background_share",
    } == MASK_METRICS


def test_an_empty_result_summarises_to_nothing():
    result = EvaluationResult([], {"settings": {"sanity_threshold": 0.5}})
    assert result.summary() == [] and sanity_verdicts(result.summary()) == {}
