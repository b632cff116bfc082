"""The photos generators on photographs no generator saw (issue 20): agreement with Grad-CAM on the test split of
``photo_views`` (views of 4 held-out photos), for EfficientNet-Lite0 and, as a stress case, a torchvision
ResNet-50 with seeded random weights (whose Grad-CAM explains nothing: it only shows whether the generators follow
an unseen architecture's maps). Measured by ``python -m xai_core report-results --photos`` into a committed
summary (``docs/data/sftgan_photos.json``), from which docs/results.md's section is rendered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision

from ..attribution.agreement import dice
from ..attribution.base import normalise_maps
from ..attribution.hooks import conv_layers_in_execution_order
from ..attribution.layers import layer_positions
from ..data import load_dataset
from ..models import ModelCard, load_model
from ..models.checkpoints import REPOSITORY_ROOT
from ..models.registry import EFFICIENTNET_LITE0_ID, disable_inplace_activations, imagenet_class_names
from ..sftgan.data import generator_inputs, resize_maps, working_size
from ..sftgan.explainer import generator_info, load_generator

SUMMARY_PATH = REPOSITORY_ROOT / "docs" / "data" / "sftgan_photos.json"
SECTION_HEADING = "## SFT-GANs on photographs (photos strategy)"
GENERATORS = ("lsft-photos", "gsft-photos")
STRESS_MODEL = "torchvision resnet50, random weights (seed 0)"
LAST_BLOCK = "last-CGMA window"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def random_resnet50() -> ModelCard:
    """The stress case: torchvision ResNet-50, seeded random weights, ImageNet preprocessing."""
    torch.manual_seed(0)
    model = disable_inplace_activations(torchvision.models.resnet50(weights=None)).eval()
    return ModelCard("random-resnet50", "torchvision:resnet50", model, imagenet_class_names(), 3, (224, 224), IMAGENET_MEAN, IMAGENET_STD)


def agreement(card: ModelCard, images: torch.Tensor, batch_size: int = 16, on_progress: Callable[[float], None] | None = None) -> dict:
    """Dice (maps binarised at 127/255) and MSE of each photos generator against the CNN's final-layer Grad-CAM on
    ``images`` (uint8 Tensor[N, 3, H, W]), at each generator's working size, with the CNN explaining its own
    prediction. Returns {generator id: {"dice", "dice_std", "mse", "n"}} (std over images)."""
    generators = {generator_id: load_generator(generator_id) for generator_id in GENERATORS}
    sides = {generator_id: generator_info(generator_id).get("max_side", 64) for generator_id in GENERATORS}
    scores: dict[str, dict[str, list[torch.Tensor]]] = {g: {"dice": [], "mse": []} for g in (*GENERATORS, LAST_BLOCK)}
    n_layers = len(conv_layers_in_execution_order(card.model, card.preprocess(images[:1].float() / 255)))
    last, previous = layer_positions(n_layers)[-1], layer_positions(n_layers)[-2]
    for start in range(0, len(images), batch_size):
        computed = generator_inputs(card.model, card.preprocess(images[start : start + batch_size].float() / 255))
        # the most the CGMAs say about the last layers: the mean of layers previous+1..last, from the last two CGMAs
        window = normalise_maps(((last + 1) * computed.cgmas[:, -1:] - (previous + 1) * computed.cgmas[:, -2:-1]).clamp(min=0))
        size = working_size(card.input_size, sides[GENERATORS[0]])
        scores[LAST_BLOCK]["dice"].append(dice(resize_maps(window, size), resize_maps(computed.final_gradcam, size)))
        scores[LAST_BLOCK]["mse"].append((resize_maps(window, size) - resize_maps(computed.final_gradcam, size)).pow(2).flatten(1).mean(1))
        for generator_id, generator in generators.items():
            size = working_size(card.input_size, sides[generator_id])
            image, cgmas, target = (resize_maps(maps, size) for maps in (computed.image, computed.cgmas, computed.final_gradcam))
            with torch.inference_mode():
                generated = generator(image, cgmas)
            scores[generator_id]["dice"].append(dice(generated, target))
            scores[generator_id]["mse"].append((generated - target).pow(2).flatten(1).mean(1))
        if on_progress is not None:
            on_progress(min(1.0, (start + batch_size) / len(images)))
    summary = {}
    for generator_id, values in scores.items():
        dices, errors = torch.cat(values["dice"]), torch.cat(values["mse"])
        summary[generator_id] = {
            "dice": round(float(dices.mean()), 4),
            "dice_std": round(float(dices.std()), 4),
            "mse": round(float(errors.mean()), 5),
            "n": len(dices),
        }
    return summary


def measure(images: int = 400, on_progress: Callable[[float, str], None] | None = None) -> dict:
    """The summary: each generator's manifest figures, and its agreement on the first ``images`` test views."""
    test = load_dataset("photo_views", "test").images[:images]
    cards = {EFFICIENTNET_LITE0_ID: load_model(EFFICIENTNET_LITE0_ID), STRESS_MODEL: random_resnet50()}
    results = {}
    for index, (name, card) in enumerate(cards.items()):
        report = None if on_progress is None else (lambda done, i=index, n=name: on_progress((i + done) / len(cards), n))
        results[name] = agreement(card, test, on_progress=report)
    generators = {}
    for generator_id in GENERATORS:
        info = generator_info(generator_id)
        generators[generator_id] = {
            "sha256": info["sha256"],
            "seed": info["seed"],
            "val_dice": info["metrics"]["val_dice"],
            "val_mse": info["metrics"]["val_mse"],
            "n_val": info["metrics"]["n_val"],
            "best_epoch": info["metrics"].get("best_epoch"),
            "epochs": info["metrics"]["epochs_run"],
            "heldout_photos": info["pairs"][0].get("heldout_photos", []),
        }
    return {"test_split": {"dataset": "photo_views", "split": "test", "images": len(test)}, "generators": generators, "test": results}


def write_summary(path: Path = SUMMARY_PATH, on_progress: Callable[[float, str], None] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(measure(on_progress=on_progress), indent=2) + "\n")
    return path


GOAL_DICE = 0.80  # issue 20: held-out Dice vs binarised Grad-CAM for EfficientNet-Lite0 on held-out photos


def photos_section(path: Path = SUMMARY_PATH) -> str:
    """docs/results.md's section, rendered from the committed summary (a note when it is not measured yet)."""
    if not path.is_file():
        return f"{SECTION_HEADING}\n\nNot measured yet: `python -m xai_core report-results --photos`.\n"
    summary = json.loads(path.read_text())
    generators, test = summary["generators"], summary["test"]
    rows = [
        "| generator | seed | epoch kept (of) | held-out photos: Dice | held-out photos: MSE | "
        f"test photos, EfficientNet-Lite0: Dice (± std over images) | MSE | test photos, {STRESS_MODEL}: Dice | MSE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for generator_id, info in generators.items():
        ours, stress = test[EFFICIENTNET_LITE0_ID][generator_id], test[STRESS_MODEL][generator_id]
        rows.append(
            f"| `{generator_id}` | {info['seed']} | {info['best_epoch'] or info['epochs']} ({info['epochs']}) | "
            f"{info['val_dice']:.4f} | {info['val_mse']:.4f} | **{ours['dice']:.4f}** ± {ours['dice_std']:.4f} | {ours['mse']:.4f} | "
            f"{stress['dice']:.4f} | {stress['mse']:.4f} |"
        )
    best = max(test[EFFICIENTNET_LITE0_ID][g]["dice"] for g in generators)
    window = test[EFFICIENTNET_LITE0_ID][LAST_BLOCK]["dice"]
    verdict = f"meets the goal of {GOAL_DICE:.2f}" if best >= GOAL_DICE else f"**misses** the goal of {GOAL_DICE:.2f} (issue 20)"
    n = summary["test_split"]["images"]
    return f"""{SECTION_HEADING}

`lsft-photos` and `gsft-photos` explain EfficientNet-Lite0 at 224 px; they learned from random views of 13
offline photos (`photo_views`' train split), holding out 3 of them (and a fifth of the predicted classes) for
validation; the epoch with the best held-out-photo Dice is kept, so that figure is optimistic. The test columns
are {n} views of 4 other photos that no generator saw, neither in training nor in that choice. Dice: maps
binarised at 127/255 against the binarised final-layer Grad-CAM, at the generator's working size (64 px),
averaged over images. The random ResNet-50 is a stress case of an unseen architecture: Grad-CAM of a random
network is not a meaningful explanation, so its column only says whether the generators follow an unfamiliar
CNN's maps. One training seed so far (the issue asks for three).

{chr(10).join(rows)}

On the never-seen test photos the better generator reaches Dice {best:.4f} for EfficientNet-Lite0, which {verdict}.
What limits it is not established. One candidate: EfficientNet-Lite0 has 49 conv layers, so its final layer is 1/49
of the last CGMA the generator sees, and the most direct trace of the last layers in the CGMAs, the mean of the
layers between the last two CGMA positions (recovered from those two CGMAs, no generator involved), agrees with
the final Grad-CAM at Dice {window:.4f} on the same test views; the generators do better than that map, using the
image as well.

Regenerate: `python -m xai_core report-results --photos` (measures, writes `docs/data/sftgan_photos.json`, then
this section); `--generators-only` re-renders it from the committed summary.
"""
