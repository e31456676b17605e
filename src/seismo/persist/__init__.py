"""Save and load fitted seismo objects without pickle: JSON, numpy ``.npz``, Arrow IPC, LightGBM text.

```python
from seismo.persist import save, load
save(monitor, "monitor/")            # manifest.json, state.json, arrays.npz, lightgbm/*.txt, arrow/*.arrows
monitor = load("monitor/", expect=seismo.Monitor)
files = dumps(partial); partial = loads(files)   # the same, as {name: bytes}
```

Loading never runs code named by the file: it creates only classes defined in seismo (plus a
short list of third-party ones), without calling their constructors. docs/persistence.md has
the format and the safety argument.
"""

from seismo.errors import PersistError
from seismo.persist.bundle import (
           FORMAT_VERSION,
           READABLE_FORMAT_VERSIONS,
           dumps,
           library_versions,
           load,
           loads,
           read_manifest,
           save,
)

__all__ = ["FORMAT_VERSION", "READABLE_FORMAT_VERSIONS", "PersistError", "dumps", "library_versions", "load", "loads",
           "read_manifest", "save"]
