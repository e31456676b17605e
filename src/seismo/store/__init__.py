"""The results store: monitoring results, runs and saved state in a SQL database (docs/store.md)."""

from .errors import StoreError
from .results_store import ResultsStore
from .schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "ResultsStore", "StoreError"]
