"""The pydantic models of a `seismo run` config: one class per section, unknown keys forbidden."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..chunking import PERIOD_ALIASES
from ..thresholds import ConstantThreshold, StandardDeviationThreshold, Threshold

DEFAULT_STORE_FILE = "seismo.db"
STATE_IN_STORE = "store"


class Section(BaseModel):
    """A part of the config: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ModelConfig(Section):
    """Which model this is and which columns hold its inputs and outputs."""

    name: str = Field(min_length=1)
    problem_type: Literal["binary", "multiclass", "regression"]
    y_pred_proba: str | dict[int | str, str] | None = None  # multiclass: {class label: column}
    y_pred: str | None = None
    y_true: str | None = None
    timestamp: str | None = None
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


class DataConfig(Section):
    reference: Source
    analysis: Source
    targets: Source | None = None


class ChunkingConfig(Section):
    """At most one of chunk_size, chunk_number, chunk_period (none: seismo's default of 10 chunks)."""

    chunk_size: PositiveInt | None = None
    chunk_number: PositiveInt | None = None
    chunk_period: str | None = None
    incomplete: Literal["keep", "append", "drop"] = "keep"

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
    """Constant bounds (lower/upper) or reference mean ± k standard deviations (*_multiplier).

    Only the sides given are bounded: ``{upper_multiplier: 4}`` alerts above mean + 4 SD only.
    """

    lower: float | None = None
    upper: float | None = None
    lower_multiplier: float | None = None
    upper_multiplier: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ThresholdConfig:
        constant = self.lower is not None or self.upper is not None
        relative = self.lower_multiplier is not None or self.upper_multiplier is not None
        if constant and relative:
            raise PydanticCustomError("threshold_kind", "mix of constant bounds (lower/upper) and multipliers; "
                                      "give one kind")
        if not (constant or relative):
            raise PydanticCustomError("threshold_kind", "give lower/upper or lower_multiplier/upper_multiplier")
        return self

    def to_threshold(self) -> Threshold:
        if self.lower is not None or self.upper is not None:
            return ConstantThreshold(self.lower, self.upper)
        return StandardDeviationThreshold(self.lower_multiplier, self.upper_multiplier)


class CalculatorConfig(Section):
    """Switch a calculator on or off (``false`` is short for ``{enabled: false}``) and set its thresholds."""

    enabled: bool = True
    thresholds: dict[str, ThresholdConfig] = Field(default_factory=dict)

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
            args["thresholds"] = {name: t.to_threshold() for name, t in self.thresholds.items()}
        return args


class PerformanceConfig(CalculatorConfig):
    metrics: list[str] | None = None


class EstimatedPerformanceConfig(PerformanceConfig):
    estimator: Literal["cbpe", "pape"] = "cbpe"  # regression always uses DLE


class UnivariateDriftConfig(CalculatorConfig):
    methods: list[str] | None = None


class DataQualityConfig(CalculatorConfig):
    metrics: list[str] | None = None


class CalculatorsConfig(Section):
    estimated_performance: EstimatedPerformanceConfig = Field(default_factory=EstimatedPerformanceConfig)
    realized_performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    univariate_drift: UnivariateDriftConfig = Field(default_factory=UnivariateDriftConfig)
    pca_drift: CalculatorConfig = Field(default_factory=CalculatorConfig)
    domain_classifier_drift: CalculatorConfig = Field(default_factory=CalculatorConfig)
    data_quality: DataQualityConfig = Field(default_factory=DataQualityConfig)


class Config(Section):
    """A whole `seismo run` config. Relative paths are relative to the config file's folder."""

    model: ModelConfig
    data: DataConfig
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    calculators: CalculatorsConfig = Field(default_factory=CalculatorsConfig)
    store: str | None = None  # a SQLAlchemy URL; None: a SQLite file next to the config
    saved_monitor: str = STATE_IN_STORE  # "store", or a directory for the saved monitor's files
    random_state: int = 0

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
            timestamp=m.timestamp, id=m.id, features=m.features, **self.chunking.monitor_args(),
            estimator=self.calculators.estimated_performance.estimator, random_state=self.random_state,
            calculators={k: v for k, v in calculators.items() if v != {}},
        )

    def fit_hash(self) -> str:
        """A digest of everything the fitted monitor depends on: a change means it must be refitted."""
        data = self.model_dump(mode="json", include={"model", "chunking", "calculators", "random_state"})
        data["reference"] = self.data.reference.model_dump(mode="json")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
