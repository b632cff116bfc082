"""The command line, run as a user would: ``python -m xai_core --help`` in a subprocess, every other command through
``xai_core.cli.main`` in this process (the ``cli`` fixture), which is what the module entry point calls."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from xai_core import load_dataset


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "xai_core", "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    for command in (
        "datasets",
        "models",
        "train-cnn",
        "predict",
        "reproduce-checkpoints",
        "report-results",
        "train-sftgan",
        "relevance",
        "evaluate",
        "train-gan",
        "tcav",
        "audit-report",
        "survey-demo",
        "survey-create",
        "surveys",
        "survey-status",
        "survey-report",
    ):
        assert command in result.stdout


def test_train_gan_help_describes_every_recipe():
    from xai_core.cli.main import build_parser
    from xai_core.generative.training import RECIPES

    commands = next(action for action in build_parser()._actions if action.dest == "command")
    recipe = next(action for action in commands.choices["train-gan"]._actions if action.dest == "recipe")
    assert list(recipe.choices) == list(RECIPES)
    assert [name for name in RECIPES if f"{name} (" not in recipe.help] == []


def test_predict_mnist_index_prints_true_and_predicted_label(cli):
    result = cli("predict", "--model", "vgg-mnist", "--dataset", "mnist", "--index", "0")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    _, label, _ = load_dataset("mnist", "test")[0]
    assert output["true_label"] == label
    assert output["predicted_label"] == label
    assert len(output["top"]) == 5 and output["top"][0]["probability"] > 0.5


def test_predict_an_image_file_and_refuse_a_bad_one(tmp_path, cli):
    image, label, _ = load_dataset("mnist", "test")[3]
    path = tmp_path / "digit.png"
    Image.fromarray((image[0].numpy() * 255).astype(np.uint8)).save(path)
    result = cli("predict", "--model", "vgg-mnist", "--image", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["predicted_label"] == label

    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = cli("predict", "--model", "vgg-mnist", "--image", str(bad))
    assert result.returncode == 2 and "not an image" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["predict", "--model", "nope", "--dataset", "mnist"], "unknown model"),
        (["predict", "--model", "vgg-mnist", "--dataset", "mnist", "--index", "5000"], "--index must be in 0..999"),
        (["predict", "--model", "vgg-mnist", "--dataset", "folder:/does/not/exist"], "does not exist"),
    ],
)
def test_errors_are_one_clear_line(args, message, cli):
    result = cli(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_datasets_and_models_listings(cli):
    datasets = json.loads(cli("datasets", "--json").stdout)
    assert {row["name"] for row in datasets} >= {"mnist", "glyphs", "shapes", "shapes_biased", "photos", "lfw_subset"}
    models = json.loads(cli("models", "--json").stdout)
    vgg = next(row for row in models if row["id"] == "vgg-mnist")
    assert vgg["test_accuracy"] >= 0.98 and any(row["id"] == "efficientnet_lite0-imagenet" for row in models)


def test_train_cnn_writes_a_loadable_checkpoint(tmp_path, cli):
    result = cli(
        "train-cnn",
        "--dataset",
        "digits",
        "--arch",
        "resnet",
        "--epochs",
        "1",
        "--max-train",
        "256",
        "--id",
        "resnet-digits-small",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["id"] == "resnet-digits-small" and (tmp_path / "resnet-digits-small.safetensors").is_file()
    env = {"XAI_STUDIO_CHECKPOINT_DIRS": str(tmp_path)}
    predicted = cli("predict", "--model", "resnet-digits-small", "--dataset", "digits", "--index", "0", env=env)
    assert predicted.returncode == 0, predicted.stderr


def test_explain_writes_maps_overlays_and_summary(tmp_path, cli):
    result = cli(
        "explain",
        "--model",
        "vgg-mnist",
        "--dataset",
        "mnist",
        "--index",
        "1",
        "--methods",
        "grad_cam",
        "saliency",
        "--target",
        "4",
        "--layers",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["target"] == 4 and set(summary["maps"]) == {"grad_cam", "saliency"}
    grad_cam = np.load(tmp_path / "grad_cam.npy")
    assert grad_cam.shape == (32, 32) and grad_cam.min() >= 0 and grad_cam.max() <= 1
    assert Image.open(tmp_path / "saliency.png").size == (28, 28)
    assert np.load(tmp_path / "layer_gradcams.npy").shape == (7, 32, 32)
    assert np.load(tmp_path / "cgmas.npy").shape == (7, 32, 32)  # 7 conv layers < eta = 8: all of them
    # the CLI's map is the engine's map
    from xai_core import explain, load_model

    card = load_model("vgg-mnist")
    image = load_dataset("mnist", "test")[1][0]
    np.testing.assert_allclose(grad_cam, explain(card, image, ["grad_cam"], 4)["grad_cam"][0, 0].numpy(), atol=1e-6)


def test_explain_refuses_unknown_methods(tmp_path, cli):
    result = cli("explain", "--model", "vgg-mnist", "--dataset", "mnist", "--methods", "magic", "--out", str(tmp_path))
    assert result.returncode == 2 and "unknown method(s) magic" in result.stderr


def test_explain_reports_methods_that_do_not_apply(tmp_path, cli):
    result = cli(
        "explain",
        "--model",
        "mobilenet-mnist",
        "--dataset",
        "mnist",
        "--methods",
        "guided_backprop",
        "grad_cam",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "nn.ReLU" in summary["maps"]["guided_backprop"]["not_applicable"]
    assert (tmp_path / "grad_cam.npy").is_file() and not (tmp_path / "guided_backprop.npy").exists()


def test_train_cnn_refuses_to_shadow_a_shipped_id(tmp_path, cli):
    result = cli("train-cnn", "--dataset", "digits", "--arch", "resnet", "--out", str(tmp_path))
    assert result.returncode == 2 and "resnet-digits is a shipped id" in result.stderr


def test_train_sftgan_tiny_run_writes_a_usable_generator(tmp_path, cli):
    result = cli(
        "train-sftgan",
        "--kind",
        "gsft",
        "--strategy",
        "symbols",
        "--epochs",
        "1",
        "--per-pair",
        "24",
        "--channels",
        "8",
        "--id",
        "tiny-gsft",
        "--out",
        str(tmp_path / "out"),
        "--run-dir",
        str(tmp_path / "run"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["id"] == "tiny-gsft" and summary["epochs_run"] == 1 and 0 <= summary["val_dice"] <= 1
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 9  # 3 datasets x 3 CNNs
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"state.pt", "history.json", "loss_curves.png"}
    refused = cli("train-sftgan", "--kind", "lsft", "--strategy", "symbols", "--out", str(tmp_path))
    assert refused.returncode == 2 and "lsft-symbols is a shipped id" in refused.stderr


def test_relevance_of_one_image_writes_blackout_maps(tmp_path, cli):
    result = cli("relevance", "--model", "vgg-mnist", "--dataset", "mnist", "--index", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    output = json.loads((tmp_path / "relevance.json").read_text())
    assert len(output["relevance"]) == 8 and all(value >= 0 for value in output["relevance"])
    assert sorted(p.name for p in tmp_path.glob("blackout-cgma*.png")) == [f"blackout-cgma{k}.png" for k in range(8)]
    from xai_core import load_model
    from xai_core.explainers import build_explainer
    from xai_core.sftgan import explain_relevance

    card = load_model("vgg-mnist")
    expected = explain_relevance(build_explainer("lsft", card), card.preprocess(load_dataset("mnist", "test")[2][0])).relevance[0]
    np.testing.assert_allclose(output["relevance"], expected.numpy(), atol=1e-3)


def test_relevance_average_over_a_pair(cli):
    result = cli("relevance", "--model", "resnet-shapes", "--generator", "gsft", "--dataset", "shapes", "--average", "24", "--quiet")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["images"] == 24 and len(output["mean_relevance"]) == len(output["std_relevance"]) == 8
    missing = cli("relevance", "--model", "vgg-mnist", "--image", "x.png", "--average", "5")
    assert missing.returncode == 2 and "--average needs --dataset" in missing.stderr


def test_explain_includes_the_sftgan_maps(tmp_path, cli):
    result = cli("explain", "--model", "vgg-shapes", "--dataset", "shapes", "--methods", "lsft", "gsft", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    for method in ("lsft", "gsft"):
        saliency = np.load(tmp_path / f"{method}.npy")
        assert saliency.shape == (48, 48) and saliency.min() >= 0 and saliency.max() <= 1


# --- evaluate (in process, through main) ---------------------------------------------------------

EVALUATE = [
    "evaluate",
    "--pairs",
    "vgg-mnist",
    "--methods",
    "grad_cam",
    "saliency",
    "--metrics",
    "average_drop",
    "dice",
    "--n",
    "3",
    "--seeds",
    "0,1",
    "--quiet",
]


@pytest.fixture
def restore_threads():
    """``--threads`` sets torch's intra-op threads for the whole process: put them back afterwards."""
    import torch

    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_evaluate_writes_tidy_rows_summary_json_and_figures(tmp_path, capsys, restore_threads):
    import csv

    from xai_core.cli import main
    from xai_core.metrics.suite import CSV_COLUMNS, SUMMARY_COLUMNS, EvaluationSettings, rows_to_csv, run_evaluation

    out = tmp_path / "run"
    assert main(EVALUATE + ["--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    # 3 images x 2 seeds x (average drop and Dice for Saliency + average drop and Dice for Grad-CAM, its Dice with itself)
    expected_rows = 3 * 2 * (2 + 2)
    assert f"wrote {expected_rows} rows to {out / 'results.csv'} (summary, JSON and 2 figures beside it)" in printed

    with open(out / "results.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames) == CSV_COLUMNS and len(rows) == expected_rows
    assert {(r["method"], r["metric"]) for r in rows} == {(m, k) for m in ("grad_cam", "saliency") for k in ("average_drop", "dice")}
    assert {r["seed"] for r in rows} == {"0", "1"} and {r["pair"] for r in rows} == {"vgg-mnist@mnist"}
    assert all(
        len([r for r in rows if r["seed"] == s and r["method"] == m and r["metric"] == k]) == 3
        for s in ("0", "1")
        for m in ("grad_cam", "saliency")
        for k in ("average_drop", "dice")
    )
    assert all(float(r["value"]) == 1.0 for r in rows if r["method"] == "grad_cam" and r["metric"] == "dice")
    # the CLI's rows are the engine's rows
    engine = run_evaluation(["vgg-mnist"], ["grad_cam", "saliency"], ["average_drop", "dice"], 3, [0, 1], EvaluationSettings())
    assert (out / "results.csv").read_text() == rows_to_csv(engine.rows)

    with open(out / "summary.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        summary = list(reader)
    assert tuple(reader.fieldnames) == SUMMARY_COLUMNS and len(summary) == 4
    for entry in summary:
        per_seed = [
            np.mean(
                [float(r["value"]) for r in rows if r["method"] == entry["method"] and r["metric"] == entry["metric"] and r["seed"] == s]
            )
            for s in ("0", "1")
        ]
        assert float(entry["mean"]) == pytest.approx(np.mean(per_seed))
        assert float(entry["std"]) == pytest.approx(np.std(per_seed, ddof=1), abs=1e-12)
        assert (entry["seeds"], entry["images"]) == ("2", "3")
    for metric in ("average_drop", "dice"):
        for method in ("grad_cam", "saliency"):
            line = next(text for text in printed.splitlines() if method in text and metric in text)
            entry = next(e for e in summary if e["method"] == method and e["metric"] == metric)
            assert f"{float(entry['mean']):.4f} +- {float(entry['std']):.4f}" in line

    recorded = json.loads((out / "results.json").read_text())
    assert recorded["config"]["pairs"] == ["vgg-mnist@mnist"] and recorded["config"]["seeds"] == [0, 1]
    assert recorded["config"]["methods"] == ["grad_cam", "saliency"] and recorded["config"]["n"] == 3
    assert len(recorded["rows"]) == expected_rows and len(recorded["summary"]) == 4 and recorded["skipped"] == []
    assert sorted(p.name for p in (out / "figures").glob("*.html")) == ["average_drop.html", "dice.html"]
    assert "plotly" in (out / "figures" / "dice.html").read_text().lower()


def test_evaluate_twice_gives_identical_rows(tmp_path, restore_threads):
    from xai_core.cli import main

    for name in ("a", "b"):
        assert main(EVALUATE + ["--out", str(tmp_path / name), "--threads", "1"]) == 0
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()


@pytest.mark.parametrize("seeds,message", [("0,a", "seeds must be comma-separated integers, got '0,a'"), (",", "give at least one seed")])
def test_evaluate_refuses_bad_seeds(tmp_path, capsys, seeds, message):
    from xai_core.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--pairs", "vgg-mnist", "--seeds", seeds, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--seeds" in err and message in err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("option,name", [("--methods", "magic"), ("--metrics", "beauty")])
def test_evaluate_refuses_unknown_methods_and_metrics(tmp_path, capsys, option, name):
    from xai_core.cli import main

    assert main(["evaluate", "--pairs", "vgg-mnist", option, name, "--n", "2", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"error: unknown method or metric: {name}" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "flags, kind", [([], "checkpoint"), (["--generators"], "generator"), (["--gans"], "GAN"), (["--captioners"], "captioner")]
)
def test_reproduce_names_what_matched_nothing(flags, kind, cli):
    result = cli("reproduce-checkpoints", *flags, "--only", "no-such-id")
    assert result.returncode == 1
    assert f"no shipped {kind} matches ['no-such-id']" in result.stderr
