"""seismo: make the silent failures of deployed models loud.

Drift, data quality and performance, chunk by chunk, on mergeable statistics.
"""

from . import datasets
from .accumulate import StreamState
from .chunking import Chunk, Chunker, CountChunker, PeriodChunker, SizeChunker
from .drift.domain_classifier import DomainClassifierDrift
from .drift.methods import DRIFT_METHODS
from .drift.pca import PCADrift
from .drift.univariate import UnivariateDrift
from .errors import ColumnNotFound, InvalidConfiguration, InvalidData, NotFittedError, SeismoError, SeismoWarning
from .monitor import Monitor
from .performance.cbpe import CBPE
from .performance.dle import DLE
from .performance.pape import PAPE
from .performance.realized import RealizedPerformance
from .quality import DataQuality
from .ranking import prediction_sensitivity, rank
from .report import Report
from .result import Result
from .thresholds import ConstantThreshold, FalseAlarmThreshold, StandardDeviationThreshold, Threshold

__version__ = "0.1.0"

__all__ = [
    "CBPE",
    "DLE",
    "Chunk",
    "Chunker",
    "ColumnNotFound",
    "ConstantThreshold",
    "FalseAlarmThreshold",
    "CountChunker",
    "DRIFT_METHODS",
    "DataQuality",
    "DomainClassifierDrift",
    "InvalidConfiguration",
    "InvalidData",
    "Monitor",
    "NotFittedError",
    "PAPE",
    "PCADrift",
    "PeriodChunker",
    "RealizedPerformance",
    "Report",
    "Result",
    "SeismoError",
    "SeismoWarning",
    "SizeChunker",
    "StandardDeviationThreshold",
    "StreamState",
    "Threshold",
    "UnivariateDrift",
    "datasets",
    "prediction_sensitivity",
    "rank",
]
