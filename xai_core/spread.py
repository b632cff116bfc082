"""The spread every table reports: mean and sample standard deviation (n - 1) over seeds or runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (divisor n - 1) of ``values``; 0 for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """{"mean", "std"}: the mean and :func:`sample_std` of ``values``."""
    return {"mean": float(np.mean(values)), "std": sample_std(values)}
