"""Metrics: faithfulness, localisation, agreement, robustness, sanity checks, scores."""
