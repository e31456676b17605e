"""The results store: monitoring results, runs and saved state in a SQL database (docs/store.md)."""

from seismo.errors import StoreError
from seismo.store.results_store import ResultsStore
from seismo.store.tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "ResultsStore", "StoreError"]
