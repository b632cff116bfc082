"""Per-image metric badges: the suite's metrics for one image and its maps, for the Explain page.

* Drop %: that image's term of the average drop (Guna et al. §4.2.3), max(0, Y - O) / Y * 100 with Y the
  target probability on the image and O on the energy map image * map (lower is better).
* Deletion AUC (Petsiuk et al., RISE, BMVC 2018), with 16 steps (lower is better).
* Dice vs reference: Dice of the binarised map and the binarised reference map (Grad-CAM by default),
  the SFT-GAN paper's agreement measure (§4.2.1); only for the other methods, when the reference is given.
* With a ground-truth mask: Dice of the binarised map (127 on 0-255) and the mask (``mask_dice``, not in the
  paper: how well the map's relevant region covers the object), the pointing game (Zhang et al., ECCV 2016:
  1 when the map's peak lies on the object) and the energy pointing game (Wang et al., Score-CAM 2020: the
  share of the map's mass on the object).

No streamlit here; the app caches :func:`image_badges` per (model, image, target, methods).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..attribution.agreement import BINARY_THRESHOLD, dice
from ..models.card import ModelCard
from . import faithfulness, localisation

BADGE_STEPS = 16


def image_badges(
    card: ModelCard,
    image: torch.Tensor,
    maps: dict[str, torch.Tensor],
    target: int,
    mask: torch.Tensor | None = None,
    reference_method: str = "grad_cam",
    steps: int = BADGE_STEPS,
    threshold: int = BINARY_THRESHOLD,
) -> dict[str, dict[str, float]]:
    """Metrics of each method's map on one image: {method: {metric name: value}}.

    image: Tensor[C, H, W] (or [1, C, H, W]) in [0, 1], any size (resized with ``card.resize``);
    maps: {method: Tensor[1, 1, h, w] in [0, 1]} (the card's input size, else bilinearly resized);
    mask: Tensor[1, H, W] (or [1, 1, H, W]) foreground > 0.5 in the image's geometry, cut to the model's field of
    view (as the image is) and resized to the map's size with nearest neighbours, or None (then only
    ``average_drop``, ``deletion_auc`` and ``dice``).

    Metric names: ``average_drop`` (%), ``deletion_auc``, ``dice`` (vs ``reference_method``'s map, for the
    other methods when it is in ``maps``), and with a mask ``mask_dice``, ``pointing_game`` (1.0 or 0.0),
    ``energy_pointing_game`` (share in [0, 1]). One batched forward pass for all energy maps, one batched
    deletion sweep (steps + 1 images per method).
    """
    if not maps:
        return {}
    methods = list(maps)
    resized = card.resize(image)  # [1, C, h, w] in [0, 1]
    if resized.shape[0] != 1:
        raise ValueError(f"expected one image, got {tuple(image.shape)}")
    stacked = torch.cat([_one_map(maps[m], m) for m in methods]).float()  # [M, 1, h', w']
    count = len(methods)
    images = resized.expand(count, -1, -1, -1)
    targets = torch.full((count,), int(target), dtype=torch.long)

    original = faithfulness.target_probabilities(card, resized, targets[:1]).expand(count)
    energy = faithfulness.energy_confidences(card, images, stacked, targets)
    drops = faithfulness.drop_percentages(original, energy)
    deletion = faithfulness.deletion_auc(card, images, stacked, targets, steps)
    badges = {m: {"average_drop": float(drops[i]), "deletion_auc": float(deletion[i])} for i, m in enumerate(methods)}

    if reference_method in maps:
        reference = _one_map(maps[reference_method], reference_method).float()
        if reference.shape[-2:] != stacked.shape[-2:]:
            reference = F.interpolate(reference, size=tuple(stacked.shape[-2:]), mode="bilinear", align_corners=False)
        agreement = dice(stacked, reference.expand(count, -1, -1, -1), threshold)
        for i, m in enumerate(methods):
            if m != reference_method:
                badges[m]["dice"] = float(agreement[i])

    if mask is not None:
        foreground = mask_like(card.field_of_view(mask), tuple(stacked.shape[-2:])).expand(count, -1, -1, -1)
        mask_agreement = dice(stacked, foreground, threshold)
        pointing = localisation.pointing_game(stacked, foreground)
        energy_share = localisation.energy_pointing_game(stacked, foreground)
        for i, m in enumerate(methods):
            badges[m].update(
                mask_dice=float(mask_agreement[i]), pointing_game=float(pointing[i]), energy_pointing_game=float(energy_share[i])
            )
    return badges


def mask_like(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Mask Tensor[1, H, W] or [1, 1, H, W] (foreground > 0.5) -> bool Tensor[1, 1, *size], nearest neighbours."""
    batch = mask[None] if mask.ndim == 3 else mask
    if batch.ndim != 4 or batch.shape[:2] != (1, 1):
        raise ValueError(f"expected one mask [1,H,W], got {tuple(mask.shape)}")
    return F.interpolate(batch.float(), size=size, mode="nearest") > 0.5


def _one_map(saliency: torch.Tensor, method: str) -> torch.Tensor:
    batch = saliency[None] if saliency.ndim == 3 else saliency
    if batch.ndim != 4 or batch.shape[:2] != (1, 1):
        raise ValueError(f"{method}: expected one map [1,1,H,W], got {tuple(saliency.shape)}")
    return batch


def sanity_badge(verdicts: dict[tuple[str, str], dict], model_id: str, method: str) -> tuple[str, str]:
    """(status, text) of a method's recorded cascading-randomisation check (Adebayo et al., NeurIPS 2018).

    verdicts: :func:`xai_core.metrics.suite.load_sanity_verdicts`. status is "passed", "failed", "not_run"
    (no verdict for this model and method) or "none_recorded" (no verdict at all: the check was never run).
    """
    if not verdicts:
        return "none_recorded", "sanity check not run yet"
    verdict = verdicts.get((model_id, method))
    if verdict is None:
        return "not_run", "sanity: not run for this model"
    if verdict["passed"]:
        return "passed", f"sanity: passed (rank corr {verdict['final_correlation']:.2f} after full randomisation)"
    return "failed", (f"sanity: FAILED — map barely changes when the model is randomised (rank corr {verdict['final_correlation']:.2f})")
