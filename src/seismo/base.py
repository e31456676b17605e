"""What every calculator shares: column roles, chunking, fit and calculate plumbing.

Constructors only store their arguments (the scikit-learn contract); everything
learned is set in ``fit`` on attributes ending in ``_``.
"""

from __future__ import annotations

import warnings
from typing import Literal

from .calculator import DEFAULT_RESAMPLES, FittedTracker, evaluate_tracker, require_fitted, rows_to_frame
from .chunking import Chunk, Chunker, chunk_analysis, chunk_reference, make_chunker
from .errors import InvalidConfiguration, InvalidData, SeismoWarning
from .frame import Frame, load_frame
from .io import DataLike, read_schema
from .result import Result
from .schema import Roles, build_schema, is_temporal


class BaseCalculator:
    """Shared plumbing; subclasses set ``_extra_columns`` and build trackers."""

    _extra_columns: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        incomplete: Literal["keep", "append", "drop"] = "keep",
        thresholds: dict | None = None,
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = 0,
    ):
        self.timestamp = timestamp
        self.chunk_size = chunk_size
        self.chunk_number = chunk_number
        self.chunk_period = chunk_period
        self.chunker = chunker
        self.incomplete = incomplete
        self.thresholds = thresholds
        self.n_resamples = n_resamples
        self.random_state = random_state

    # -- pieces subclasses use -------------------------------------------------
    def _make_chunker(self) -> Chunker:
        return make_chunker(self.chunk_size, self.chunk_number, self.chunk_period, self.chunker, self.incomplete)

    def _roles(self) -> Roles:
        return Roles(
            timestamp=self.timestamp,
            y_pred_proba=getattr(self, "y_pred_proba", None),
            y_pred=getattr(self, "y_pred", None),
            y_true=getattr(self, "y_true", None),
            id=getattr(self, "id", None),
        )

    def _feature_names(self, data: DataLike, requested: list[str] | None, where: str) -> list[str]:
        """Requested features, or every column without a role (temporal ones skipped, with a warning)."""
        if requested is not None:
            return list(requested)
        schema = read_schema(data, where)
        taken = set(self._roles().model_columns())
        names = []
        for fld in schema:
            if fld.name in taken:
                continue
            if is_temporal(fld):
                warnings.warn(
                    f"column {fld.name!r} holds {fld.type} values and is not monitored as a feature",
                    SeismoWarning,
                    stacklevel=4,
                )
                continue
            names.append(fld.name)
        return names

    def _load(self, data: DataLike, columns: list[str], where: str) -> Frame:
        return load_frame(data, columns, self.timestamp, where)

    def _load_analysis(self, data: DataLike, extra: list[str] = ()) -> Frame:
        """Read the analysis columns and check their types before any statistic runs."""
        frame = self._load(data, [*self.schema_.names, *extra], "analysis")
        self._check_not_empty(frame)
        for spec in self.schema_.columns:
            if spec.kind == "continuous":
                frame.floats(spec.name)  # raises InvalidData naming the column
        return frame

    def _reference_chunks(self, frame: Frame) -> list[Chunk]:
        self.chunker_ = self._make_chunker()
        return chunk_reference(self.chunker_, frame.n_rows, frame.timestamps)

    def _analysis_chunks(self, frame: Frame) -> list[Chunk]:
        return chunk_analysis(self.chunker_, frame.n_rows, frame.timestamps)

    def _result(self, fitted: list[FittedTracker], frame: Frame, chunks: list[Chunk]) -> Result:
        rows = []
        for f in fitted:
            rows.extend(f.reference_table)
        for f in fitted:
            rows.extend(evaluate_tracker(f, frame, chunks))
        df = rows_to_frame(rows, list(self._extra_columns))
        order = {"reference": 0, "analysis": 1}
        df = df.sort_values(
            by=["period", "chunk_index"], key=lambda s: s.map(order) if s.name == "period" else s, kind="stable"
        ).reset_index(drop=True)
        return Result(df, type(self).__name__)

    def _check_not_empty(self, frame: Frame) -> None:
        if frame.n_rows == 0:
            raise InvalidData(f"the {frame.where} set is empty; there is nothing to monitor")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and v is not None)
        return f"{type(self).__name__}({params})"

    def _require_fitted(self) -> None:
        require_fitted(self)


class FeatureCalculator(BaseCalculator):
    """A calculator over the model's input columns (drift, data quality).

    The model's role columns are taken only so that ``columns=None`` can mean
    "every column without a role".
    """

    def __init__(
        self,
        *,
        columns: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        **common,
    ):
        super().__init__(**common)
        self.columns = columns
        self.column_types = column_types
        self.y_pred_proba = y_pred_proba
        self.y_pred = y_pred
        self.y_true = y_true
        self.id = id

    def _load_reference_features(self, reference: DataLike) -> tuple[Frame, list[Chunk]]:
        """Read the monitored columns, chunk them, and learn their kinds (``schema_``)."""
        names = self._feature_names(reference, self.columns, "reference")
        if not names:
            raise InvalidConfiguration("there are no columns to monitor; pass columns=[...]")
        frame = self._load(reference, names, "reference")
        self._check_not_empty(frame)
        chunks = self._reference_chunks(frame)
        self.schema_ = build_schema(frame.table, names, self.column_types)
        return frame, chunks

    def calculate(self, analysis: DataLike) -> Result:
        """Every analysis chunk; the reference chunks are included in the result."""
        self._require_fitted()
        frame = self._load_analysis(analysis)
        return self._result(self.fitted_trackers_, frame, self._analysis_chunks(frame))
