"""The command line on a folder of unlabelled photos (``--dataset folder:<path>``), with a zoo model and with a
registered torchvision model at 224 px (random weights written by the test): explain-dataset, evaluate and
survey-create explain the model's prediction, and no accuracy-like figure is made up."""

import csv
import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import load_file, save_file

from xai_core.cli import main
from xai_core.data import UNLABELLED_NOTE, load_dataset
from xai_core.models.sources import add_model
from xai_core.survey.repository import SurveyStore


@pytest.fixture
def photos(tmp_path) -> str:
    """``folder:`` name of 10 unlabelled photos (noise, odd sizes); its test split holds 2."""
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(5)
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (40 + 3 * i, 50, 3), dtype=np.uint8)).save(root / f"IMG_{i:03d}.png")
    return f"folder:{root}"


@pytest.fixture
def user_model(tmp_path, monkeypatch) -> str:
    """A torchvision mobilenet_v3_small (3 classes, random seeded weights, 224x224) registered like a user's model."""
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(num_classes=3).eval()
    weights = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    classes = tmp_path / "classes.txt"
    classes.write_text("healthy\nrust\nscab\n")
    out = tmp_path / "registered"
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(out))
    add_model("leaf-net", "torchvision:mobilenet_v3_small", weights, classes, out_dir=out)
    return "leaf-net"


def test_explain_dataset_on_unlabelled_photos_writes_no_labels_and_no_accuracy(photos, user_model, tmp_path, capsys):
    out = tmp_path / "explained"
    args = ["explain-dataset", "--model", user_model, "--dataset", photos, "--methods", "grad_cam", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert '"accuracy": "n/a (unlabelled)"' in capsys.readouterr().out
    with open(out / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    test = load_dataset(photos, "test")
    assert [row["file"] for row in rows] == test.info["files"] and len(rows) == 2
    assert all(row["label"] == "" and row["prediction"] in {"0", "1", "2"} for row in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["labelled"], summary["target"], summary["accuracy"]) == (False, "prediction", UNLABELLED_NOTE)
    assert load_file(str(out / "maps.safetensors"))["map_grad_cam"].shape == (2, 1, 224, 224)


def test_explain_dataset_on_the_models_own_labelled_data_gives_its_accuracy(tmp_path, capsys):
    out = tmp_path / "mnist"
    assert main(["explain-dataset", "--model", "vgg-mnist", "--dataset", "mnist", "--n", "20", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["labelled"] is True and 0.9 <= summary["accuracy"] <= 1.0


def test_evaluate_a_registered_model_on_unlabelled_photos(photos, user_model, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["evaluate", "--pairs", user_model, "--dataset", photos, "--methods", "grad_cam", "saliency"]
    assert main([*args, "--metrics", "average_drop", "dice", "pointing_game", "--n", "2", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    pair = f"{user_model}@{photos}"
    assert f"{pair}: the targets are the model's predictions; accuracy {UNLABELLED_NOTE}" in printed
    recorded = json.loads((out / "results.json").read_text())
    assert recorded["config"]["pairs"] == [pair] and recorded["targets"] == {pair: {"source": "prediction", "labelled": False}}
    assert {(row["method"], row["metric"]) for row in recorded["rows"]} == {
        (method, metric) for method in ("grad_cam", "saliency") for metric in ("average_drop", "dice")
    }  # the photos have no masks: no pointing game


def test_evaluate_a_model_without_data_asks_for_a_dataset(user_model, capsys):
    assert main(["evaluate", "--pairs", user_model, "--methods", "grad_cam", "--out", "unused", "--quiet"]) == 2
    assert "leaf-net records no dataset of its own" in capsys.readouterr().err


def test_survey_create_from_unlabelled_photos(photos, user_model, tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'surveys.sqlite'}"
    args = ["survey-create", "--database", database, "--model", user_model, "--dataset", photos, "--split", "train"]
    assert main([*args, "--methods", "grad_cam", "saliency", "--questions", "3", "--attention-checks", "0", "--quiet"]) == 0
    code = json.loads(capsys.readouterr().out.split("\nopen it with")[0])["code"]
    store = SurveyStore(database)
    assert store.survey(code).dataset == photos
    sources = [stimulus.details["source"] for stimulus in store.stimuli(code)]
    train_files = load_dataset(photos, "train").info["files"]
    assert len(sources) == 3 and all(source.startswith(f"{photos}/train#") for source in sources)
    assert all(source.endswith(")") and source.rsplit("(", 1)[1][:-1] in train_files for source in sources)
    assert {stimulus.details["prediction"] for stimulus in store.stimuli(code)} <= {"healthy", "rust", "scab"}
    store.dispose()


def test_predict_an_unlabelled_photo_has_no_true_class(photos, capsys):
    assert main(["predict", "--model", "vgg-mnist", "--dataset", photos, "--index", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["true_label"] is None and result["true_class"] is None and result["source"] == f"{photos}/test[1]"
