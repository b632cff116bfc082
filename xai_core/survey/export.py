"""A survey's results as files: the responses as CSV (one row per stored vote), the analysis both ways
(all respondents, and without those who failed an attention check) as JSON, and the charts as
self-contained HTML. Shared by the Survey results page and ``python -m xai_core survey-report``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.explainability_score import explainability_score
from ..reports.charts import bradley_terry_figure, response_time_figure, survey_preference_figure, survey_question_figure
from .analysis import SurveyAnalysis, analyse_both_ways, analysed_votes, json_records, preference_by_role, regular_votes
from .design import ROBUSTNESS_METRIC
from .repository import SurveyInfo, SurveyStore

# the explainability score's map parts, from the metrics stored with each question: part -> (metric, to [0, 1])
SCORE_PARTS = {
    "fidelity": ("average_drop", lambda drop: 1 - drop / 100),
    "localisation": ("energy_pointing_game", lambda share: share),
    "robustness": (ROBUSTNESS_METRIC, lambda correlation: correlation),
}
SCORE_COLUMNS = ["method", *SCORE_PARTS, "human_preference", "score_without_people", "score"]


@dataclass
class SurveyReport:
    survey: SurveyInfo
    responses: pd.DataFrame  # SurveyStore.responses: every vote, attention checks included
    stimulus_metrics: pd.DataFrame
    analyses: dict[str, SurveyAnalysis]  # "all respondents", "passed attention checks"
    scores: dict[str, pd.DataFrame]  # per analysis: method_scores
    word_roles: dict[str, pd.DataFrame]  # per analysis: preference_by_role (captioning surveys; empty otherwise)


def method_scores(analysis: SurveyAnalysis, stimulus_metrics: pd.DataFrame) -> pd.DataFrame:
    """The explainability score (docs/explainability_score.md) of each surveyed method: fidelity, localisation and
    robustness are means over the survey's questions of the metrics stored with them; human preference is the
    method's share of its comparisons won, a tie counting half. Scores are NaN when a part is missing (no masks)."""
    rows = []
    for row in analysis.strengths.itertuples():
        metrics = stimulus_metrics[stimulus_metrics["method"] == row.method]
        parts = {
            part: float(convert(metrics.loc[metrics["metric"] == metric, "value"].mean()))
            for part, (metric, convert) in SCORE_PARTS.items()
        }
        comparisons = row.wins + row.losses + row.ties
        people = (row.wins + row.ties / 2) / comparisons if comparisons else float("nan")
        complete = not any(np.isnan(value) for value in parts.values())
        rows.append(
            {
                "method": row.method,
                **parts,
                "human_preference": people,
                "score_without_people": explainability_score(parts) if complete else float("nan"),
                "score": explainability_score(parts, None if np.isnan(people) else people) if complete else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def survey_report(store: SurveyStore, code: str) -> SurveyReport:
    responses = store.responses(code)
    metrics = store.stimulus_metrics(code)
    analyses = analyse_both_ways(responses, metrics)
    roles = {stimulus.position: stimulus.details["role"] for stimulus in store.stimuli(code) if "role" in stimulus.details}
    return SurveyReport(
        store.survey(code),
        responses,
        metrics,
        analyses,
        {name: method_scores(analysis, metrics) for name, analysis in analyses.items()},
        {name: preference_by_role(analysis.per_question, roles) for name, analysis in analyses.items()},
    )


def responses_csv(responses: pd.DataFrame) -> bytes:
    """UTF-8 CSV, one row per vote; times in ISO 8601 UTC, model versions as JSON text, comments verbatim."""
    table = responses.copy()
    for column in ("shown_at", "answered_at"):
        table[column] = pd.to_datetime(table[column], utc=True).map(lambda moment: moment.isoformat())
    table["model_versions"] = table["model_versions"].map(lambda versions: json.dumps(versions, sort_keys=True))
    return table.to_csv(index=False).encode("utf-8")


def report_dict(report: SurveyReport) -> dict:
    """JSON-safe: the survey's settings (no images), vote counts and both analyses (with the word-role table)."""
    survey = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(report.survey).items()}
    return {
        "survey": survey,
        "votes": len(report.responses),
        "exported_at": datetime.now(UTC).isoformat(),
        "analyses": {
            name: analysis.to_dict()
            | {"explainability_scores": json_records(report.scores[name]), "word_roles": json_records(report.word_roles[name])}
            for name, analysis in report.analyses.items()
        },
    }


def report_figures(report: SurveyReport, analysis_name: str) -> dict:
    """{file stem: plotly figure} for one analysis."""
    analysis = report.analyses[analysis_name]
    analysed = analysed_votes(report.responses, analysis.exclude_failed_attention, analysis.attention)
    return {
        "questions": survey_question_figure(analysis.per_question),
        "preference": survey_preference_figure(analysis.pairwise),
        "bradley_terry": bradley_terry_figure(analysis.strengths),
        "response_times": response_time_figure(regular_votes(analysed)),
    }


def write_report(report: SurveyReport, out_dir: str | Path) -> list[Path]:
    """responses.csv, analysis.json and, for each analysis, one HTML file per chart (works offline)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "responses.csv", out / "analysis.json"]
    written[0].write_bytes(responses_csv(report.responses))
    written[1].write_text(json.dumps(report_dict(report), indent=2), encoding="utf-8")
    for name in report.analyses:
        suffix = "all" if name == "all respondents" else "attentive"
        for stem, figure in report_figures(report, name).items():
            path = out / f"{stem}_{suffix}.html"
            figure.write_html(path, include_plotlyjs=True, full_html=True)
            written.append(path)
    return written
