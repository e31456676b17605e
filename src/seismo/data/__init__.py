"""Stage 1, the data: reading any input into Arrow (`io`), the `Frame` the trackers read,
timestamps, column kinds (`columns`), category codes (`categories`) and default features."""
