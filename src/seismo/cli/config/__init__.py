"""The YAML config of `seismo run`: its schema, how it is read, and what can be wrong with it.

`load_config(path)` returns a validated `Config` or raises `ConfigError` listing every
`Problem` (each with its key path, e.g. ``chunking.chunk_size``); `read_config` returns
the problems instead of raising, for `seismo validate`.
"""

from seismo.cli.config.fields import DEFAULT_STORE_FILE, STATE_IN_STORE, Config, Source
from seismo.cli.config.problems import ConfigError, Problem, did_you_mean
from seismo.cli.config.reading import (
                      build_config,
                      expand_env,
                      key_path,
                      load_config,
                      parse_yaml,
                      read_config,
                      read_config_tree,
                      salvaged_config,
)

__all__ = [
           "DEFAULT_STORE_FILE",
           "STATE_IN_STORE",
           "Config",
           "ConfigError",
           "Problem",
           "Source",
           "build_config",
           "did_you_mean",
           "expand_env",
           "key_path",
           "load_config",
           "parse_yaml",
           "read_config",
           "read_config_tree",
           "salvaged_config",
]
