"""Agreement between two maps: binarisation at 127 on a 0-255 scale, and the Dice coefficient.

Source: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §4.2.1 (Dice against
binarised Grad-CAM); definitions pinned in DESIGN.md.
"""

from __future__ import annotations

import torch

BINARY_THRESHOLD = 127


def binarise(maps: torch.Tensor, threshold: int = BINARY_THRESHOLD) -> torch.Tensor:
    """Maps in [0, 1] -> bool maps, True where ``round(255 * map) > threshold``."""
    return (maps * 255).round() > threshold


def dice(maps: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Dice ``2|A and B| / (|A| + |B|)`` of binarised maps, one value per map.

    maps, references: Tensor[N, ...] in [0, 1] -> Tensor[N]. Two empty masks agree fully (Dice 1).
    """
    a = binarise(maps).flatten(start_dim=1)
    b = binarise(references).flatten(start_dim=1)
    overlap = (a & b).sum(dim=1).double()
    total = (a.sum(dim=1) + b.sum(dim=1)).double()
    return torch.where(total > 0, 2 * overlap / total.clamp(min=1), torch.ones_like(total))
