"""Reports: the unified explanation bundle, the HTML audit report, the results tables of docs/results.md and
the plotly charts (fed plain data) that pages, reports and surveys share."""

from .audit_report import list_evaluation_runs, load_evaluation_run, render_audit_report, write_audit_report
from .bundle import (
    ExplanationBundle,
    LatentSensitivityShares,
    NormalisedConceptScore,
    Score,
    bundle_for_generated,
    bundle_for_image,
    normalise_concept_scores,
    normalise_latent_sensitivity,
    normalise_map,
)

__all__ = [
    "ExplanationBundle",
    "LatentSensitivityShares",
    "NormalisedConceptScore",
    "Score",
    "bundle_for_generated",
    "bundle_for_image",
    "list_evaluation_runs",
    "load_evaluation_run",
    "normalise_concept_scores",
    "normalise_latent_sensitivity",
    "normalise_map",
    "render_audit_report",
    "write_audit_report",
]
