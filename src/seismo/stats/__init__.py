"""The mergeable statistics, pure numpy: bins, histograms, moments, category counts, tails,
distances and samples. No frames, no chunks, no calculators."""
