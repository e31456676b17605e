"""Data quality per chunk (missing values, unseen categories, ranges, row counts)."""
