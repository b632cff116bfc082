"""The shipped generators: load offline, explain every zoo model, and their recorded figures are real."""

import pytest
import torch

from xai_core import list_models, load_dataset, load_model
from xai_core.attribution.agreement import dice
from xai_core.explainers import build_explainer
from xai_core.sftgan import generator_info, list_generators, load_generator
from xai_core.sftgan.data import CGMAWorker, Pair, Shard, build_pair_shard
from xai_core.sftgan.training import validate

SHIPPED = ["gsft-objects", "gsft-photos", "gsft-symbols", "lsft-objects", "lsft-photos", "lsft-symbols"]
DATASET_OF = {"efficientnet_lite0-imagenet": "photos"}


def test_four_generators_ship_with_their_figures():
    assert set(SHIPPED) <= set(list_generators())
    for generator_id in SHIPPED:
        info = generator_info(generator_id)
        assert info["command"].startswith("python -m xai_core train-sftgan") and info["command"].endswith("--out checkpoints")
        assert len(info["history"]) == info["metrics"]["epochs_run"] >= 1
        assert 0 < info["metrics"]["val_dice"] <= 1 and len(info["pairs"]) >= (1 if info["strategy"] == "photos" else 6)
        assert all(pair["split"] == "train" for pair in info["pairs"]), "generators learn from train splits only"
        assert load_generator(generator_id).kind == info["kind"]


@pytest.mark.parametrize("model_id", list_models())
@pytest.mark.parametrize("method", ["lsft", "gsft"])
def test_every_zoo_model_gets_a_map(model_id, method):
    card = load_model(model_id)
    dataset = DATASET_OF.get(model_id, card.dataset)
    image = load_dataset(dataset, "test")[0][0]
    saliency = build_explainer(method, card).attribute(card.preprocess(image))
    assert saliency.shape == (1, 1, *card.input_size)
    assert float(saliency.min()) >= 0 and float(saliency.max()) <= 1
    assert float(saliency.max() - saliency.min()) > 0.2, "the map must not be flat"


def test_recorded_heldout_dice_is_reproduced(tmp_path):
    """Rebuild one pair's samples from scratch and re-validate: the manifest's per-pair figures come back."""
    info = generator_info("lsft-symbols")
    training = info["training"]
    pair = Pair("mnist", "vgg-mnist")
    path = build_pair_shard(
        pair,
        tmp_path,
        per_pair=training["per_pair"],
        holdout_fraction=training["holdout_fraction"],
        seed=training["seed"],
        eta=training["eta"],
        progress=False,
    )
    shard = Shard.load(path, pair)
    recorded = info["metrics"]["per_pair"]["vgg-mnist"]
    assert shard.heldout_classes == next(p["heldout_classes"] for p in info["pairs"] if p["model"] == "vgg-mnist")
    figures = validate(load_generator("lsft-symbols"), [shard])["per_pair"]["vgg-mnist"]
    assert figures["n"] == recorded["n"]
    assert figures["dice"] == pytest.approx(recorded["dice"], abs=2e-3)
    assert figures["mse"] == pytest.approx(recorded["mse"], abs=2e-4)


# Dice over 24 images moves by about 1/24 of a flipped image's Dice when float kernels flip a few pixels at the
# binarisation threshold; MSE by float16/uint8 rounding (1/255 steps) only.
CHECK_DICE_TOLERANCE, CHECK_MSE_TOLERANCE = 0.01, 5e-4


@pytest.mark.parametrize("generator_id", ["lsft-photos", "gsft-symbols"])
def test_pinned_validation_samples_reproduce_their_recorded_figures(generator_id):
    """Recompute the generator inputs of its 24 pinned validation images (held-out photos / classes) from the
    dataset's train split, without the cached shard, and score the shipped generator on them."""
    info = generator_info(generator_id)
    check = info["metrics"]["check"]
    pair = Pair.parse(check["pair"])
    worker = CGMAWorker(pair.model_id, pair.dataset, check["rows"], info["training"]["eta"], info.get("max_side", 64))
    computed = worker({"start": 0, "stop": len(check["rows"])})
    image, cgmas, target = (torch.from_numpy(computed[name]) for name in ("image", "cgmas", "target"))
    image, target = image.float() / 255, target.float() / 255
    with torch.inference_mode():
        generated = load_generator(generator_id)(image, cgmas.float())
    assert float(dice(generated, target).mean()) == pytest.approx(check["dice"], abs=CHECK_DICE_TOLERANCE)
    assert float((generated - target).pow(2).mean()) == pytest.approx(check["mse"], abs=CHECK_MSE_TOLERANCE)
