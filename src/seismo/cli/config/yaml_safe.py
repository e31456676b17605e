"""A YAML reader for configs that are data and nothing else, and stay small.

PyYAML's `SafeLoader` already refuses tags that build Python objects; this reader adds what a
config file needs on top:

* a duplicated key is an error naming the key and both lines (YAML keeps the last one
  silently, so a second ``chunk_size`` would quietly win);
* aliases may not expand the document past `MAX_NODES` nodes: a "billion laughs" file of a
  few hundred bytes otherwise expands, once the config is walked, into gigabytes;
* the file itself may not exceed `MAX_BYTES`.

Each refusal is a `YamlRefused` carrying the line it concerns, so that `parse_yaml` can report it
like a syntax error.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1_000_000  # a monitoring config is a few kilobytes
MAX_NODES = 100_000  # nodes after alias expansion
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(Exception):
    """A config that parses as YAML but is refused; ``line`` is 1-based, or None."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicated keys, naming both lines."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue  # merge keys may be overridden, by YAML's own rule
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise YamlRefused(f"key {key!r} appears twice, on lines {first_line[key]} and {line}; "
                                  "YAML would keep the last one silently: remove one", line)
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _tag_message(node: yaml.Node) -> str | None:
    """A plain refusal for tags that ask for Python objects or anything but plain data."""
    tag = node.tag or ""
    if tag.startswith("tag:yaml.org,2002:python/") or tag.startswith("!"):
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        return f"the tag {shown} is refused: a seismo config holds plain data (text, numbers, lists, mappings)"
    return None


def _expanded_nodes(root: yaml.Node) -> int:
    """Nodes of the document once every alias is expanded, counted without expanding (memoised)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if children_done:
            open_nodes.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
            continue
        if key in open_nodes:
            raise YamlRefused("an alias refers to the node that contains it (a recursive structure)",
                              node.start_mark.line + 1)
        message = _tag_message(node)
        if message:
            raise YamlRefused(message, node.start_mark.line + 1)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_config_yaml(text: str) -> Any:
    """The YAML document in ``text`` as plain data; raises `YamlRefused` or `yaml.YAMLError`."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise YamlRefused(f"the config is larger than {MAX_BYTES:,} bytes; a monitoring config is a few kilobytes")
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node) > MAX_NODES:
            raise YamlRefused(f"aliases expand the config past {MAX_NODES:,} values (an alias bomb?)",
                              node.start_mark.line + 1)
        return loader.construct_document(node)
    finally:
        loader.dispose()
