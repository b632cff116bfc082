"""Metrics: faithfulness, localisation, agreement, robustness, sanity checks, and the suite that runs them.

Functional API for notebooks (images Tensor[N,C,H,W] in [0,1], maps Tensor[N,1,H,W] in [0,1])::

    from xai_core.metrics import average_drop, deletion_auc, dice, localisation_rates
    drop = average_drop(card, images, maps, targets)            # %, lower is better
    rates = localisation_rates(maps, masks)                     # {"tp_rate": Tensor[N], ...}

The suite (metric classes, ``run_evaluation``, ``write_evaluation``) lives in :mod:`xai_core.metrics.suite`,
which imports the explainers (and so is not imported here: the SFT-GAN trainer imports this package).
"""

from ..attribution.agreement import BINARY_THRESHOLD, binarise, dice, rank_correlation
from .faithfulness import (
    average_drop,
    average_increase,
    deletion_auc,
    drop_percentages,
    energy_confidences,
    energy_maps,
    increase_in_confidence,
    insertion_auc,
    perturbation_curves,
    target_probabilities,
    win_rate,
)
from .localisation import background_error, energy_pointing_game, localisation_rates, pointing_game
from .robustness import NOISE_LEVELS, NoiseCurves, noise_curves, salt_and_pepper
from .sanity import SANITY_THRESHOLD, SanityResult, cascading_randomisation

__all__ = [
    "BINARY_THRESHOLD",
    "NOISE_LEVELS",
    "SANITY_THRESHOLD",
    "NoiseCurves",
    "SanityResult",
    "average_drop",
    "background_error",
    "binarise",
    "cascading_randomisation",
    "deletion_auc",
    "dice",
    "drop_percentages",
    "energy_confidences",
    "energy_maps",
    "energy_pointing_game",
    "average_increase",
    "increase_in_confidence",
    "insertion_auc",
    "localisation_rates",
    "noise_curves",
    "perturbation_curves",
    "pointing_game",
    "rank_correlation",
    "salt_and_pepper",
    "target_probabilities",
    "win_rate",
]
