"""A short seeded training run: it learns, writes a manifest entry, and is deterministic."""

import torch

from xai_core.models import TrainConfig, load_state_dict_file, train_cnn
from xai_core.models.checkpoints import read_manifest


def test_short_training_run_learns_and_is_reproducible(tmp_path):
    config = TrainConfig("digits", "vgg", seed=7, epochs=3, batch_size=64, max_train=640)
    first = train_cnn(config, out_dir=tmp_path / "a", progress=False)
    second = train_cnn(config, out_dir=tmp_path / "b", progress=False)

    assert first["metrics"]["test_accuracy"] > 0.6  # chance is 0.1
    assert first["sha256"] == second["sha256"]  # same seed, same bytes
    assert [e["id"] for e in read_manifest(tmp_path / "a")] == ["vgg-digits"]
    assert first["command"] == (
        "python -m xai_core train-cnn --dataset digits --arch vgg --seed 7 --epochs 3 --batch-size 64 "
        f"--lr 0.002 --patience 3 --max-train 640 --out {tmp_path / 'a'}"
    )
    state = load_state_dict_file(tmp_path / "a" / first["file"], expected_sha256=first["sha256"])
    assert all(torch.isfinite(t.float()).all() for t in state.values())


def test_model_ids_for_user_data_are_safe_names():
    from xai_core.models.training import default_model_id

    assert default_model_id("vgg", "mnist") == "vgg-mnist"
    assert default_model_id("resnet", "folder:/data/x rays/") == "resnet-folder-x_rays"
    assert default_model_id("vgg", "torchvision-mnist:/srv/tv") == "vgg-torchvision-mnist"
    import pytest

    with pytest.raises(ValueError, match="may only hold"):
        TrainConfig("mnist", "vgg", model_id="../evil")


def test_max_train_subset_keeps_every_class():
    import numpy as np

    from xai_core import load_dataset
    from xai_core.models.training import random_subset

    labels = load_dataset("glyphs", "train").labels.numpy()  # stored class by class
    subset = random_subset(np.arange(len(labels)), 260, seed=0)
    assert len(subset) == 260 and len(np.unique(labels[subset])) == 26
    assert np.array_equal(subset, random_subset(np.arange(len(labels)), 260, seed=0))
