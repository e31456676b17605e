"""seismo: make the silent failures of deployed models loud.

Drift, data quality and performance, chunk by chunk, on mergeable statistics.

``__all__`` is the public contract, each name documented in docs/api.md (tests/test_api_doc.py
checks that the two agree). The registries (drift methods, metrics) are not part of it: adding
an entry takes internal partials (`seismo.drift.methods.Comparison`) and noise scaling, and a
monitor saved with a method registered at run time could not be loaded where it is not; so
neither the registration function nor the tables are exported, and `DRIFT_METHODS`, exported
in 0.1.0, still works here with a `FutureWarning`. Every error class is exported, so that a
caller can catch what `Monitor.save`/`load` (`PersistError`) or the store (`StoreError`) raise.
"""

from seismo import datasets
from seismo.chunks.accumulator import StreamState
from seismo.chunks.chunkers import Chunk, Chunker, CountChunker, PeriodChunker, SizeChunker
from seismo.drift.domain_classifier import DomainClassifierDrift
from seismo.drift.pca import PCADrift
from seismo.drift.univariate import UnivariateDrift
from seismo.engine.result import Result
from seismo.engine.thresholds import ConstantThreshold, FalseAlarmThreshold, StandardDeviationThreshold, Threshold
from seismo.errors import (
    ColumnNotFound,
    InvalidConfiguration,
    InvalidData,
    NotFittedError,
    PersistError,
    SeismoError,
    SeismoWarning,
    StoreError,
)
from seismo.monitor.discovery import discover_segments
from seismo.monitor.monitor import Monitor
from seismo.monitor.ranking import prediction_sensitivity, rank
from seismo.monitor.report import Report
from seismo.performance.cbpe import CBPE
from seismo.performance.concept import ConceptShift
from seismo.performance.dle import DLE
from seismo.performance.pape import PAPE
from seismo.performance.realized import RealizedPerformance
from seismo.quality.data_quality import DataQuality

__version__ = "0.1.0"

__all__ = [
    "CBPE",
    "DLE",
    "Chunk",
    "Chunker",
    "ColumnNotFound",
    "ConceptShift",
    "ConstantThreshold",
    "FalseAlarmThreshold",
    "CountChunker",
    "DataQuality",
    "DomainClassifierDrift",
    "InvalidConfiguration",
    "InvalidData",
    "Monitor",
    "NotFittedError",
    "PAPE",
    "PCADrift",
    "PersistError",
    "PeriodChunker",
    "RealizedPerformance",
    "Report",
    "Result",
    "SeismoError",
    "SeismoWarning",
    "SizeChunker",
    "StoreError",
    "StandardDeviationThreshold",
    "StreamState",
    "Threshold",
    "UnivariateDrift",
    "datasets",
    "discover_segments",
    "prediction_sensitivity",
    "rank",
]

_DEPRECATED = {"DRIFT_METHODS": ("seismo.drift.methods", "DRIFT_METHODS")}


def __getattr__(name: str) -> object:
    """Names that left `__all__` keep working for a release, with a warning that says where they went."""
    if name not in _DEPRECATED:
        raise AttributeError(f"module 'seismo' has no attribute {name!r}")
    import importlib
    import warnings

    module, attribute = _DEPRECATED[name]
    warnings.warn(f"seismo.{name} is not part of the public API any more (docs/api.md) and will be removed; "
                  f"read {module}.{attribute} if you need it", FutureWarning, stacklevel=2)
    return getattr(importlib.import_module(module), attribute)
