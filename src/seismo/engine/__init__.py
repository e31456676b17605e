"""Stage 3, the engine shared by every calculator: the tracker contract (partial, merge,
finish), the calculator base class, thresholds, the sampling-error model, the `Result`, and the
domain-classifier fit shared by drift and performance."""
