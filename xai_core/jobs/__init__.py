"""Dataset-scale runs: local executor, Ray executor."""
