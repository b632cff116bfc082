"""Tables and downloads of an evaluation run for the Evaluate page (formatting only; the numbers come from
:mod:`xai_core.metrics.suite`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xai_core.explainers import method_label
from xai_core.metrics.suite import METRICS, EvaluationResult, sanity_verdicts

MAX_STORED_RUNS = 16


def remember(store: dict, key: str, value) -> None:
    """Keep ``value`` under ``key`` in a shared store, dropping the oldest runs beyond MAX_STORED_RUNS."""
    store.pop(key, None)
    store[key] = value
    while len(store) > MAX_STORED_RUNS:
        store.pop(next(iter(store)))


def summary_frame(summary: Sequence[dict]) -> pd.DataFrame:
    """One row per (metric, method, pair) of the per-image metrics: mean +- std over seeds, counts, direction."""
    rows = [
        {
            "metric": METRICS[row["metric"]].label,
            "method": method_label(row["method"]),
            "pair": row["pair"],
            "mean ± std": f"{row['mean']:.4g}{METRICS[row['metric']].unit} ± {row['std']:.2g}{METRICS[row['metric']].unit}",
            "mean": row["mean"],
            "std": row["std"],
            "seeds": row["seeds"],
            "images": row["images"],
            "better": "higher" if METRICS[row["metric"]].higher_is_better else "lower",
        }
        for row in summary
        if row["level"] == ""
    ]
    return pd.DataFrame(rows, columns=["metric", "method", "pair", "mean ± std", "mean", "std", "seeds", "images", "better"])


def curve_frame(summary: Sequence[dict], metric: str) -> pd.DataFrame:
    """The values behind one curve metric's chart: method, pair, level, mean, std."""
    return pd.DataFrame(
        [
            {"method": method_label(row["method"]), "pair": row["pair"], "level": row["level"], "mean": row["mean"], "std": row["std"]}
            for row in summary
            if row["metric"] == metric and row["level"] != ""
        ]
    )


def sanity_frame(summary: Sequence[dict], threshold: float) -> pd.DataFrame:
    """Per (pair, method): the rank correlation with the trained model's map once every layer is random, and the verdict."""
    return pd.DataFrame(
        [
            {
                "method": method_label(method),
                "pair": pair,
                "final rank corr.": verdict["final_correlation"],
                "verdict": "passes" if verdict["passed"] else "FAILS",
            }
            for (pair, method), verdict in sanity_verdicts(summary, threshold).items()
        ],
        columns=["method", "pair", "final rank corr.", "verdict"],
    )


def skipped_mask_metrics(result: EvaluationResult) -> dict[str, list[str]]:
    """{pair: labels of the chosen mask metrics with no values}: the pair's data has no ground-truth masks."""
    chosen = [m for m in result.config["metrics"] if METRICS[m].needs_mask]
    present = {(row["pair"], row["metric"]) for row in result.rows}
    skipped = {pair: [METRICS[m].label for m in chosen if (pair, m) not in present] for pair in result.config["pairs"]}
    return {pair: labels for pair, labels in skipped.items() if labels}
