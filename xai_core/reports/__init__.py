"""Unified explanation layer: normalisation, overlays, explanation bundle, report export.

``from xai_core.unified import ExplanationBundle, bundle_for_image, render_audit_report`` works; the names are
imported on first use, because :mod:`xai_core.metrics.suite` imports :mod:`.charts` from this package and the
bundle imports the suite.
"""

from importlib import import_module

_LAZY = {
    "ExplanationBundle": "bundle", "NormalisedConceptScore": "bundle", "LatentSensitivityShares": "bundle", "Score": "bundle",
    "bundle_for_image": "bundle", "bundle_for_generated": "bundle", "normalise_map": "bundle",
    "normalise_concept_scores": "bundle", "normalise_latent_sensitivity": "bundle",
    "render_audit_report": "audit_report", "write_audit_report": "audit_report", "load_evaluation_run": "audit_report",
    "list_evaluation_runs": "audit_report",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
