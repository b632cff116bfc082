"""Localisation against ground-truth foreground masks.

* TP/TN/FP/FN rates of the binarised map (Guna et al., §4.2.1, Table 1). Rates are per ground-truth
  class: TP and FN are shares of the foreground pixels, TN and FP shares of the background pixels.
* Pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016): a hit
  when the map's maximum lies on the foreground.
* Energy-based pointing game (Wang et al., Score-CAM, 2020): the share of the map's mass on the foreground.
* Background error (Guna et al., §4.4, Eq. 9): sum((1 - GT) * M) / sum(1 - GT); background share:
  sum((1 - GT) * M) / sum(M), the same error not rewarded by a map that fades.

maps: Tensor[N, 1, H, W] in [0, 1]; masks: Tensor[N, 1, H, W], foreground 1 (bool or float), same size.
"""

from __future__ import annotations

import torch

from ..attribution.agreement import BINARY_THRESHOLD, binarise

LOCALISATION_RATES = ("tp_rate", "tn_rate", "fp_rate", "fn_rate")


def _check(maps: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if masks is None:
        raise ValueError("this metric needs ground-truth masks, and the data has none")
    if maps.shape[0] != masks.shape[0] or maps.shape[-2:] != masks.shape[-2:]:
        raise ValueError(f"maps {tuple(maps.shape)} and masks {tuple(masks.shape)} must have the same count and size")
    return maps.flatten(start_dim=1).double(), masks.flatten(start_dim=1).bool()


def _share(part: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    return torch.where(whole > 0, part / whole.clamp(min=1e-300), torch.zeros_like(part))


def localisation_rates(maps: torch.Tensor, masks: torch.Tensor, threshold: int = BINARY_THRESHOLD) -> dict[str, torch.Tensor]:
    """{"tp_rate", "tn_rate", "fp_rate", "fn_rate": Tensor[N]} of the map binarised at ``threshold``.

    tp = |map and fg| / |fg|, fn = |not map and fg| / |fg|, tn = |not map and bg| / |bg|,
    fp = |map and bg| / |bg|. An image without foreground (or background) gets 0 for that pair.
    """
    flat_maps, foreground = _check(maps, masks)
    predicted = binarise(flat_maps, threshold)
    background = ~foreground
    n_foreground = foreground.sum(dim=1).double()
    n_background = background.sum(dim=1).double()
    return {
        "tp_rate": _share((predicted & foreground).sum(dim=1).double(), n_foreground),
        "tn_rate": _share((~predicted & background).sum(dim=1).double(), n_background),
        "fp_rate": _share((predicted & background).sum(dim=1).double(), n_background),
        "fn_rate": _share((~predicted & foreground).sum(dim=1).double(), n_foreground),
    }


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """1 where the map's maximum (first one in row-major order) is on the foreground, else 0: Tensor[N].
    An all-zero map points nowhere and misses."""
    flat_maps, foreground = _check(maps, masks)
    peak = flat_maps.argmax(dim=1, keepdim=True)
    hit = foreground.gather(1, peak)[:, 0] & (flat_maps.amax(dim=1) > 0)
    return hit.double()


def energy_pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of the map's mass on the foreground, sum(M * GT) / sum(M), in [0, 1]: Tensor[N] (0 for an all-zero map)."""
    flat_maps, foreground = _check(maps, masks)
    return _share((flat_maps * foreground).sum(dim=1), flat_maps.sum(dim=1))


def background_error(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """sum((1 - GT) * M) / sum(1 - GT): mean map value on the background, Tensor[N] (lower is better)."""
    flat_maps, foreground = _check(maps, masks)
    background = (~foreground).double()
    return _share((flat_maps * background).sum(dim=1), background.sum(dim=1))


def background_share(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of the map's mass on the background, sum((1 - GT) * M) / sum(M), in [0, 1]: Tensor[N] (lower is
    better; 0 for an all-zero map, which callers that must not reward empty maps mark themselves)."""
    flat_maps, foreground = _check(maps, masks)
    return _share((flat_maps * (~foreground).double()).sum(dim=1), flat_maps.sum(dim=1))
