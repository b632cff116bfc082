"""The HTML audit report (unified XAI framework paper, §3.4: original and generated images side by side with
their explanations, for auditing): ONE self-contained file that opens offline.

* For explanation bundles (:mod:`xai_core.reports.bundle`): the original and generated image, every map as an
  overlay, the scores with each metric's direction, concept (TCAV) bars, latent-sensitivity bars with the
  top dimensions' pixel maps, free-form charts, and the provenance table.
* For a finished evaluation run (a directory written by :func:`xai_core.metrics.suite.write_evaluation`): its
  configuration, the summary table with directions, the sanity verdicts, one chart per metric and the provenance
  (file sha256, models' checkpoint sha256, library versions).

Images are base64 PNG, plotly.js is inlined once (no CDN), and every string that comes from a user, a file or a
manifest is HTML-escaped.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go
import torch
from plotly.offline import get_plotlyjs

from ..explainers import method_label
from ..imaging import colorize, fit_to_side, image_to_rgb, overlay, png_data_uri, to_uint8
from ..metrics.suite import METRICS, SUMMARY_COLUMNS
from ..models import Prediction, model_info
from ..versions import __version__
from .bundle import GAN, GENERATED, ORIGINAL, ExplanationBundle, LatentSensitivityShares, NormalisedConceptScore, Score, utc_timestamp
from .charts import top_k_figure
from .evaluation_report import evaluation_figures
from .experiments import EVALUATION_CACHE_DIR

DISPLAY_SIDE = 192
OVERLAY_OPACITY = 0.5
COLORMAP = "jet"
LATENT_BARS = 16
LATENT_MAP_SIDE = 128
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
SUBJECT_TITLES = {ORIGINAL: "Original image", GENERATED: "Generated image", GAN: "GAN"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; color: #1b1b1b; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin-top: 1.8rem; } .meta, .note { color: #555; font-size: .9rem; }
.grid { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; text-align: center; } figure img { image-rendering: pixelated; border: 1px solid #ccc; }
figcaption { font-size: .85rem; max-width: 200px; margin: .3rem auto 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f3f3f3; }
.hash { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
details { margin: .5rem 0; } code { font-size: .85rem; }
"""


def esc(value: object) -> str:
    """HTML-escape anything shown in the report (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------- charts


def concept_scores_figure(concept_scores: Sequence[NormalisedConceptScore], height: int = 360) -> go.Figure:
    """Bars of TCAV scores (share of class inputs with a positive concept derivative), the random concepts' mean as
    a marker on each bar, stars for significance (* p < 0.05, ** p < 0.01, *** p < 0.001)."""
    names = [c.concept + (f" @ {c.layer}" if c.layer else "") + (f" → {c.target}" if c.target else "") for c in concept_scores]
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            name="TCAV score",
            x=names,
            y=[c.score for c in concept_scores],
            marker_color="#1f77b4",
            text=[_stars(c.p_value) for c in concept_scores],
            textposition="outside",
            customdata=[[c.centred, "n/a" if c.p_value is None else f"{c.p_value:.3g}"] for c in concept_scores],
            hovertemplate="%{x}: %{y:.3f} (vs random %{customdata[0]:+.3f}, p = %{customdata[1]})<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            name="random concepts (mean)",
            x=names,
            y=[c.random_mean for c in concept_scores],
            mode="markers",
            marker={"symbol": "line-ew", "size": 44, "line": {"width": 3, "color": "#d62728"}},
        )
    )
    figure.update_layout(
        title="Concept sensitivity (TCAV)",
        yaxis={"range": [0, 1.1], "title": "TCAV score"},
        xaxis={"type": "category"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h"},
    )
    return figure


def _stars(p_value: float | None) -> str:
    if p_value is None:
        return ""
    return "***" if p_value < 0.001 else "**" if p_value < 0.01 else "*" if p_value < 0.05 else "n.s."


def latent_sensitivity_figure(latent: LatentSensitivityShares, top: int = LATENT_BARS, height: int = 340) -> go.Figure:
    """Bars of the ``top`` most sensitive latent dimensions' shares of the total sensitivity, most sensitive first."""
    dimensions = latent.top(top)
    figure = go.Figure(
        go.Bar(
            x=[f"z{d}" for d in dimensions],
            y=[float(latent.shares[d]) for d in dimensions],
            marker_color="#9467bd",
            customdata=[[int(latent.ranks[d]), float(latent.sensitivity[d])] for d in dimensions],
            hovertemplate="%{x}: %{y:.2%} of the total (rank %{customdata[0]}, E||dG/dz|| = %{customdata[1]:.4g})<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Latent sensitivity: top {len(dimensions)} of {latent.shares.numel()} dimensions",
        yaxis={"title": "share of total sensitivity", "tickformat": ".1%"},
        xaxis={"type": "category"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


class _Charts:
    """Numbers the plotly divs of one report (ids must be unique in the file)."""

    def __init__(self) -> None:
        self.count = 0

    def div(self, figure: go.Figure) -> str:
        self.count += 1
        return figure.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=f"chart-{self.count}")


# ---------------------------------------------------------------- HTML pieces


def _figure(array, caption: str, alt: str) -> str:
    return (
        f'<figure><img src="{png_data_uri(array)}" alt="{esc(alt)}" width="{array.shape[1]}" height="{array.shape[0]}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _image_array(image: torch.Tensor, side: int = DISPLAY_SIDE):
    return fit_to_side(to_uint8(image_to_rgb(image)), side)


NUMBER_CELL = ' class="number"'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; ``header`` and cells are already-escaped HTML, columns in ``numeric`` right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{NUMBER_CELL if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def direction(higher_is_better: bool | None) -> str:
    return "↑ higher is better" if higher_is_better else "— (context)" if higher_is_better is None else "↓ lower is better"


def _format_value(value: float, unit: str = "") -> str:
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value:.4g}"


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if not value:
            return [(prefix, "{}")]
        return [row for key, item in value.items() for row in _flatten(f"{prefix}.{key}" if prefix else str(key), item)]
    if isinstance(value, (list, tuple)):
        return [(prefix, json.dumps(value))]
    return [(prefix, "—" if value is None or value == "" else str(value))]


def provenance_table(provenance: dict) -> str:
    """Nested provenance as rows of (dotted field, value); sha256 values in a monospace cell."""
    return _table(
        ["field", "value"],
        [
            (f"<code>{esc(key)}</code>", f'<span class="hash">{esc(value)}</span>' if "sha256" in key else esc(value))
            for key, value in _flatten("", provenance)
        ],
    )


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{esc(anchor)}" class="report-section"><h3>{esc(heading)}</h3>{body}</section>'


def _page(title: str, body: str, with_plotly: bool, contents: Sequence[tuple[str, str]]) -> str:
    plotly = f'<script type="text/javascript">{get_plotlyjs()}</script>' if with_plotly else ""
    toc = "".join(f'<li><a href="#{esc(anchor)}">{esc(text)}</a></li>' for anchor, text in contents)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{esc(title)}</title><style>{STYLE}</style>{plotly}</head><body>'
        f'<header><h1>{esc(title)}</h1><p class="meta">XAI Studio {esc(__version__)} audit report, written '
        f"{esc(utc_timestamp())}. Self-contained: images and charts are embedded, nothing is fetched.</p></header>"
        f"<nav><ul>{toc}</ul></nav>{body}</body></html>\n"
    )


# ---------------------------------------------------------------- bundle report


def _class_name(bundle: ExplanationBundle, label: int) -> str:
    return f"{label}: {bundle.classes[label]}" if 0 <= label < len(bundle.classes) else str(label)


def _images_section(bundle: ExplanationBundle, charts: _Charts) -> str:
    """Original and generated image with caption, prediction and explained class; top-k bars; the latent code."""
    figures = []
    for subject, image in bundle.images.items():
        lines = [f"<b>{esc(SUBJECT_TITLES[subject])}</b>", esc(bundle.captions.get(subject, ""))]
        if bundle.predictions.get(subject):
            best = bundle.predictions[subject][0]
            lines.append(f"predicted {esc(best['name'])} ({best['probability']:.1%})")
        if subject in bundle.targets:
            lines.append(f"explained class {esc(_class_name(bundle, bundle.targets[subject]))}")
        figures.append(_figure(_image_array(image), "<br>".join(lines), SUBJECT_TITLES[subject]))
    body = f'<div class="grid">{"".join(figures)}</div>' if figures else '<p class="note">No image in this bundle.</p>'
    for subject, predictions in bundle.predictions.items():
        figure = top_k_figure(
            [Prediction(p["label"], p["name"], p["probability"]) for p in predictions], bundle.targets.get(subject), height=260
        )
        body += charts.div(figure.update_layout(title=f"{SUBJECT_TITLES[subject]}: top predictions (explained class in green)"))
    if bundle.latent is not None:
        label = "" if bundle.generated_label is None else f", class {esc(_class_name(bundle, bundle.generated_label))}"
        code = ", ".join(f"{v:.4f}" for v in bundle.latent.tolist())
        body += f"<details><summary>Latent code ({bundle.latent.numel()} values{label})</summary><code>[{code}]</code></details>"
    return body


def _maps_section(bundle: ExplanationBundle) -> str:
    """Every normalised map as an overlay on its image, per subject, and the methods that did not apply."""
    body = ""
    for subject in (ORIGINAL, GENERATED):
        maps, skipped = bundle.maps.get(subject, {}), bundle.not_applicable.get(subject, {})
        if not maps and not skipped:
            continue
        image = bundle.images.get(subject)
        shown = None if image is None else torch.tensor(_image_array(image)).permute(2, 0, 1).float() / 255
        tiles = []
        for method, saliency in maps.items():
            picture = (
                fit_to_side(colorize(saliency, COLORMAP), DISPLAY_SIDE)
                if shown is None
                else overlay(shown, saliency[None], OVERLAY_OPACITY, COLORMAP)
            )
            tiles.append(_figure(picture, esc(method_label(method)), f"{method_label(method)} map of the {subject} image"))
        body += f'<h4>{esc(SUBJECT_TITLES[subject])}</h4><div class="grid">{"".join(tiles)}</div>'
        body += "".join(f'<p class="note">{esc(method_label(m))}: not applicable ({esc(reason)})</p>' for m, reason in skipped.items())
    if not body:
        return '<p class="note">No explanation maps in this bundle.</p>'
    size = "" if bundle.map_size is None else f" at {bundle.map_size[0]}x{bundle.map_size[1]}"
    return (
        f'<p class="note">Every map is min-max normalised to [0, 1]{esc(size)} (a constant map is all zeros) and drawn in '
        f"the {COLORMAP} colormap at {OVERLAY_OPACITY:.0%} opacity over the image.</p>" + body
    )


def _scores_section(scores: Sequence[Score]) -> str:
    if not scores:
        return '<p class="note">No scores in this bundle.</p>'
    return _table(
        ["image", "method", "metric", "family", "value", "direction"],
        [
            (
                esc(SUBJECT_TITLES.get(s.subject, s.subject)),
                esc(method_label(s.method)) if s.method else "—",
                esc(s.label),
                esc(s.family),
                esc(_format_value(s.value, s.unit)),
                esc(direction(s.higher_is_better)),
            )
            for s in scores
        ],
        numeric=[4],
    )


def _concepts_section(concept_scores: Sequence[NormalisedConceptScore], charts: _Charts) -> str:
    if not concept_scores:
        return '<p class="note">No concept (TCAV) scores in this bundle.</p>'
    significance = {True: "yes", False: "no", None: "—"}
    return charts.div(concept_scores_figure(concept_scores)) + _table(
        ["concept", "layer", "class", "TCAV score", "minus random mean", "p", "significant (p < 0.05)"],
        [
            (
                esc(c.concept),
                esc(c.layer or "—"),
                esc(c.target or "—"),
                f"{c.score:.3f}",
                f"{c.centred:+.3f}",
                "—" if c.p_value is None else f"{c.p_value:.3g}",
                significance[c.significant()],
            )
            for c in concept_scores
        ],
        numeric=[3, 4, 5],
    )


def _latent_section(latent: LatentSensitivityShares | None, charts: _Charts) -> str:
    if latent is None:
        return '<p class="note">No GAN sample in this bundle, so no latent sensitivities.</p>'
    body = (
        charts.div(latent_sensitivity_figure(latent))
        + '<p class="note">Share of E||dG(z)/dz<sub>i</sub>|| (exact, forward-mode autodiff) at this sample.</p>'
    )
    tiles = [
        _figure(
            fit_to_side(colorize(m, COLORMAP), LATENT_MAP_SIDE),
            f"z{d}: rank {int(latent.ranks[d])}, {float(latent.shares[d]):.1%}",
            f"where latent dimension {d} acts",
        )
        for d, m in latent.pixel_maps.items()
    ]
    if tiles:
        body += (
            '<p class="note">Where the most sensitive dimensions act (|dG/dz<sub>i</sub>|, normalised):</p>'
            f'<div class="grid">{"".join(tiles)}</div>'
        )
    return body


def _bundle_html(bundle: ExplanationBundle, number: int, charts: _Charts) -> tuple[str, list[tuple[str, str]]]:
    """One bundle's sections, and its (anchor, text) entries of the table of contents."""
    prefix = f"bundle-{number}"
    sections = [
        (f"{prefix}-images", "Images", _images_section(bundle, charts)),
        (f"{prefix}-maps", "Explanation maps", _maps_section(bundle)),
        (f"{prefix}-scores", "Scores", _scores_section(list(bundle.scores.values()))),
        (f"{prefix}-concepts", "Concepts (TCAV)", _concepts_section(bundle.concept_scores, charts)),
        (f"{prefix}-latent", "Latent sensitivity", _latent_section(bundle.latent_sensitivity, charts)),
    ]
    if bundle.charts:
        sections.append((f"{prefix}-charts", "Charts", "".join(charts.div(figure) for figure in bundle.charts.values())))
    sections.append((f"{prefix}-provenance", "Provenance", provenance_table(bundle.provenance)))
    title = bundle.title or f"Bundle {number}"
    html_text = (
        f'<section class="bundle" id="{prefix}"><h2>{esc(title)}</h2>'
        + "".join(_section(anchor, heading, body) for anchor, heading, body in sections)
        + "</section>"
    )
    return html_text, [(prefix, title)] + [(anchor, f"· {heading}") for anchor, heading, _ in sections]


def render_bundle_report(bundles: Sequence[ExplanationBundle], title: str = "") -> str:
    if not bundles:
        raise ValueError("an audit report needs at least one bundle")
    charts = _Charts()
    parts, contents = [], []
    for number, bundle in enumerate(bundles, start=1):
        part, toc = _bundle_html(bundle, number, charts)
        parts.append(part)
        contents += toc
    return _page(
        title or (bundles[0].title if len(bundles) == 1 else "XAI Studio audit report"), "".join(parts), charts.count > 0, contents
    )


# ---------------------------------------------------------------- evaluation runs


@dataclass
class EvaluationRun:
    """A finished evaluation run read from its directory (``results.json`` and ``summary.csv``)."""

    path: Path
    config: dict
    versions: dict
    summary: list[dict]
    sanity: list[dict]
    skipped: list[dict]
    rows: int
    file_sha256: dict[str, str]


def load_evaluation_run(run_dir: str | Path) -> EvaluationRun:
    """Read and check a directory written by :func:`xai_core.metrics.suite.write_evaluation`; raises ValueError
    saying what is missing or malformed."""
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    missing = [name for name in ("results.json", "summary.csv") if not (path / name).is_file()]
    if missing:
        raise ValueError(
            f"{path} is not a finished evaluation run: {', '.join(missing)} missing "
            "(write one with: python -m xai_core evaluate ... --out DIR)"
        )
    raw = (path / "results.json").read_bytes()
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path / 'results.json'} is not valid JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict) or not isinstance(document.get("summary"), list):
        raise ValueError(f"{path / 'results.json'} has no config and summary: not written by the evaluation suite")
    columns = set(SUMMARY_COLUMNS)
    for row in document["summary"]:
        if not isinstance(row, dict) or not columns <= set(row):
            raise ValueError(f"{path / 'results.json'}: a summary row lacks {', '.join(sorted(columns - set(row or {})))}")
    with (path / "summary.csv").open(newline="") as handle:
        header = next(csv.reader(handle), [])
    if list(header) != list(SUMMARY_COLUMNS):
        raise ValueError(f"{path / 'summary.csv'} has columns {header}, expected {list(SUMMARY_COLUMNS)}")
    hashes = {name: hashlib.sha256((path / name).read_bytes()).hexdigest() for name in ("results.json", "summary.csv")}
    return EvaluationRun(
        path.resolve(),
        document["config"],
        document.get("versions", {}),
        document["summary"],
        document.get("sanity", []),
        document.get("skipped", []),
        len(document.get("rows", [])),
        hashes,
    )


def list_evaluation_runs(root: str | Path = EVALUATION_CACHE_DIR) -> list[Path]:
    """Directories under ``root`` holding a finished run (results.json and summary.csv), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if (p / "results.json").is_file() and (p / "summary.csv").is_file()]
    return sorted(runs, key=lambda p: ((p / "results.json").stat().st_mtime, p.name), reverse=True)


def _run_provenance(run: EvaluationRun) -> dict:
    models = {}
    for pair in run.config.get("pairs", []):
        model_id = str(pair).partition("@")[0]
        try:
            models[model_id] = model_info(model_id)["sha256"]
        except KeyError:
            models[model_id] = "not in this installation's manifests"
    modified = datetime.fromtimestamp((run.path / "results.json").stat().st_mtime, UTC).isoformat(timespec="seconds")
    return {
        "run_directory": str(run.path),
        "configuration_key": run.config.get("key", ""),
        "files_sha256": run.file_sha256,
        "models_sha256": models,
        "seeds": run.config.get("seeds", []),
        "versions": run.versions,
        "results_written": modified,
        "report_created": utc_timestamp(),
    }


def render_run_report(run_dir: str | Path, title: str = "") -> str:
    """The audit report of a finished evaluation run: configuration, summary with directions, sanity verdicts,
    charts per metric, provenance. Long: an HTML template, read top to bottom like the report."""
    run = load_evaluation_run(run_dir)
    charts = _Charts()
    config = run.config
    settings = config.get("settings", {})
    body = _table(
        ["setting", "value"],
        [
            (esc(k), esc(v if not isinstance(v, (list, dict)) else json.dumps(v)))
            for k, v in [
                ("pairs", config.get("pairs", [])),
                ("methods", config.get("methods", [])),
                ("metrics", config.get("metrics", [])),
                ("images per pair and seed", config.get("n", "")),
                ("seeds", config.get("seeds", [])),
                ("values", run.rows),
                *settings.items(),
            ]
        ],
    )
    if run.skipped:
        body += "".join(
            f'<p class="note">{esc(s.get("pair", ""))}: {esc(s.get("method", ""))} skipped ({esc(s.get("reason", ""))})</p>'
            for s in run.skipped
        )
    sections = [("run-configuration", "Configuration", body)]

    def metric_text(name: str) -> tuple[str, str]:
        metric = METRICS.get(name)
        return (metric.label, direction(metric.higher_is_better)) if metric else (name, "unknown metric")

    rows = []
    for row in run.summary:
        label, way = metric_text(row["metric"])
        unit = METRICS[row["metric"]].unit if row["metric"] in METRICS else ""
        rows.append(
            (
                esc(row["pair"]),
                esc(method_label(str(row["method"]))),
                esc(label),
                esc(row["level"] or "—"),
                esc(f"{_format_value(float(row['mean']), unit)} ± {_format_value(float(row['std']), unit)}"),
                esc(row["seeds"]),
                esc(row["images"]),
                esc(way),
            )
        )
    body = (
        _table(
            ["pair", "method", "metric", "level", "mean ± std over seeds", "seeds", "images per seed", "direction"], rows, numeric=[4, 5, 6]
        )
        if rows
        else '<p class="note">The run has no values.</p>'
    )
    sections.append(("run-scores", "Scores", body))

    if run.sanity:
        body = _table(
            ["pair", "method", "final rank correlation", "verdict"],
            [
                (
                    esc(v.get("pair", "")),
                    esc(method_label(str(v.get("method", "")))),
                    f"{float(v.get('final_correlation', 0)):.3f}",
                    "passes" if v.get("passed") else "<b>FAILS</b>",
                )
                for v in run.sanity
            ],
            numeric=[2],
        )
        sections.append(("run-sanity", "Sanity check (cascading randomisation)", body))

    known = [row for row in run.summary if row["metric"] in METRICS]
    figures = evaluation_figures(known)
    body = "".join(charts.div(figure) for figure in figures.values()) or '<p class="note">No charts: the run has no known metric.</p>'
    sections.append(("run-charts", "Charts", body))
    sections.append(("run-provenance", "Provenance", provenance_table(_run_provenance(run))))
    title = title or f"Evaluation run {run.path.name}"
    content = "".join(_section(anchor, heading, body) for anchor, heading, body in sections)
    return _page(
        title,
        f'<section class="run" id="run"><h2>{esc(run.path.name)}</h2>{content}</section>',
        charts.count > 0,
        [(anchor, heading) for anchor, heading, _ in sections],
    )


# ---------------------------------------------------------------- entry points


def render_audit_report(source: ExplanationBundle | Sequence[ExplanationBundle] | str | Path, title: str = "") -> str:
    """One self-contained HTML document for a bundle, a list of bundles, or a finished evaluation run directory."""
    if isinstance(source, ExplanationBundle):
        return render_bundle_report([source], title)
    if isinstance(source, (str, Path)):
        return render_run_report(source, title)
    bundles = list(source)
    if not all(isinstance(b, ExplanationBundle) for b in bundles):
        raise TypeError("render_audit_report takes a bundle, a list of bundles or an evaluation run directory")
    return render_bundle_report(bundles, title)


def write_audit_report(source: ExplanationBundle | Sequence[ExplanationBundle] | str | Path, path: str | Path, title: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_audit_report(source, title), encoding="utf-8")
    return path
