"""Markdown chips for the per-image metric badges and the sanity-check verdict under each map."""

from __future__ import annotations

from xai_core.explainers import METHOD_LABELS

BADGE_HELP = (
    "This image only. **Drop %**: how much the target probability falls when the model sees image x map "
    "(lower is better). **Deletion AUC**: mean target probability as the most relevant pixels are blacked out, "
    "16 steps (lower is better). **Dice vs Grad-CAM**: overlap of the binarised map with Grad-CAM's. With a "
    "ground-truth mask: **Dice vs mask** (binarised map vs object), **pointing** (is the map's peak on the "
    "object?) and **energy on mask** (share of the map's mass on the object)."
)

SANITY_COLOURS = {"passed": "green", "failed": "red", "not_run": "gray", "none_recorded": "gray"}


def badge_markdown(values: dict[str, float], reference_method: str = "grad_cam") -> str:
    """One map's metrics ({metric name: value}, from ``image_badges``) as a line of markdown badges."""
    chips = [f":gray-badge[drop {values['average_drop']:.1f}%]", f":gray-badge[deletion AUC {values['deletion_auc']:.3f}]"]
    if "dice" in values:
        chips.append(f":gray-badge[Dice vs {METHOD_LABELS.get(reference_method, reference_method)} {values['dice']:.2f}]")
    if "mask_dice" in values:
        chips.append(f":blue-badge[Dice vs mask {values['mask_dice']:.2f}]")
        chips.append(":green-badge[pointing: hit]" if values["pointing_game"] >= 1 else ":orange-badge[pointing: miss]")
        chips.append(f":blue-badge[energy on mask {values['energy_pointing_game']:.0%}]")
    return " ".join(chips)


def sanity_markdown(status: str, text: str) -> str:
    """A sanity verdict (status and text from ``sanity_badge``) as one coloured badge."""
    return f":{SANITY_COLOURS[status]}-badge[{text}]"
