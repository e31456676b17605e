"""seismo: make the silent failures of deployed models loud.

Drift, data quality and performance, chunk by chunk, on mergeable statistics.
"""

from seismo import datasets
from seismo.chunks.accumulator import StreamState
from seismo.chunks.chunkers import Chunk, Chunker, CountChunker, PeriodChunker, SizeChunker
from seismo.drift.domain_classifier import DomainClassifierDrift
from seismo.drift.methods import DRIFT_METHODS
from seismo.drift.pca import PCADrift
from seismo.drift.univariate import UnivariateDrift
from seismo.errors import ColumnNotFound, InvalidConfiguration, InvalidData, NotFittedError, SeismoError, SeismoWarning
from seismo.monitor.monitor import Monitor
from seismo.performance.cbpe import CBPE
from seismo.performance.dle import DLE
from seismo.performance.pape import PAPE
from seismo.performance.realized import RealizedPerformance
from seismo.quality.data_quality import DataQuality
from seismo.monitor.ranking import prediction_sensitivity, rank
from seismo.monitor.report import Report
from seismo.engine.result import Result
from seismo.engine.thresholds import ConstantThreshold, FalseAlarmThreshold, StandardDeviationThreshold, Threshold

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
