"""Hypothesis settings of the loader fuzzers: bounded and derandomized in the suite.

The suite runs the same few dozen examples per test on every machine (no flakiness, a few
seconds in all). To hunt for escapes for longer, set ``SEISMO_FUZZ_EXAMPLES`` (e.g. 5000):
the examples are then random, a fresh draw each run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG_RUN = int(os.environ.get("SEISMO_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    """``examples`` derandomized examples, or ``SEISMO_FUZZ_EXAMPLES`` random ones when it is set."""
    return settings(derandomize=not LONG_RUN, max_examples=LONG_RUN or examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def tree_paths(tree, into_lists: bool = True, prefix: tuple = ()) -> list[tuple]:
    """Every position in a nested JSON/YAML tree, the root included: the places a fuzzer mutates.

    ``into_lists=False`` stops at lists (their items are not addressed by key).
    """
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += tree_paths(value, into_lists, prefix + (key,))
    elif into_lists and isinstance(tree, list):
        for i, value in enumerate(tree):
            found += tree_paths(value, into_lists, prefix + (i,))
    return found
