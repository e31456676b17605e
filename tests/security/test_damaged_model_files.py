"""Tampered Arrow and LightGBM files inside a save are refused, never crash the process.

Arrow's IPC reader and LightGBM's model-text parser trust offsets and indices in what they
read. Found by the loader fuzzer (test_fuzz_persist.py): a save whose files were edited and
their checksums recomputed crashed Python with a segmentation fault, from

* a string column whose offsets point outside its data (Arrow), read back into pandas;
* a LightGBM ``tree_sizes`` larger than the trees that follow, or a parameter line without its colon;

and a child index outside the tree loaded "fine" and predicted from memory past the leaves.
Each case runs in a child process, so that a crash fails this test rather than ending the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from seismo.persist import PersistError, dumps, loads

SETUP = textwrap.dedent('''
    import hashlib, json, re
    import lightgbm as lgb, numpy as np, pyarrow as pa
    from seismo.persist import PersistError, dumps, loads

    def resealed(files):
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {n: {"sha256": hashlib.sha256(files[n]).hexdigest()} for n in manifest["files"]}
        return {**files, "manifest.json": json.dumps(manifest).encode()}

    def booster():
        x = np.random.default_rng(0).normal(size=(200, 2))
        return lgb.train({"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1},
                         lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=2)
''')

CASES = {
    "arrow_negative_offset": '''
        import pandas as pd
        files = dumps({"frame": pd.DataFrame({"c": pd.Categorical(["ab", "cd", "ef"])})})
        name = next(n for n in files if n.startswith("arrow/"))
        good = np.array([0, 2, 4, 6], dtype="<i8").tobytes()  # the categories' offsets (large_string)
        assert files[name].count(good) == 1
        files[name] = files[name].replace(good, np.array([0, -1000, 4, 6], dtype="<i8").tobytes())
    ''',
    "lightgbm_tree_sizes_past_the_end": '''
        files = dumps({"model": booster()})
        text = files["lightgbm/0.txt"].decode()
        files["lightgbm/0.txt"] = re.sub(r"tree_sizes=\\d+", "tree_sizes=99999999", text).encode()
    ''',
    "lightgbm_parameter_line_without_colon": '''
        files = dumps({"model": booster()})
        text = files["lightgbm/0.txt"].decode()
        files["lightgbm/0.txt"] = text.replace("[eval_at: ]", "[eval_at\x02\x1d]", 1).encode()
    ''',
    "lightgbm_parameters_cut_short": '''
        files = dumps({"model": booster()})
        text = files["lightgbm/0.txt"].decode()
        files["lightgbm/0.txt"] = text[:text.index("[max_bin")].encode()
    ''',
}


def test_tampered_files_are_refused_without_a_crash():
    """All cases in one child process (starting Python with seismo costs seconds); each prints its
    outcome first, so a crash names the case it happened in."""
    script = SETUP
    for case in sorted(CASES):
        script += textwrap.dedent(f"""
            print("case {case}:", end=" ", flush=True)
        """) + textwrap.dedent(CASES[case]) + textwrap.dedent("""
            try:
                loads(resealed(files))
            except PersistError as exc:
                print("refused:", exc, flush=True)
            else:
                print("loaded", flush=True)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, f"the loader crashed (exit code {done.returncode}) in {lines[-1:]}: {done.stderr[-300:]}"
    assert len(lines) == len(CASES)
    for line, case in zip(lines, sorted(CASES)):
        file = "arrow/0.arrows" if case.startswith("arrow") else "lightgbm/0.txt"
        assert line.startswith(f"case {case}: refused: {file}"), line


def test_a_child_index_outside_the_tree_is_refused():
    """LightGBM loads it and reads leaf values from past the end of its array; seismo refuses it."""
    import hashlib
    import json

    import lightgbm as lgb
    import numpy as np

    x = np.random.default_rng(0).normal(size=(200, 2))
    model = lgb.train({"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1},
                      lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=1)
    files = dumps({"model": model})
    text = files["lightgbm/0.txt"].decode()
    first = text[text.index("left_child="):].split("\n", 1)[0]
    bad = first.rsplit(" ", 1)[0] + " -9"  # leaf 8 of a 4-leaf tree; same length, so tree_sizes still hold
    files["lightgbm/0.txt"] = text.replace(first, bad, 1).encode()
    manifest = json.loads(files["manifest.json"])
    for name in manifest["files"]:
        manifest["files"][name]["sha256"] = hashlib.sha256(files[name]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(PersistError, match="do not form a tree"):
        loads(files)


@pytest.mark.parametrize("flags, error", [(0x01, "encrypted"), (0x40, "strong encryption"), (None, "decompress")])
def test_a_damaged_array_archive_is_a_persist_error(flags, error):
    """zipfile and zlib raise their own exceptions (zlib.error, NotImplementedError, RuntimeError)."""
    import hashlib
    import json
    import struct

    import numpy as np

    files = dumps({"array": np.arange(1000.0)})
    data = bytearray(files["arrays.npz"])
    if flags is None:  # corrupt the deflate stream of the first member
        start = 30 + struct.unpack("<H", data[26:28])[0] + struct.unpack("<H", data[28:30])[0]
        data[start:start + 8] = b"\xff" * 8
    else:  # general-purpose flags, in the local header and in the central directory
        central = data.rindex(b"PK\x01\x02")
        struct.pack_into("<H", data, 6, flags)
        struct.pack_into("<H", data, central + 8, flags)
    files["arrays.npz"] = bytes(data)
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["arrays.npz"]["sha256"] = hashlib.sha256(files["arrays.npz"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(PersistError, match="arrays.npz"):
        loads(files)
