"""Writing saved files into a directory the user chose, without ever touching theirs.

A saved monitor may be pointed at any directory, including one that holds the user's own
config and data (``saved_monitor: .``). So seismo writes and removes only names it owns:
those its previous index listed (a persist manifest, or a job file), plus those a write that
crashed had claimed. A file of another name is never removed, and one that would be
overwritten stops the save with an error naming it.

Each file is written to a temporary name and renamed into place (atomic on POSIX and
Windows), the index last, so a reader sees the old state or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from seismo.errors import PersistError

PENDING = ".seismo-pending.json"  # names a write in progress may have created; gone once it ends


def pending_names(directory: Path) -> set[str]:
    """Names a write that did not finish had claimed: seismo's to overwrite or remove."""
    try:
        names = json.loads((directory / PENDING).read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def write_atomically(target: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``target``, flush it to disk, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_files(directory: Path, files: Mapping[str, bytes], *, owned: Iterable[str], last: str) -> None:
    """Make ``directory`` hold ``files`` in place of the ``owned`` ones a previous save wrote.

    ``last`` (the index that lists the others) is written after every other file. Files in
    ``owned`` that ``files`` no longer has are removed; nothing else is. Raises `PersistError`,
    before writing anything, when a name to write is taken by a file seismo does not own.
    """
    directory.mkdir(parents=True, exist_ok=True)
    owned = set(owned) | pending_names(directory)
    foreign = sorted(name for name in files if name not in owned and (directory / name).exists())
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise PersistError(f"{directory / foreign[0]}{more} already exists and was not written by seismo; "
                           "save into an empty directory or one that seismo saved into")
    write_atomically(directory / PENDING, json.dumps(sorted(owned | set(files))).encode("utf-8"))
    for name in sorted(n for n in files if n != last) + ([last] if last in files else []):
        write_atomically(directory / name, files[name])
    for name in sorted(owned - set(files)):
        (directory / name).unlink(missing_ok=True)
    (directory / PENDING).unlink(missing_ok=True)
