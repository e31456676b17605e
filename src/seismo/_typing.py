"""Type names shared by signatures across seismo: what a public argument may hold.

It sits at the bottom layer with `seismo.errors`: it imports only from the standard library,
so any module may use these names without an import cycle. The literals are the argument
values seismo accepts; a value outside them is refused at run time with `InvalidConfiguration`
as well, since callers need not run a type checker.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence, TypeAlias

#: Whatever `seismo.data.io.read_table` reads: a pandas or polars DataFrame, a pyarrow Table,
#: anything with the Arrow PyCapsule stream interface, or a parquet/CSV path (file, directory,
#: glob). Any, because the frame libraries are optional and partly untyped; io checks at run time.
DataLike: TypeAlias = Any

#: The kind of model monitored.
ProblemType: TypeAlias = Literal["binary", "multiclass", "regression"]
#: The problem types a classification-only estimator (CBPE, PAPE) accepts.
ClassificationProblemType: TypeAlias = Literal["binary", "multiclass"]

#: What a chunker does with a last chunk smaller than ``chunk_size``.
Incomplete: TypeAlias = Literal["keep", "append", "drop"]

#: How confusion-matrix cells are normalised (scikit-learn's ``normalize`` with "none" for None).
ConfusionNormalization: TypeAlias = Literal["none", "all", "true", "pred"]

#: Which side(s) of a metric a threshold bounds.
Sides: TypeAlias = Literal["both", "upper", "lower"]

#: How a statistic's sampling noise depends on the chunk size (`seismo.engine.sampling_error.Scaling`).
NoiseKind: TypeAlias = Literal["location", "proportion", "extensive", "count", "distance", "fixed"]

#: How a feature column is summarised.
ColumnKind: TypeAlias = Literal["continuous", "categorical"]

#: What a trust diagnostic compares: a rate (classification) or a loss (regression).
TrustKind: TypeAlias = Literal["rate", "loss"]

#: The label-free estimator a configuration picks for classification (regression uses DLE).
EstimatorName: TypeAlias = Literal["cbpe", "pape"]

#: Declared segments: column names, or lists of columns crossed (``["region", ["region", "channel"]]``).
Segments: TypeAlias = Sequence[str | Sequence[str]]

#: What happens to a chunk's segment with fewer than ``min_segment_rows`` rows (`seismo.engine.segments`).
SmallSegments: TypeAlias = Literal["other", "report"]

#: Multiple-testing control across a chunk's segments (`seismo.engine.segment_fit`).
SegmentCorrection: TypeAlias = Literal["bonferroni", "none"]
