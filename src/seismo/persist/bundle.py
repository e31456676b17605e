"""The saved form: a manifest, the JSON state, one ``.npz`` of arrays, and side files.

``dumps`` returns the files as ``{name: bytes}`` (the results store can keep them in a table as
well as on disk); ``save`` writes them into a directory. ``loads``/``load`` check, in this order:
the manifest's format version, that every listed file is present with its SHA-256, then rebuild
the object. See docs/persistence.md for the layout and the safety argument.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seismo.errors import PersistError
from seismo.persist.declared_metrics import STATE_KEY as CUSTOM_METRICS
from seismo.persist.declared_metrics import declarations, restore
from seismo.persist.decode import Decoder
from seismo.persist.encode import Encoder
from seismo.persist.files import replace_files

FORMAT = "seismo.persist"
# 1: seismo 0.1.0's flat modules; 2: classes named by the stage packages' modules; 3: format 2 with
# declared segments. A save is written in the lowest version that says what it holds (`format_version_of`).
FORMAT_VERSION = 3  # the newest this code writes
WITHOUT_SEGMENTS_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2, 3)
MANIFEST, STATE, ARRAYS = "manifest.json", "state.json", "arrays.npz"
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that the same object saves to the same bytes


def library_versions() -> dict[str, str]:
    """Versions of what produced a saved object: the format is ours, the numbers theirs."""
    import lightgbm
    import pandas
    import pyarrow
    import sklearn

    import seismo

    return {"seismo": seismo.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "lightgbm": lightgbm.__version__,
            "scikit-learn": sklearn.__version__}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def _memory_bytes() -> int:
    """This machine's physical memory: no array set larger than it could be loaded here anyway."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX: no bound from the machine
        return 2**63


_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _check_declared_sizes(data: bytes) -> None:
    """Refuse an archive whose members would decompress, or whose arrays would allocate, beyond reason.

    A deflated member can expand ~1,000-fold, and an ``.npy`` header can claim any shape:
    read blindly, a small hostile file exhausts memory (a "zip bomb") before any check runs.
    zipfile stops each member at its declared size, so bounding the declared sizes by the
    machine's memory bounds the decompression; and each header's shape × item size must equal
    the bytes its member holds, so no array is allocated larger than what was declared.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        memory = _memory_bytes()
        if total > memory:
            raise PersistError(f"{ARRAYS} declares {total:,} bytes of arrays, more than this machine's memory "
                               f"({memory:,} bytes): the file is damaged or hostile")
        for member in members:
            with archive.open(member) as stream:
                try:
                    version = np.lib.format.read_magic(stream)
                    if version not in _HEADERS:  # 3.0 is for non-Latin-1 field names, which seismo never writes
                        raise ValueError(f"npy format version {version} is not one seismo writes")
                    shape, _, dtype = _HEADERS[version](stream)
                except ValueError as exc:
                    raise PersistError(f"{ARRAYS}: member {member.filename!r} has no valid .npy header ({exc})") from None
                held = member.file_size - stream.tell()
            if dtype.hasobject:  # np.load(allow_pickle=False) refuses it below, without unpickling
                continue
            claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if claimed != held:
                raise PersistError(f"{ARRAYS}: member {member.filename!r} claims a {shape} array of {dtype} "
                                   f"({claimed:,} bytes) but holds {held:,} bytes")


def _read_npz(data: bytes) -> dict[str, np.ndarray]:
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise PersistError(f"{ARRAYS} is not an .npz (zip) archive; its first bytes are {data[:8]!r}")
    try:
        _check_declared_sizes(data)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise PersistError(f"{ARRAYS} is not a readable .npz archive ({exc})") from None
    arrays = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            for key in archive.files:
                arrays[key] = archive[key]
    except ValueError as exc:  # object arrays: "Object arrays cannot be loaded when allow_pickle=False"
        raise PersistError(f"{ARRAYS}: member {key!r} is refused ({exc})") from None
    # what zipfile and zlib raise on a damaged archive: a bad CRC or header, corrupt deflate data,
    # or flags that claim encryption, patching or a newer zip version
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise PersistError(f"{ARRAYS} is not a readable .npz archive ({exc})") from None
    return arrays


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_version_of(encoder: Encoder) -> int:
    """The format version a save is written in: 3 when it declares segments, 2 otherwise.

    Format 3 reads like format 2; the number only marks a save a seismo from before segments must
    refuse (by version, naming the seismo that saved it) rather than load: it would stop at a segment
    class it lacks, or (an unfitted calculator) load the settings and fit the whole only, silently.
    Saves without segments stay format 2, so an older seismo keeps loading them.
    """
    return FORMAT_VERSION if encoder.segments else WITHOUT_SEGMENTS_FORMAT_VERSION


def dumps(obj: Any) -> dict[str, bytes]:
    """Serialise ``obj`` to files ``{name: bytes}``; `PersistError` names what cannot be saved."""
    encoder = Encoder()
    root = encoder.encode(obj)
    state: dict[str, Any] = {"root": root}
    custom = declarations(encoder.strings)  # the custom metrics it names, by import path (declared_metrics.py)
    if custom:
        state[CUSTOM_METRICS] = custom
    files = {STATE: _json_bytes(state), ARRAYS: _npz_bytes(encoder.arrays), **encoder.files}
    manifest = {
        "format": FORMAT,
        "format_version": format_version_of(encoder),
        "saved_by": library_versions(),
        "root_class": f"{type(obj).__module__}:{type(obj).__qualname__}",  # for people; loading ignores it
        "files": {name: {"sha256": _sha256(data), "bytes": len(data)} for name, data in sorted(files.items())},
    }
    return {MANIFEST: _json_bytes(manifest), **files}


def read_manifest(data: bytes, where: str = MANIFEST) -> dict[str, Any]:
    """Parse and check a manifest: format, compatible version, well-formed file list."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PersistError(f"{where} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PersistError(f"{where} is not a {FORMAT} manifest (its 'format' should be {FORMAT!r})")
    version = manifest.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        saved_by = manifest.get("saved_by", {})
        seismo_version = saved_by.get("seismo", "?") if isinstance(saved_by, dict) else "?"
        ours = library_versions()["seismo"]
        raise PersistError(
            f"{where}: saved in {FORMAT} format version {version!r} by seismo {seismo_version}; this seismo "
            f"({ours}) reads format version {', '.join(map(str, READABLE_FORMAT_VERSIONS))}. Load it with seismo "
            f"{seismo_version}, or fit and save it again with this one"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not {STATE, ARRAYS} <= set(listed):
        raise PersistError(f"{where}: 'files' should list at least {STATE} and {ARRAYS}")
    for name, entry in listed.items():
        if not (_FILE_NAME.match(name) and name != MANIFEST):
            raise PersistError(f"{where}: {name!r} is not an acceptable file name")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)):
            raise PersistError(f"{where}: the entry of {name!r} has no 'sha256'")
    return manifest


def loads(files: Mapping[str, bytes], expect: type | None = None, *, import_metrics: bool = False) -> Any:
    """Rebuild the object ``dumps`` saved; `PersistError` on any tampering, damage or version mismatch.

    ``expect``: the class the object must be an instance of (checked after loading; loading
    itself only ever creates allowed classes). The custom metrics the object uses must be
    registered already, as they were saved; ``import_metrics=True`` imports the modules the save
    names and registers them instead (for a file trusted like code; `declared_metrics.restore`).
    """
    if MANIFEST not in files:
        raise PersistError(f"{MANIFEST} is missing; found {sorted(files)[:10]}")
    manifest = read_manifest(files[MANIFEST])
    checked: dict[str, bytes] = {}
    for name, entry in manifest["files"].items():
        if name not in files:
            raise PersistError(f"{name} is missing (the manifest lists it)")
        data = files[name]
        if not isinstance(data, bytes):
            raise PersistError(f"{name} should be bytes, found a {type(data).__name__}")
        if _sha256(data) != entry["sha256"]:
            raise PersistError(f"{name} does not match its SHA-256 in {MANIFEST}: the file was changed or damaged")
        checked[name] = data
    try:
        state = json.loads(checked[STATE].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PersistError(f"{STATE} is not valid JSON ({exc})") from None
    except RecursionError:
        raise PersistError(f"{STATE} is nested too deeply to be a seismo object") from None
    if not isinstance(state, dict) or "root" not in state:
        raise PersistError(f"{STATE} should be an object with a 'root'")
    pending = restore(state.get(CUSTOM_METRICS, []), import_metrics=import_metrics)
    try:
        obj = Decoder(_read_npz(checked[ARRAYS]), checked, manifest["format_version"]).decode(state["root"])
    except RecursionError:
        raise PersistError(f"{STATE} is nested too deeply to be a seismo object") from None
    if expect is not None and not isinstance(obj, expect):
        raise PersistError(f"the saved object is a {type(obj).__qualname__}, not a {expect.__qualname__}")
    for register in pending:  # only once the object has loaded: a refused file registers nothing
        register()
    return obj


def save(obj: Any, directory: str | os.PathLike) -> Path:
    """Write ``dumps(obj)`` into ``directory`` (created if needed); returns its path.

    The manifest is written last, each file by an atomic rename: a reader never sees a new
    manifest with old files, and a crash mid-save leaves a checksum mismatch, never a silently
    mixed object. Files a previous save listed and this one does not are removed; a file seismo
    did not write is never removed or overwritten (see `files.replace_files`).
    """
    files = dumps(obj)  # everything that can fail does, before anything is written
    directory = Path(directory)
    previous: set[str] = set()
    if (directory / MANIFEST).exists():
        try:
            previous = set(read_manifest((directory / MANIFEST).read_bytes())["files"]) | {MANIFEST}
        except OSError as exc:
            raise PersistError(f"{directory / MANIFEST} cannot be read ({exc.strerror or exc})") from None
        except PersistError as exc:  # not our manifest: it is the user's file, and stays
            raise PersistError(f"{directory / MANIFEST} is not a manifest seismo wrote ({exc}); "
                               "save into an empty directory or one that seismo saved into") from None
    replace_files(directory, files, owned=previous, last=MANIFEST)
    return directory


def load(directory: str | os.PathLike, expect: type | None = None, *, import_metrics: bool = False) -> Any:
    """Read a directory written by `save` and rebuild its object (see `loads`, and its ``import_metrics``)."""
    directory = Path(directory)
    try:
        manifest_bytes = (directory / MANIFEST).read_bytes()
    except OSError as exc:
        raise PersistError(f"{directory / MANIFEST} cannot be read ({exc.strerror or exc})") from None
    files = {MANIFEST: manifest_bytes}
    for name in read_manifest(manifest_bytes, str(directory / MANIFEST))["files"]:
        try:
            files[name] = (directory / name).read_bytes()
        except OSError as exc:
            raise PersistError(f"{directory / name} is missing or unreadable ({exc.strerror or exc})") from None
    return loads(files, expect, import_metrics=import_metrics)
