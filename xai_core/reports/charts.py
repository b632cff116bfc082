"""Plotly figures shared by the pages and the reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from ..explainers import method_label
from ..metrics.explainability_score import PART_WEIGHTS
from ..models.card import Prediction

if TYPE_CHECKING:
    from ..attribution.tcav import TCAVResult


def top_k_figure(predictions: Sequence[Prediction], true_label: int | None = None, height: int = 300) -> go.Figure:
    """Horizontal bar chart of top-k probabilities, most probable on top; the true class in green."""
    ordered = list(reversed(predictions))
    colours = ["#2ca02c" if p.label == true_label else "#1f77b4" for p in ordered]
    figure = go.Figure(
        go.Bar(
            x=[p.probability for p in ordered],
            y=[p.name for p in ordered],
            orientation="h",
            marker_color=colours,
            text=[f"{p.probability:.1%}" for p in ordered],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"},
        yaxis={"type": "category"},
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Top predictions",
    )
    return figure


def relevance_figure(
    relevance: Sequence[float],
    slot_layers: Sequence[int],
    error: Sequence[float] | None = None,
    title: str = "CGMA-ablation relevance",
    height: int = 320,
) -> go.Figure:
    """Bar per CGMA k: sum over pixels of |L(S) - L(S without CGMA k)|; ``error`` adds +- std bars."""
    labels = [f"CGMA {k}<br>(layers 0..{layer})" for k, layer in enumerate(slot_layers)]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=list(relevance),
            marker_color="#1f77b4",
            error_y=None if error is None else {"type": "data", "array": list(error), "visible": True},
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        yaxis={"title": "sum |L(S) - L(S without k)|"},
        xaxis={"type": "category"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def metric_bars_figure(
    summary: Sequence[dict], metric: str, title: str = "", higher_is_better: bool | None = None, height: int = 360
) -> go.Figure:
    """Grouped bars of one per-image metric: x = method, one bar group per pair, error bars = std over seeds.

    summary: rows of :func:`xai_core.metrics.suite.summarise` (pair, method, metric, level, mean, std, seeds)."""
    rows = [row for row in summary if row["metric"] == metric and row["level"] == ""]
    figure = go.Figure()
    for pair in dict.fromkeys(row["pair"] for row in rows):
        mine = [row for row in rows if row["pair"] == pair]
        figure.add_trace(
            go.Bar(
                name=pair,
                x=[row["method"] for row in mine],
                y=[row["mean"] for row in mine],
                error_y={"type": "data", "array": [row["std"] for row in mine], "visible": True},
                customdata=[row["seeds"] for row in mine],
                hovertemplate="%{x}: %{y:.4g} +- %{error_y.array:.3g} (%{customdata} seed(s))<extra>" + pair + "</extra>",
            )
        )
    direction = "" if higher_is_better is None else (" (higher is better)" if higher_is_better else " (lower is better)")
    figure.update_layout(
        title=(title or metric) + direction,
        barmode="group",
        height=height,
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h"},
    )
    return figure


def level_curves_figure(summary: Sequence[dict], metric: str, title: str = "", x_title: str = "", height: int = 360) -> go.Figure:
    """One line per (pair, method) of a metric along its levels (noise amount or randomised layer), +- std bands as error bars."""
    rows = [row for row in summary if row["metric"] == metric and row["level"] != ""]
    figure = go.Figure()
    for pair, method in dict.fromkeys((row["pair"], row["method"]) for row in rows):
        mine = [row for row in rows if row["pair"] == pair and row["method"] == method]
        figure.add_trace(
            go.Scatter(
                name=f"{method} · {pair}",
                x=[row["level"] for row in mine],
                y=[row["mean"] for row in mine],
                mode="lines+markers",
                error_y={"type": "data", "array": [row["std"] for row in mine], "visible": True},
            )
        )
    figure.update_layout(
        title=title or metric, height=height, xaxis={"title": x_title, "type": "category"}, margin={"l": 10, "r": 10, "t": 40, "b": 10}
    )
    return figure


def sensitivity_bars_figure(
    sensitivity: Sequence[float], highlighted: Sequence[int] = (), title: str = "Latent sensitivity ranking", height: int = 340
) -> go.Figure:
    """One bar per latent dimension i, sorted from most to least sensitive: E_z ||dG(z)/dz_i||_2
    (unified XAI framework paper §3.3); the ``highlighted`` dimensions (the sliders) in orange."""
    values = [float(v) for v in sensitivity]
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    chosen = set(highlighted)
    figure = go.Figure(
        go.Bar(
            x=[f"z[{i}]" for i in order],
            y=[values[i] for i in order],
            marker_color=["#ff7f0e" if i in chosen else "#1f77b4" for i in order],
            hovertemplate="%{x}: %{y:.4g}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        yaxis={"title": "E_z ||dG(z)/dz_i||"},
        xaxis={"type": "category", "title": "latent dimension"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def tcav_bars_figure(result: TCAVResult, height: int = 380) -> go.Figure:
    """One bar per concept: its mean TCAV score over the runs against the random sets, +- std as error bars,
    stars by p-value (* < 0.05, ** < 0.01, *** < 0.001; Bonferroni-adjusted when the run used it), significant
    concepts in blue, the others grey; the random-vs-random null as a dashed line at its mean and a band of
    +- one std (Kim et al. 2018, TCAV)."""
    concepts = result.concepts
    figure = go.Figure(
        go.Bar(
            x=[c.concept for c in concepts],
            y=[c.score for c in concepts],
            error_y={"type": "data", "array": [c.score_std for c in concepts], "visible": True},
            marker_color=["#1f77b4" if c.significant else "#b0b0b0" for c in concepts],
            text=[c.stars for c in concepts],
            textposition="outside",
            customdata=[[c.p_adjusted, c.magnitude] for c in concepts],
            name="concept",
            hovertemplate="%{x}: TCAV %{y:.3f} +- %{error_y.array:.3f}, p %{customdata[0]:.3g}, "
            "magnitude %{customdata[1]:.3g}<extra></extra>",
        )
    )
    low, high = max(0.0, result.random_mean - result.random_std), min(1.0, result.random_mean + result.random_std)
    figure.add_hrect(y0=low, y1=high, fillcolor="#ff7f0e", opacity=0.15, line_width=0)
    figure.add_hline(
        y=result.random_mean,
        line_dash="dash",
        line_color="#ff7f0e",
        annotation_text=f"random {result.random_mean:.2f} +- {result.random_std:.2f}",
        annotation_position="top left",
    )
    figure.update_layout(
        title=f"TCAV scores for class {result.target_class} at {result.layer}",
        height=height,
        yaxis={"range": [0, 1.15], "title": "TCAV score (share of class inputs)"},
        xaxis={"type": "category", "title": "concept"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        showlegend=False,
    )
    return figure


PAPER_TABLE_2 = {
    "CNN only": {"accuracy": 92.4, "fid": None, "score": 61},
    "GAN only": {"accuracy": None, "fid": 28.7, "score": 54},
    "Unified framework": {"accuracy": 91.8, "fid": 29.3, "score": 79},
}


def training_dynamics_figure(history: Sequence[dict], title: str = "", height: int = 380) -> go.Figure:
    """A GAN's training per epoch (its manifest ``history``): D(real) and D(fake), the discriminator's mean
    probabilities, on the left axis; the generator's and discriminator's losses on the right."""
    epochs = [record["epoch"] for record in history]
    figure = go.Figure()
    for key, name, dash in (
        ("d_real", "D(real)", "solid"),
        ("d_fake", "D(fake)", "solid"),
        ("loss_g", "loss G", "dot"),
        ("loss_d", "loss D", "dot"),
    ):
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=[record[key] for record in history],
                name=name,
                mode="lines+markers",
                line={"dash": dash},
                yaxis="y" if key.startswith("d_") else "y2",
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.3f}}<extra></extra>",
            )
        )
    figure.add_hline(y=0.5, line_dash="dash", line_color="grey", annotation_text="D cannot tell (0.5)")
    figure.update_layout(
        title=title,
        height=height,
        xaxis={"title": "epoch"},
        yaxis={"title": "discriminator probability", "range": [0, 1]},
        yaxis2={"title": "loss", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def augmentation_figure(summary: Sequence[dict], title: str = "Test accuracy: real vs real + GAN", height: int = 340) -> go.Figure:
    """Bars of accuracy mean +- std (over seeds) per training condition."""
    figure = go.Figure(
        go.Bar(
            x=[row["condition"] for row in summary],
            y=[row["accuracy_mean"] for row in summary],
            error_y={"type": "data", "array": [row["accuracy_std"] for row in summary], "visible": True},
            text=[f"{row['accuracy_mean']:.1%}" for row in summary],
            textposition="outside",
            marker_color=["#1f77b4", "#ff7f0e"],
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    low = min(row["accuracy_mean"] - row["accuracy_std"] for row in summary)
    figure.update_layout(
        title=title,
        height=height,
        yaxis={"title": "test accuracy", "tickformat": ".0%", "range": [max(0, low - 0.1), 1]},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def audit_figure(rows: Sequence[dict], metric: str, label: str = "", height: int = 360) -> go.Figure:
    """Per class: the metric's mean +- std on real and on GAN images; classes whose distributions differ
    (KS test p < 0.05) are starred."""
    chosen = [row for row in rows if row["metric"] == metric]
    classes = [row["class"] + (" *" if row["p_value"] < 0.05 else "") for row in chosen]
    figure = go.Figure()
    for side, colour in (("real", "#1f77b4"), ("synthetic", "#ff7f0e")):
        figure.add_trace(
            go.Bar(
                name=side,
                x=classes,
                y=[row[f"{side}_mean"] for row in chosen],
                marker_color=colour,
                error_y={"type": "data", "array": [row[f"{side}_std"] for row in chosen], "visible": True},
            )
        )
    figure.update_layout(
        barmode="group",
        height=height,
        title=label or metric,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": "class (* KS p < 0.05)", "type": "category"},
    )
    return figure


def explainability_score_figure(summary: Sequence[dict], height: int = 380) -> go.Figure:
    """Score mean +- std per system beside the paper's Table 2 value, and each part's weighted contribution."""
    systems = [row["system"] for row in summary]
    total = sum(PART_WEIGHTS.values())
    figure = go.Figure()
    for part, weight in PART_WEIGHTS.items():
        figure.add_trace(
            go.Bar(
                name=f"{part} (w {weight})",
                x=systems,
                y=[100 * weight / total * row[f"{part}_mean"] for row in summary],
                offsetgroup="ours",
                hovertemplate=f"{part}: %{{y:.1f}} points<extra></extra>",
            )
        )
    figure.add_trace(
        go.Bar(
            name="paper (Table 2)",
            x=systems,
            y=[PAPER_TABLE_2.get(s, {}).get("score") for s in systems],
            offsetgroup="paper",
            marker_color="#bbbbbb",
            hovertemplate="paper: %{y}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            name="ours (mean +- std)",
            x=systems,
            y=[row["score_mean"] for row in summary],
            mode="markers+text",
            text=[f"{row['score_mean']:.1f}" for row in summary],
            textposition="top center",
            error_y={"type": "data", "array": [row["score_std"] for row in summary]},
            marker={"color": "black"},
        )
    )
    figure.update_layout(
        barmode="stack",
        height=height,
        title="Explainability score and its parts",
        yaxis={"range": [0, 100]},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def survey_question_figure(per_question: pd.DataFrame, height: int | None = None) -> go.Figure:
    """Stacked horizontal bars per question, question 1 on top: percent of votes for method a / equal / method b,
    like Fig. 17 of "Interpreting CNN with conditional GANs". When every question compares the same two methods the
    traces carry their names; otherwise they are "method a" / "method b" and each question's label names its pair.

    per_question: :func:`xai_core.survey.analysis.preference_by_question`."""
    pairs = list(dict.fromkeys(zip(per_question["method_a"], per_question["method_b"])))
    one_pair = len(pairs) == 1
    names = (method_label(pairs[0][0]), "equal", method_label(pairs[0][1])) if one_pair else ("method a", "equal", "method b")
    labels = [
        f"Q{question}" if one_pair else f"Q{question} · {method_label(a)} vs {method_label(b)}"
        for question, a, b in zip(per_question["question"], per_question["method_a"], per_question["method_b"])
    ]
    total = per_question["n"].where(per_question["n"] > 0)
    figure = go.Figure()
    for name, column, colour in zip(names, ("votes_a", "equal", "votes_b"), ("#1f77b4", "#b0b0b0", "#ff7f0e")):
        figure.add_trace(
            go.Bar(
                name=name,
                x=(100 * per_question[column] / total).tolist(),
                y=labels,
                orientation="h",
                marker_color=colour,
                customdata=per_question[column].tolist(),
                hovertemplate="%{y}: %{x:.0f}% (%{customdata} votes)<extra>" + name + "</extra>",
            )
        )
    figure.update_layout(
        title="Which explanation do people understand better?",
        barmode="stack",
        legend={"orientation": "h", "traceorder": "normal", "x": 0, "y": 1.0, "yanchor": "bottom"},
        xaxis={"range": [0, 100], "title": "votes (%)"},
        yaxis={"type": "category", "autorange": "reversed"},
        height=height or 150 + 24 * len(per_question),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return figure


def survey_preference_figure(pairwise: pd.DataFrame, height: int = 360) -> go.Figure:
    """Per method pair: the share of decisive votes for the first method with its Wilson interval as error bars,
    a dashed line at 50 %, wins, ties and the exact binomial p-value in the hover.

    pairwise: :func:`xai_core.survey.analysis.pairwise_preference`."""
    share = pairwise["share_a"]
    figure = go.Figure(
        go.Bar(
            x=[f"{method_label(a)} vs {method_label(b)}" for a, b in zip(pairwise["method_a"], pairwise["method_b"])],
            y=share.tolist(),
            marker_color="#1f77b4",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (pairwise["ci_high"] - share).tolist(),
                "arrayminus": (share - pairwise["ci_low"]).tolist(),
                "visible": True,
            },
            customdata=pairwise[["wins_a", "wins_b", "ties", "p_value"]].values.tolist(),
            hovertemplate="%{x}: %{y:.1%} prefer the first (%{customdata[0]} vs %{customdata[1]}, %{customdata[2]} ties), "
            "binomial p %{customdata[3]:.3g}<extra></extra>",
        )
    )
    figure.add_hline(y=0.5, line_dash="dash", line_color="#7f7f7f", annotation_text="no preference", annotation_position="top left")
    figure.update_layout(
        title="Preference per method pair (decisive votes, Wilson interval)",
        height=height,
        yaxis={"range": [0, 1], "tickformat": ".0%", "title": "share preferring the first method"},
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def bradley_terry_figure(strengths: pd.DataFrame, height: int = 340) -> go.Figure:
    """Bradley-Terry strength per method, strongest first (they sum to 1; Hunter 2004).

    strengths: :func:`xai_core.survey.analysis.bradley_terry`."""
    figure = go.Figure(
        go.Bar(
            x=[method_label(method) for method in strengths["method"]],
            y=strengths["strength"].tolist(),
            marker_color="#1f77b4",
            text=[f"#{rank}" for rank in strengths["rank"]],
            textposition="outside",
            customdata=strengths[["wins", "losses", "ties"]].values.tolist(),
            hovertemplate="%{x}: strength %{y:.3f} (%{customdata[0]} wins, %{customdata[1]} losses, %{customdata[2]} ties)<extra></extra>",
        )
    )
    figure.update_layout(
        title="Bradley-Terry strengths",
        height=height,
        yaxis={"range": [0, 1.1], "title": "strength"},
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def response_time_figure(regular: pd.DataFrame, height: int = 360) -> go.Figure:
    """Box of response seconds per respondent, every answer as a point, with the overall median as a dashed line:
    unusually fast respondents stand out.

    regular: one row per answer to a regular question (attention checks already left out, e.g. by
    :func:`xai_core.survey.analysis.regular_votes`), with columns ``respondent`` and ``response_seconds``."""
    figure = go.Figure(
        go.Box(
            x=regular["respondent"].tolist(),
            y=regular["response_seconds"].tolist(),
            boxpoints="all",
            jitter=0.3,
            marker_color="#1f77b4",
            name="seconds",
            hovertemplate="%{x}: %{y:.1f} s<extra></extra>",
        )
    )
    if not regular.empty:
        median = float(regular["response_seconds"].median())
        figure.add_hline(
            y=median,
            line_dash="dash",
            line_color="#ff7f0e",
            annotation_text=f"overall median {median:.1f} s",
            annotation_position="top left",
        )
    figure.update_layout(
        title="Response time per respondent",
        height=height,
        showlegend=False,
        yaxis={"title": "seconds", "rangemode": "tozero"},
        xaxis={"type": "category", "title": "respondent"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def _word_bars_figure(
    records: Sequence[dict], column: str, title: str, y_title: str, chosen_position: int | None, height: int
) -> go.Figure:
    """Grouped bars of one word_table column: x = "position. word" (1-based, so a repeated word keeps one group per
    position), one bar per method in the records' order; a missing value (None) leaves a gap. The chosen word's
    group sits on a grey band."""
    labels = {row["position"]: f"{row['position'] + 1}. {row['word']}" for row in records}
    positions = sorted(labels)
    figure = go.Figure()
    for method in dict.fromkeys(row["method"] for row in records):
        values = {row["position"]: row[column] for row in records if row["method"] == method}
        figure.add_trace(
            go.Bar(
                name=method_label(method),
                x=[labels[p] for p in positions],
                y=[values.get(p) for p in positions],
                hovertemplate="%{x}: %{y:.3f}<extra>" + method_label(method) + "</extra>",
            )
        )
    if chosen_position in labels:
        index = positions.index(chosen_position)
        figure.add_vrect(x0=index - 0.5, x1=index + 0.5, fillcolor="#7f7f7f", opacity=0.15, line_width=0, layer="below")
    figure.update_layout(
        title=title,
        barmode="group",
        height=height,
        yaxis={"range": [0, 1], "title": y_title},
        xaxis={"type": "category"},
        legend={"orientation": "h"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def word_mass_figure(records: Sequence[dict], chosen_position: int | None = None, height: int = 380) -> go.Figure:
    """Per word of a caption and per method: the share of the word's map on the object it names (energy pointing
    game, Wang et al. 2020; SFT-GAN paper §6.2). Relation words name no object: no bar, and a "no object" label.

    records: :func:`xai_core.captioning.word_table` rows (position, word, role, method, mass_on_object, ...)."""
    figure = _word_bars_figure(
        records, "mass_on_object", "Mass on the named object, per word", "share of the map on the object", chosen_position, height
    )
    relation_words = {row["position"]: f"{row['position'] + 1}. {row['word']}" for row in records if row["role"] == "relation"}
    for label in relation_words.values():
        figure.add_annotation(x=label, y=0, text="no object", textangle=-90, showarrow=False, yanchor="bottom", font={"color": "#7f7f7f"})
    return figure


def word_intensity_figure(records: Sequence[dict], chosen_position: int | None = None, height: int = 380) -> go.Figure:
    """Per word of a caption and per method: the mean map value over the scene's objects (the paper's "verbs get less
    intensity", §6.2, with relation words in the verbs' place).

    records: :func:`xai_core.captioning.word_table` rows (position, word, role, method, intensity, ...)."""
    return _word_bars_figure(
        records, "intensity", "Map intensity on the scene's objects, per word", "mean map value on the objects", chosen_position, height
    )
