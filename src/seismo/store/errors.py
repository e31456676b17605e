"""The one error the results store raises on purpose."""

from __future__ import annotations

from ..errors import SeismoError


class StoreError(SeismoError, RuntimeError):
    """The store cannot do what was asked: unreachable, newer schema, concurrent run, bad input."""
