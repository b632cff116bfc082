"""The metric suite on unlabelled images (a folder of photos): the model's prediction is the target, the metrics that
need no label run, mask metrics are skipped, and the run records that its targets are predictions."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from xai_core.metrics import suite
from xai_core.metrics.suite import draw_sample, parse_pair, results_json, run_evaluation
from xai_core.models import load_model


@pytest.fixture
def photos(tmp_path) -> str:
    """``folder:`` name of 10 unlabelled noise photos of odd sizes (2 of them in the test split)."""
    rng = np.random.default_rng(3)
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    return f"folder:{tmp_path}"


def test_the_targets_of_unlabelled_images_are_the_models_predictions(photos):
    card = load_model("vgg-mnist")
    sample = draw_sample(card, photos, n=5, seed=0, split="train")
    assert sample.target_source == "prediction" and sample.labelled is False and len(sample.indices) == 5
    with torch.inference_mode():
        predicted = card.model(card.preprocess(sample.images)).argmax(dim=1)
    assert torch.equal(sample.targets, predicted) and bool((sample.targets >= 0).all())
    # the model's own labelled data keeps its true labels
    own = draw_sample(card, "mnist", n=3, seed=0)
    assert own.target_source == "label" and own.labelled is True


def test_the_suite_runs_on_an_unlabelled_folder_and_says_its_targets_are_predictions(photos):
    metrics = ["average_drop", "dice", "deletion_auc", "pointing_game"]
    settings = suite.EvaluationSettings(perturbation_steps=4)
    result = run_evaluation([f"vgg-mnist@{photos}[train]"], ["grad_cam", "saliency"], metrics, n=3, settings=settings)
    pair = f"vgg-mnist@{photos}[train]"
    assert result.targets == {pair: {"source": "prediction", "labelled": False}}
    assert {row["metric"] for row in result.rows} == {"average_drop", "dice", "deletion_auc"}  # no masks: no pointing game
    assert len(result.rows) == 2 * 3 * 3 and all(np.isfinite(row["value"]) for row in result.rows)
    assert all(0 <= row["value"] <= 100 for row in result.rows if row["metric"] == "average_drop")
    assert json.loads(results_json(result))["targets"] == result.targets


def test_a_model_registered_without_its_data_needs_a_dataset_named(monkeypatch, photos):
    monkeypatch.setattr(suite, "model_info", lambda model_id: {"id": model_id, "dataset": ""})
    with pytest.raises(ValueError, match="my-model records no dataset of its own .* e.g. my-model@folder:/path/to/images"):
        parse_pair("my-model")
    assert parse_pair(f"my-model@{photos}").dataset == photos
