"""``${VAR}`` references: the one rule for taking secrets from the environment.

A webhook URL, an SMTP password or a PagerDuty routing key is a secret; a config file names the
variable that holds it (``url: ${SLACK_WEBHOOK_URL}``) so that the file can be committed and the
secret never reaches the store or the logs. The CLI config's expansion and `expand_secrets`
share `ENV_REFERENCE`, so a reference means the same in YAML and in Python.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

from seismo.errors import InvalidConfiguration

# ${NAME} or ${NAME:-default}; NAME as a shell variable name
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_secrets(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`value` with every ``${VAR}`` replaced by the variable's value (``${VAR:-default}`` falls back).

    A variable that is unset and has no default is an `InvalidConfiguration` naming it (all of
    them, when several are missing); the message never shows any value.
    """
    env = os.environ if environ is None else environ
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append(name)
        return match.group(0)

    expanded = ENV_REFERENCE.sub(substitute, value)
    if missing:
        names = list(dict.fromkeys(missing))
        if len(names) == 1:
            raise InvalidConfiguration(f"environment variable {names[0]} is not set")
        raise InvalidConfiguration(f"environment variables {', '.join(names)} are not set")
    return expanded
