"""Agreement between two maps: binarisation at 127 on a 0-255 scale, the Dice coefficient, the Spearman rank
correlation, and whether a third method marks the regions one map adds to another.

Sources: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §4.2.1 (Dice against
binarised Grad-CAM); Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018 (Spearman rank
correlation between maps). Definitions pinned in DESIGN.md.
"""

from __future__ import annotations

import torch

BINARY_THRESHOLD = 127


def binarise(maps: torch.Tensor, threshold: int = BINARY_THRESHOLD) -> torch.Tensor:
    """Maps in [0, 1] -> bool maps, True where ``round(255 * map) > threshold``."""
    return (maps * 255).round() > threshold


def dice(map_a: torch.Tensor, map_b: torch.Tensor, threshold: int = BINARY_THRESHOLD) -> torch.Tensor:
    """Dice ``2|A and B| / (|A| + |B|)`` of the binarised maps, one value per map.

    map_a, map_b: Tensor[N, ...] in [0, 1] (or bool) -> Tensor[N] (float64). Two empty masks agree fully (Dice 1).
    """
    a = _as_binary(map_a, threshold).flatten(start_dim=1)
    b = _as_binary(map_b, threshold).flatten(start_dim=1)
    overlap = (a & b).sum(dim=1).double()
    total = (a.sum(dim=1) + b.sum(dim=1)).double()
    return torch.where(total > 0, 2 * overlap / total.clamp(min=1), torch.ones_like(total))


WITNESS_SHARE = 0.2


def top_share(maps: torch.Tensor, share: float = WITNESS_SHARE) -> torch.Tensor:
    """Bool maps marking each map's ``share`` of pixels with the highest values (ties by position, so exactly
    round(share * H * W) pixels): Tensor[N, ...] -> bool Tensor of the same shape."""
    flat = maps.flatten(start_dim=1)
    count = round(share * flat.shape[1])
    order = torch.argsort(flat, dim=1, descending=True, stable=True)[:, :count]
    marked = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, order, True)
    return marked.view_as(maps)


def extra_region_shares(
    maps: torch.Tensor, reference: torch.Tensor, witness: torch.Tensor, threshold: int = BINARY_THRESHOLD, share: float = WITNESS_SHARE
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Does a witness method mark the regions a map adds to a reference (SFT-GAN paper §4.3.2, Fig. 6: LSFT's extra
    regions vs vanilla saliency)? All Tensor[N, 1, H, W] in [0, 1]. Per image, Tensor[N] (float64) each:

    * ``extra``: the share of the image's pixels in the map's extra region (binarised map and not binarised reference);
    * ``marked``: the share of those extra pixels among the witness's top ``share`` pixels (NaN with no extra pixel);
    * ``baseline``: the share of all pixels outside the binarised reference that the witness marks, what a region
      drawn at random outside the reference would score (NaN with no extra pixel, so both average the same images).
    """
    outside = ~binarise(reference, threshold).flatten(start_dim=1)
    extra = binarise(maps, threshold).flatten(start_dim=1) & outside
    marked = top_share(witness, share).flatten(start_dim=1)
    n_extra, n_outside = extra.sum(dim=1).double(), outside.sum(dim=1).double()
    return (
        n_extra / extra.shape[1],
        torch.where(n_extra > 0, (extra & marked).sum(dim=1).double() / n_extra.clamp(min=1), torch.nan),
        torch.where(n_extra > 0, (outside & marked).sum(dim=1).double() / n_outside.clamp(min=1), torch.nan),
    )


def _as_binary(maps: torch.Tensor, threshold: int) -> torch.Tensor:
    return maps if maps.dtype == torch.bool else binarise(maps, threshold)


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..L along the last dim, ties sharing their average rank (as scipy's ``rankdata``): Tensor[N, L] float64."""
    values = values.double()
    n, length = values.shape
    order = torch.argsort(values, dim=1, stable=True)
    ordered = values.gather(1, order)
    starts_group = torch.ones_like(ordered, dtype=torch.bool)
    starts_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = starts_group.long().cumsum(dim=1) - 1 + torch.arange(n)[:, None] * length  # unique per row
    positions = torch.arange(1, length + 1, dtype=torch.float64).expand(n, -1).reshape(-1)
    flat_group = group.reshape(-1)
    sums = torch.zeros(n * length, dtype=torch.float64).index_add_(0, flat_group, positions)
    counts = torch.zeros(n * length, dtype=torch.float64).index_add_(0, flat_group, torch.ones_like(positions))
    ordered_ranks = (sums / counts.clamp(min=1))[flat_group].view(n, length)
    return torch.empty_like(ordered_ranks).scatter_(1, order, ordered_ranks)


def rank_correlation(map_a: torch.Tensor, map_b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between paired maps: Tensor[N, ...] x2 -> Tensor[N] (float64).

    A constant map has no ranking; its correlation is 1 with another constant map and 0 otherwise.
    """
    a = average_ranks(map_a.flatten(start_dim=1))
    b = average_ranks(map_b.flatten(start_dim=1))
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    norms = a.norm(dim=1) * b.norm(dim=1)
    both_constant = (a.norm(dim=1) == 0) & (b.norm(dim=1) == 0)
    correlation = torch.where(norms > 0, (a * b).sum(dim=1) / norms.clamp(min=1e-300), torch.zeros_like(norms))
    return torch.where(both_constant, torch.ones_like(correlation), correlation)
