"""``report-results --rerun --quick``: re-run a small pinned subset of the reported experiments and compare it with
the committed per-seed summaries, so a reviewer can check in minutes that the summaries come from this code.

Tolerance, stated: a per-seed mean over n images may differ from the summary by at most what two of those images
moving across the metric's whole range would change it, 2 x range / n (range 100 for % metrics, 1 otherwise).
Floating-point kernels differ between CPUs, which can flip a near-tie (a pixel at the 127 threshold, two equal
confidences) in an image or two, but cannot move many images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..metrics.suite import METRICS, run_evaluation, seed_means
from .experiments import EXPERIMENTS
from .summaries import DATA_DIR, read_evaluation_summary

QUICK_SUBSET = {"symbols": ("vgg-mnist",), "objects": ("resnet-shapes",)}  # experiment -> pairs, at seed 0
QUICK_SEED = 0


@dataclass(frozen=True)
class Comparison:
    experiment: str
    pair: str
    method: str
    metric: str
    level: str
    recorded: float
    rerun: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return abs(self.rerun - self.recorded) <= self.tolerance


def tolerance(metric: str, n: int) -> float:
    """2 x range / n: two of the n images moving across the metric's range (100 for % metrics, else 1)."""
    span = 100.0 if METRICS[metric].unit in ("%", "points") else 1.0
    return 2 * span / n


def quick_rerun(on_progress: Callable[[float, str], None] | None = None) -> dict[str, list[dict]]:
    """{experiment: per-seed rows} of QUICK_SUBSET re-run at seed 0 with each run's own n and settings."""
    reruns = {}
    for i, (name, pairs) in enumerate(QUICK_SUBSET.items()):
        experiment = EXPERIMENTS[name]
        report = None if on_progress is None else (lambda f, m, i=i: on_progress((i + f) / len(QUICK_SUBSET), f"{name}: {m}"))
        result = run_evaluation(
            list(pairs), experiment.methods, experiment.metrics, experiment.n, (QUICK_SEED,), experiment.settings, report
        )
        reruns[name] = seed_means(result.rows)
    return reruns


def compare(reruns: dict[str, list[dict]], data_dir: Path = DATA_DIR) -> list[Comparison]:
    """Every re-run per-seed mean beside the committed summary's, with its tolerance."""
    comparisons = []
    for name, rows in reruns.items():
        recorded, _ = read_evaluation_summary(name, data_dir)
        table = {(r["pair"], r["method"], r["metric"], r["level"]): r for r in recorded.rows if r["seed"] == QUICK_SEED}
        for row in rows:
            key = (row["pair"], row["method"], row["metric"], row["level"])
            if key not in table:
                raise ValueError(f"the committed {name!r} summary has no row for {key}: re-record it (`report-results --evaluation-only`)")
            comparisons.append(Comparison(name, *key, table[key]["value"], row["value"], tolerance(row["metric"], row["n"])))
    return comparisons


def comparison_lines(comparisons: list[Comparison]) -> list[str]:
    """One line per failed comparison and a closing count."""
    failed = [c for c in comparisons if not c.passed]
    lines = [
        f"DIFFERS {c.experiment} {c.pair} {c.method} {c.metric} {c.level or '-'}: recorded {c.recorded:.6g}, "
        f"rerun {c.rerun:.6g}, tolerance {c.tolerance:.3g}"
        for c in failed
    ]
    worst = max(comparisons, key=lambda c: abs(c.rerun - c.recorded) / c.tolerance, default=None)
    closing = f"{len(comparisons) - len(failed)} of {len(comparisons)} per-seed means reproduce within tolerance"
    if worst is not None:
        closing += f" (largest deviation: {abs(worst.rerun - worst.recorded) / worst.tolerance:.0%} of its tolerance, {worst.metric})"
    return lines + [closing]
