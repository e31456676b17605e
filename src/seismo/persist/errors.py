"""The one error of seismo.persist."""

from __future__ import annotations

from ..errors import SeismoError


class PersistError(SeismoError, ValueError):
    """A saved object could not be written or read back: names the file, class or attribute path."""
