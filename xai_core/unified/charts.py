"""Plotly figures shared by the pages and the reports."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from ..models.card import Prediction


def top_k_figure(predictions: Sequence[Prediction], true_label: int | None = None, height: int = 300) -> go.Figure:
    """Horizontal bar chart of top-k probabilities, most probable on top; the true class in green."""
    ordered = list(reversed(predictions))
    colours = ["#2ca02c" if p.label == true_label else "#1f77b4" for p in ordered]
    figure = go.Figure(
        go.Bar(
            x=[p.probability for p in ordered], y=[p.name for p in ordered], orientation="h", marker_color=colours,
            text=[f"{p.probability:.1%}" for p in ordered], textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"}, yaxis={"type": "category"},
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Top predictions",
    )
    return figure


def relevance_figure(relevance: Sequence[float], slot_layers: Sequence[int], error: Sequence[float] | None = None,
                     title: str = "CGMA-ablation relevance", height: int = 320) -> go.Figure:
    """Bar per CGMA k: sum over pixels of |L(S) - L(S without CGMA k)|; ``error`` adds +- std bars."""
    labels = [f"CGMA {k}<br>(layers 0..{layer})" for k, layer in enumerate(slot_layers)]
    figure = go.Figure(
        go.Bar(
            x=labels, y=list(relevance), marker_color="#1f77b4",
            error_y=None if error is None else {"type": "data", "array": list(error), "visible": True},
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title, yaxis={"title": "sum |L(S) - L(S without k)|"}, xaxis={"type": "category"},
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def metric_bars_figure(summary: Sequence[dict], metric: str, title: str = "", higher_is_better: bool | None = None,
                       height: int = 360) -> go.Figure:
    """Grouped bars of one per-image metric: x = method, one bar group per pair, error bars = std over seeds.

    summary: rows of :func:`xai_core.metrics.suite.summarise` (pair, method, metric, level, mean, std, seeds)."""
    rows = [row for row in summary if row["metric"] == metric and row["level"] == ""]
    figure = go.Figure()
    for pair in dict.fromkeys(row["pair"] for row in rows):
        mine = [row for row in rows if row["pair"] == pair]
        figure.add_trace(go.Bar(
            name=pair, x=[row["method"] for row in mine], y=[row["mean"] for row in mine],
            error_y={"type": "data", "array": [row["std"] for row in mine], "visible": True},
            customdata=[row["seeds"] for row in mine],
            hovertemplate="%{x}: %{y:.4g} +- %{error_y.array:.3g} (%{customdata} seed(s))<extra>" + pair + "</extra>",
        ))
    direction = "" if higher_is_better is None else (" (higher is better)" if higher_is_better else " (lower is better)")
    figure.update_layout(title=(title or metric) + direction, barmode="group", height=height, xaxis={"type": "category"},
                         margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h"})
    return figure


def level_curves_figure(summary: Sequence[dict], metric: str, title: str = "", x_title: str = "", height: int = 360) -> go.Figure:
    """One line per (pair, method) of a metric along its levels (noise amount or randomised layer), +- std bands as error bars."""
    rows = [row for row in summary if row["metric"] == metric and row["level"] != ""]
    figure = go.Figure()
    for pair, method in dict.fromkeys((row["pair"], row["method"]) for row in rows):
        mine = [row for row in rows if row["pair"] == pair and row["method"] == method]
        figure.add_trace(go.Scatter(
            name=f"{method} · {pair}", x=[row["level"] for row in mine], y=[row["mean"] for row in mine], mode="lines+markers",
            error_y={"type": "data", "array": [row["std"] for row in mine], "visible": True},
        ))
    figure.update_layout(title=title or metric, height=height, xaxis={"title": x_title, "type": "category"},
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure
