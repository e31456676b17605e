"""The public data sets every robustness test reads, as fixtures (defined in robust_data.py)."""

from robust_data import awkward, cancer, diabetes, mixed, wine  # noqa: F401  (pytest finds fixtures by name)
