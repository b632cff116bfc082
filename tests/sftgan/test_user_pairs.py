"""SFT-GANs for any model and data: generators learn only from train splits, split by class (labels, or the CNN's
predictions on unlabelled folders) and by source photo; ``train-sftgan --pairs`` with a registered torchvision model
and with an unlabelled folder; which generator the explainers pick for each model."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import load_file, save_file

from xai_core.cli import main
from xai_core.data import load_dataset
from xai_core.data.photo_views import TEST_PHOTOS, load_photo_views
from xai_core.explainers import build_explainer
from xai_core.models import load_model
from xai_core.models.checkpoints import read_manifest
from xai_core.models.sources import Preprocessing, add_model
from xai_core.sftgan.data import Pair, Shard, build_pair_shard, heldout_classes, heldout_groups, split_rows
from xai_core.sftgan.explainer import choose_generator

TINY = ["--epochs", "1", "--batch-size", "8", "--channels", "8", "--condition-channels", "4", "--quiet", "--no-resume"]


def test_a_shard_holds_only_train_split_images_never_an_evaluated_one(tmp_path):
    """Every image a generator learns from is a train-split image of its dataset; none is a test-split image
    (the split evaluation tables are computed on), compared pixel for pixel."""
    pair = Pair("mnist", "vgg-mnist")
    shard = Shard.load(build_pair_shard(pair, tmp_path, per_pair=120, seed=0, progress=False), pair)
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    learnt = {train.images[row].numpy().tobytes() for row in shard.row.tolist()}
    evaluated = {image.numpy().tobytes() for image in test.images}
    assert len(learnt) == 120 and learnt.isdisjoint(evaluated)


def test_photo_views_split_by_source_photo():
    train, test = load_photo_views("train", views=26), load_photo_views("test", views=8)
    assert set(test.info["photos"]) == set(TEST_PHOTOS) and not set(train.info["photos"]) & set(TEST_PHOTOS)
    assert train.images.shape == (26, 3, 224, 224) and not train.labelled and (train.labels == -1).all()
    assert torch.equal(train.info["groups"], torch.arange(26) % 13), "views are dealt round-robin over the photos"
    assert torch.equal(load_photo_views("train", views=26).images, train.images), "seeded"


def test_split_rows_never_trains_on_a_heldout_photo_or_class():
    generator = torch.Generator().manual_seed(0)
    classes, groups = torch.randint(0, 10, (400,), generator=generator), torch.randint(0, 13, (400,), generator=generator)
    rows = split_rows(classes, 10, groups, 13, 0.2, seed=0)
    assert rows.groups == heldout_groups(13, 0.2, 0) and len(rows.groups) == 3 and rows.classes == heldout_classes(10, 0.2, 0)
    training = ~rows.heldout & ~rows.excluded
    held_group = torch.isin(groups, torch.tensor(rows.groups))
    assert torch.equal(rows.heldout, held_group), "validation: exactly the views of held-out photos"
    assert not held_group[training].any() and not torch.isin(classes[training], torch.tensor(rows.classes)).any()
    assert torch.equal(rows.excluded, ~held_group & torch.isin(classes, torch.tensor(rows.classes)))
    plain = split_rows(classes, 10, None, 0, 0.2, seed=0)
    assert torch.equal(plain.heldout, torch.isin(classes, torch.tensor(rows.classes))) and not plain.excluded.any()


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A torchvision resnet18 with random weights and 3 classes at 64 px, registered in a temporary directory."""
    directory = tmp_path / "checkpoints"
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(directory))
    torch.manual_seed(0)
    weights = {k: v.contiguous() for k, v in torchvision.models.resnet18(num_classes=3).state_dict().items()}
    save_file(weights, str(tmp_path / "w.safetensors"))
    add_model("leaf-net", "torchvision:resnet18", tmp_path / "w.safetensors", ["oak", "ash", "elm"], Preprocessing((64, 64)), directory)
    return directory


def _places(tmp_path, out) -> list[str]:
    return ["--cache-dir", str(tmp_path / "cache"), "--run-dir", str(tmp_path / "run"), "--out", str(out)]


def test_pairs_train_a_generator_for_a_registered_model_and_the_explainer_prefers_it(registered, tmp_path):
    arguments = ["train-sftgan", "--kind", "lsft", "--pairs", "leaf-net@shapes", "--per-pair", "24", "--input-size", "32"]
    assert main([*arguments, *TINY, *_places(tmp_path, registered)]) == 0
    entry = read_manifest(registered, "generators")[0]
    assert entry["id"] == "lsft-leaf-net" and entry["strategy"] == "pairs" and entry["max_side"] == 32
    (pair,) = entry["pairs"]
    assert pair["model"] == "leaf-net" and pair["split"] == "train" and pair["class_source"] == "label"
    assert pair["n_train"] + pair["n_val"] == 24
    assert entry["command"].startswith("python -m xai_core train-sftgan --kind lsft --pairs leaf-net@shapes")
    card = load_model("leaf-net")
    choice = choose_generator(card, "lsft")
    assert (choice.generator_id, choice.reason, choice.max_side) == ("lsft-leaf-net", "trained for leaf-net", 32)
    explainer = build_explainer("lsft", card)
    assert explainer.max_side == 32 and explainer.attribute(card.preprocess(torch.rand(3, 80, 90))).shape == (1, 1, 64, 64)
    assert choose_generator(card, "gsft").generator_id == "gsft-objects", "no gsft of its own: the objects strategy"


def test_an_unlabelled_folder_splits_on_the_predicted_class(registered, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(30):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"p{index:02d}.png")
    arguments = ["train-sftgan", "--kind", "gsft", "--pairs", f"leaf-net@folder:{folder}", "--per-pair", "20", "--input-size", "32"]
    assert main([*arguments, *TINY, *_places(tmp_path, registered)]) == 0
    (pair,) = read_manifest(registered, "generators")[0]["pairs"]
    assert pair["class_source"] == "prediction" and pair["heldout_classes"] == heldout_classes(3, 0.2, 0)
    stored = load_file(str(next((tmp_path / "cache").glob("*.safetensors"))))
    assert torch.equal(stored["label"], stored["explained"]), "unlabelled rows take the CNN's predicted class"
    assert torch.equal(stored["heldout"].bool(), torch.isin(stored["label"], torch.tensor(pair["heldout_classes"])))


@pytest.mark.parametrize(
    ("model_id", "generator_id"),
    [("vgg-mnist", "lsft-symbols"), ("resnet-shapes", "lsft-objects"), ("efficientnet_lite0-imagenet", "lsft-photos")],
)
def test_each_shipped_model_gets_its_generator(model_id, generator_id):
    choice = choose_generator(load_model(model_id), "lsft")
    assert choice.generator_id == generator_id and choice.val_dice is not None
