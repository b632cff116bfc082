"""Unified explanation layer: normalisation, overlays, explanation bundle, report export."""
