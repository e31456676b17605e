"""The pydantic models of a `seismo run` config: one class per section, unknown keys forbidden."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from seismo._typing import EstimatorName, Incomplete, ProblemType, SegmentCorrection, Sides, SmallSegments
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, PERIOD_ALIASES
from seismo.cli.config.alert_fields import AlertsConfig
from seismo.engine.segments import check_segments
from seismo.engine.thresholds import (
    DEFAULT_FALSE_ALARM_RATE,
    DISTANCE_THRESHOLD,
    TWO_SIDED_THRESHOLD,
    ConstantThreshold,
    FalseAlarmThreshold,
    StandardDeviationThreshold,
    Threshold,
)
from seismo.engine.trackers import DEFAULT_RANDOM_STATE
from seismo.errors import InvalidConfiguration
from seismo.monitor.monitor import DEFAULT_ESTIMATOR

DEFAULT_STORE_FILE = "seismo.db"
SEGMENT_OPTIONS = ("min_segment_rows", "small_segments", "segment_correction")  # top-level keys that need segments
STATE_IN_STORE = "store"


def _rate_in_range(value: float) -> float:
    if not 0.0 < value < 1.0:
        raise PydanticCustomError("bad_value", f"false_alarm_rate must lie strictly between 0 and 1, e.g. {DEFAULT_FALSE_ALARM_RATE} "
                                  "(got {value!r})", {"value": value})
    return value


def _strptime_format(value: str) -> str:
    if "%" not in value:
        raise PydanticCustomError("bad_value", "{value!r} is not a strptime format; write e.g. '%d/%m/%Y'",
                                  {"value": value})
    return value


def _segment_list(value: Any) -> list[str | list[str]] | None:
    """The engine's own check (`check_segments`) with its message under the key, before pydantic's
    (whose errors for a union of lists name its members); a bare name is a list of one."""
    if value is None:
        return value
    try:
        specs = check_segments(value)
    except InvalidConfiguration as exc:
        raise PydanticCustomError("bad_value", "{message}", {"message": str(exc)}) from None
    return [spec[0] if isinstance(item, str) else list(spec)
            for item, spec in zip([value] if isinstance(value, str) else value, specs)]


FalseAlarmRate = Annotated[float, AfterValidator(_rate_in_range)]  # the per-cell rate of FalseAlarmThreshold
TimestampFormat = Annotated[str, AfterValidator(_strptime_format)]
# ["region"], [["region", "channel"]] (crossed), or both; "region" alone is ["region"]
SegmentList = Annotated[list[str | list[str]], BeforeValidator(_segment_list)]


class Section(BaseModel):
    """A part of the config: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ModelConfig(Section):
    """Which model this is and which columns hold its inputs and outputs."""

    name: str = Field(min_length=1)
    problem_type: ProblemType
    y_pred_proba: str | dict[int | str, str] | None = None  # multiclass: {class label: column}
    y_pred: str | None = None
    y_true: str | None = None
    timestamp: str | None = None
    timestamp_format: TimestampFormat | None = None  # strptime, e.g. "%d/%m/%Y"; None: ISO or the one that fits
    id: str | None = None
    features: list[str] | None = None

    def role_columns(self) -> dict[str, str]:
        """Column -> role name of every column given a role (each class's probability column included)."""
        roles: dict[str, str] = {}
        if isinstance(self.y_pred_proba, dict):
            roles.update({col: f"y_pred_proba[{label}]" for label, col in self.y_pred_proba.items()})
        elif self.y_pred_proba:
            roles[self.y_pred_proba] = "y_pred_proba"
        for role in ("y_pred", "y_true", "timestamp", "id"):
            if getattr(self, role):
                roles[getattr(self, role)] = role
        return roles


class Source(Section):
    """Where a period's rows come from: a path (file, glob or directory) or a SQL query."""

    path: str | None = None
    url: str | None = None
    query: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, (str, Path)) else value

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if self.path is not None and (self.url or self.query):
            raise PydanticCustomError("source_kind", "give either a path or url + query, not both")
        if self.path is None and not (self.url and self.query):
            raise PydanticCustomError("source_kind", "a SQL source needs both url and query")
        return self

    @property
    def is_sql(self) -> bool:
        return self.path is None

    @property
    def file_path(self) -> str:
        """The path of a path source (not `is_sql`)."""
        if self.path is None:
            raise ValueError("a SQL source has no path")
        return self.path

    @property
    def sql(self) -> tuple[str, str]:
        """``(url, query)`` of a SQL source (`is_sql`); the validator gives such a source both."""
        if self.url is None or self.query is None:
            raise ValueError("a path source has no SQL url and query")
        return self.url, self.query


class DataConfig(Section):
    reference: Source
    analysis: Source
    targets: Source | None = None


class ChunkingConfig(Section):
    """At most one of chunk_size, chunk_number, chunk_period (none: seismo's default of 10 chunks)."""

    chunk_size: PositiveInt | None = None
    chunk_number: PositiveInt | None = None
    chunk_period: str | None = None
    incomplete: Incomplete = DEFAULT_INCOMPLETE

    @field_validator("chunk_period")
    @classmethod
    def _known_period(cls, value: str | None) -> str | None:
        if value is not None and str(value).upper() not in PERIOD_ALIASES:
            raise PydanticCustomError(
                "chunk_period", "{value!r} is not a calendar period; use one of {valid}",
                {"value": value, "valid": ", ".join(sorted(set(PERIOD_ALIASES.values())))},
            )
        return value

    @model_validator(mode="after")
    def _at_most_one(self) -> ChunkingConfig:
        given = [k for k in ("chunk_size", "chunk_number", "chunk_period") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError("chunking_conflict", "give only one of {given}", {"given": ", ".join(given)})
        return self

    def monitor_args(self) -> dict[str, Any]:
        return dict(chunk_size=self.chunk_size, chunk_number=self.chunk_number, chunk_period=self.chunk_period,
                    incomplete=self.incomplete)


class ThresholdConfig(Section):
    """One metric's threshold, of one of three kinds: constant bounds (lower/upper), reference
    mean ± k standard deviations (*_multiplier), or a learned bound at a stated per-chunk
    false-alarm rate (false_alarm_rate, optional sides; `seismo.FalseAlarmThreshold`).

    Only the sides given are bounded: ``{upper_multiplier: 4}`` alerts above mean + 4 SD only.
    ``sides`` left out is the calculator's default (upper for drift distances, else both).
    """

    lower: float | None = None
    upper: float | None = None
    lower_multiplier: float | None = None
    upper_multiplier: float | None = None
    false_alarm_rate: FalseAlarmRate | None = None
    sides: Sides | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ThresholdConfig:
        kinds = {
            "constant bounds (lower/upper)": self.lower is not None or self.upper is not None,
            "multipliers (lower_multiplier/upper_multiplier)": (self.lower_multiplier is not None
                                                                or self.upper_multiplier is not None),
            "a false-alarm rate (false_alarm_rate/sides)": self.false_alarm_rate is not None or self.sides is not None,
        }
        given = [kind for kind, present in kinds.items() if present]
        if len(given) > 1:
            raise PydanticCustomError("threshold_kind", "mix of {given}; give one kind", {"given": " and ".join(given)})
        if not given:
            raise PydanticCustomError("threshold_kind", "give lower/upper, lower_multiplier/upper_multiplier or "
                                      "false_alarm_rate (with optional sides)")
        if self.sides is not None and self.false_alarm_rate is None:
            raise PydanticCustomError("threshold_kind", "sides needs false_alarm_rate")
        return self

    def to_threshold(self, default_sides: Sides = TWO_SIDED_THRESHOLD.sides) -> Threshold:
        """The `Threshold`; ``default_sides`` is the calculator's own when ``sides`` is left out."""
        if self.lower is not None or self.upper is not None:
            return ConstantThreshold(self.lower, self.upper)
        if self.false_alarm_rate is not None:
            return FalseAlarmThreshold(self.false_alarm_rate, self.sides or default_sides)
        return StandardDeviationThreshold(self.lower_multiplier, self.upper_multiplier)


class CalculatorConfig(Section):
    """Switch a calculator on or off (``false`` is short for ``{enabled: false}``) and set its thresholds.

    ``false_alarm_rate`` here overrides the config's top-level one for this calculator's defaults.
    """

    #: sides of a ``false_alarm_rate`` threshold that does not give them: those of the calculator's default
    default_sides: ClassVar[Sides] = TWO_SIDED_THRESHOLD.sides

    enabled: bool = True
    thresholds: dict[str, ThresholdConfig] = Field(default_factory=dict)
    false_alarm_rate: FalseAlarmRate | None = None

    @model_validator(mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value

    def monitor_args(self) -> dict[str, Any] | bool:
        """What `Monitor(calculators=...)` takes for this calculator."""
        if not self.enabled:
            return False
        args = {k: v for k, v in self.model_dump(exclude={"enabled", "thresholds", "estimator"}).items()
                if v is not None}
        if self.thresholds:
            args["thresholds"] = {name: t.to_threshold(self.default_sides) for name, t in self.thresholds.items()}
        return args


class PerformanceConfig(CalculatorConfig):
    metrics: list[str] | None = None


class EstimatedPerformanceConfig(PerformanceConfig):
    estimator: EstimatorName = DEFAULT_ESTIMATOR  # regression always uses DLE


class UnivariateDriftConfig(CalculatorConfig):
    default_sides: ClassVar[Sides] = DISTANCE_THRESHOLD.sides  # a distance is never too small

    methods: list[str] | None = None


class DataQualityConfig(CalculatorConfig):
    metrics: list[str] | None = None


class ConceptShiftConfig(PerformanceConfig):
    """`ConceptShift` (docs/concept.md): off unless ``enabled: true`` (or ``concept_shift: true``), since it
    fits a LightGBM concept model per chunk of labelled rows."""

    enabled: bool = False
    n_splits: int | None = Field(default=None, ge=2)  # folds within each chunk
    evaluation_rows: int | None = Field(default=None, ge=100)  # reference rows every concept model is evaluated on
    n_resamples: int | None = Field(default=None, ge=2)  # random reference subsets behind the thresholds

    def monitor_args(self) -> dict[str, Any] | bool:
        """Off: nothing (the Monitor's default, off); on without arguments: True."""
        if not self.enabled:
            return {}
        args = super().monitor_args()
        return True if args == {} else args


class CalculatorsConfig(Section):
    estimated_performance: EstimatedPerformanceConfig = Field(default_factory=EstimatedPerformanceConfig)
    realized_performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    concept_shift: ConceptShiftConfig = Field(default_factory=ConceptShiftConfig)
    univariate_drift: UnivariateDriftConfig = Field(default_factory=UnivariateDriftConfig)
    pca_drift: CalculatorConfig = Field(default_factory=CalculatorConfig)
    domain_classifier_drift: CalculatorConfig = Field(default_factory=CalculatorConfig)
    data_quality: DataQualityConfig = Field(default_factory=DataQualityConfig)


class CustomMetricConfig(Section):
    """One custom metric (docs/custom_metrics.md): exactly one of ``confusion``, ``per_class`` (classification)
    or ``loss`` (regression, with an optional ``finish``), each the import path of a function
    (``package.module:function``), and the options of `seismo.metrics.register`."""

    name: str = Field(min_length=1)
    confusion: str | None = None
    per_class: str | None = None
    loss: str | None = None
    finish: str | None = None
    higher_is_better: bool
    lower_bound: float | None = None
    upper_bound: float | None = None
    problem_types: list[ProblemType] | None = None
    extensive: bool = False

    def paths(self) -> dict[str, str]:
        """The import path of each function given, by its role."""
        return {role: path for role in ("confusion", "per_class", "loss", "finish")
                if (path := getattr(self, role)) is not None}

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `seismo.metrics.register` other than the functions."""
        return dict(higher_is_better=self.higher_is_better, lower_bound=self.lower_bound,
                    upper_bound=self.upper_bound, problem_types=self.problem_types, extensive=self.extensive)


class Config(Section):
    """A whole `seismo run` config. Relative paths are relative to the config file's folder."""

    model: ModelConfig
    data: DataConfig
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    calculators: CalculatorsConfig = Field(default_factory=CalculatorsConfig)
    store: str | None = None  # a SQLAlchemy URL; None: a SQLite file next to the config
    saved_monitor: str = STATE_IN_STORE  # "store", or a directory for the saved monitor's files
    random_state: int = DEFAULT_RANDOM_STATE
    false_alarm_rate: FalseAlarmRate | None = None  # per-cell rate of every default threshold; None: DEFAULT_FALSE_ALARM_RATE
    # declared segments (docs/segments.md); the three options need segments (checks.py), None: Monitor's defaults
    segments: SegmentList | None = None
    min_segment_rows: PositiveInt | None = None
    small_segments: SmallSegments | None = None
    segment_correction: SegmentCorrection | None = None
    # metrics declared by import paths, registered before the monitor is built (checks.declared_custom_metrics)
    custom_metrics: list[CustomMetricConfig] | None = None
    # alert routing (docs/alerts.md, "Config"): evaluated after each successful run; not part of fit_hash
    alerts: AlertsConfig | None = None

    # set by `load_config`, not by the YAML
    base_dir: Path = Field(default=Path("."), exclude=True)
    unexpanded: dict = Field(default_factory=dict, exclude=True)  # the YAML before ${VAR}: safe to store

    def path_of(self, text: str) -> str:
        """A data path or glob resolved against the config's folder."""
        path = Path(os.path.expanduser(text))
        return str(path if path.is_absolute() else self.base_dir / path)

    def store_url(self) -> str:
        """The store's URL; a relative SQLite file is placed next to the config."""
        if self.store is None:
            return f"sqlite:///{(self.base_dir / DEFAULT_STORE_FILE).resolve()}"
        match = re.fullmatch(r"sqlite(\+\w+)?:///(?!/)(.+)", self.store)
        if match and match.group(2) != ":memory:" and not match.group(2).startswith("file:"):
            return f"sqlite{match.group(1) or ''}:///{(self.base_dir / match.group(2)).resolve()}"
        return self.store

    def state_dir(self) -> Path | None:
        """The directory holding the saved monitor, or None when it lives in the store."""
        if self.saved_monitor == STATE_IN_STORE:
            return None
        return Path(self.path_of(self.saved_monitor))

    def monitor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `seismo.Monitor` for this config."""
        m = self.model
        calculators = {name: section.monitor_args() for name, section in self.calculators}
        return dict(
            problem_type=m.problem_type, y_pred_proba=m.y_pred_proba, y_pred=m.y_pred, y_true=m.y_true,
            timestamp=m.timestamp, timestamp_format=m.timestamp_format, id=m.id, features=m.features,
            **self.chunking.monitor_args(), estimator=self.calculators.estimated_performance.estimator,
            random_state=self.random_state, false_alarm_rate=self.false_alarm_rate,
            calculators={k: v for k, v in calculators.items() if v != {}}, **self.segment_args(),
        )

    def segment_args(self) -> dict[str, Any]:
        """The segment arguments of `seismo.Monitor`: none without segments (the Monitor's defaults)."""
        if not self.segments:
            return {}
        return dict(segments=self.segments,
                    **{k: getattr(self, k) for k in SEGMENT_OPTIONS if getattr(self, k) is not None})

    def fit_hash(self) -> str:
        """A digest of everything the fitted monitor depends on: a change means it must be refitted."""
        data = self.model_dump(mode="json", include={"model", "chunking", "calculators", "random_state",
                                                      "false_alarm_rate", "segments", *SEGMENT_OPTIONS,
                                                      "custom_metrics"})
        data["reference"] = self.data.reference.model_dump(mode="json")
        if not self.calculators.concept_shift.enabled:  # off, whatever its options: nothing of it is fitted, and a
            data["calculators"].pop("concept_shift")  # config from before it existed keeps its hash and monitor
        _drop_unset(data, _KEYS_ADDED_LATER)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# Keys added after configs were first hashed: left out of `Config.fit_hash` while unset, so that a
# config that does not use them keeps its hash and its saved monitor (no needless refit on upgrade).
_KEYS_ADDED_LATER = frozenset({"timestamp_format", "false_alarm_rate", "sides", "segments", *SEGMENT_OPTIONS,
                               "custom_metrics"})


def _drop_unset(tree: Any, keys: frozenset[str]) -> None:
    """Remove ``keys`` whose value is None from every mapping in ``tree``, in place."""
    if isinstance(tree, dict):
        for key in [k for k in tree if k in keys and tree[k] is None]:
            del tree[key]
        for value in tree.values():
            _drop_unset(value, keys)
    elif isinstance(tree, list):
        for value in tree:
            _drop_unset(value, keys)
