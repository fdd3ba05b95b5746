"""The one way MBFlow writes a workflow as YAML: fixed key order, indented lists, stable bytes.

Keys of the known parts of a document (metadata, spec, nodes, edges, ...) are written in the
order of the language reference; free-form mappings keep their own order. A string that would
read back as something else under the YAML 1.2 core schema is quoted, so
``load(dump(data)) == data`` and ``dump(load(dump(data))) == dump(data)``.
"""

from __future__ import annotations

from typing import Any

import yaml

from workflows.spec.loader import resolve_plain

_ORDER: dict[str, tuple[str, ...]] = {
    "document": ("apiVersion", "kind", "metadata", "spec"),
    "metadata": ("name", "title", "description", "tags", "annotations"),
    "spec": (
        "input_schema", "output_schema", "variables", "defaults", "timeout", "timeout_action",
        "nodes", "edges", "output", "compensation", "triggers",
    ),
    "node": (
        "id", "name", "description", "type", "config", "when", "timeout", "timeout_action", "retry",
        "fallback", "fallback_output", "circuit_breaker", "position",
    ),
    "edge": ("id", "from", "to", "on", "port", "condition"),
}


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {key: mapping[key] for key in order if key in mapping}
    return {**known, **{key: value for key, value in mapping.items() if key not in known}}


def canonical_data(data: dict[str, Any]) -> dict[str, Any]:
    """The document with its known mappings' keys in canonical order (values untouched)."""
    document = _ordered(data, _ORDER["document"])
    if isinstance(document.get("metadata"), dict):
        document["metadata"] = _ordered(document["metadata"], _ORDER["metadata"])
    spec = document.get("spec")
    if isinstance(spec, dict):
        spec = _ordered(spec, _ORDER["spec"])
        for key, kind in (("nodes", "node"), ("edges", "edge")):
            if isinstance(spec.get(key), list):
                spec[key] = [_ordered(item, _ORDER[kind]) if isinstance(item, dict) else item for item in spec[key]]
        document["spec"] = spec
    return document


class _PyDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key


def _needs_escapes(value: str) -> bool:
    return any((not char.isprintable() and char != "\n") or char in "\x85\u2028\u2029\ufeff" for char in value)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _needs_escapes(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value and value == value.strip(" ") and "\t" not in value and "\r" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    style = "'" if not isinstance(resolve_plain(value), str) or value != value.strip() else None
    if "'" in value and '"' not in value and "\\" not in value and (
            style == "'" or not dumper.analyze_scalar(value).allow_block_plain):
        # `nodes['validate-user']` reads as written in double quotes (single ones would double it).
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    if value != value:
        text = ".nan"
    elif value in (float("inf"), float("-inf")):
        text = ".inf" if value > 0 else "-.inf"
    else:
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items())


# `on`, `off`, `yes` and `no` stay quoted ('on': failure) although MBFlow's loader (YAML 1.2 core)
# reads them as text: YAML 1.1 readers (PyYAML's safe_load, Go's yaml.v2, many CI tools) read them
# as booleans, and an exported document must mean the same to them.
_PyDumper.add_representer(str, _represent_str)
_PyDumper.add_representer(float, _represent_float)
_PyDumper.add_representer(dict, _represent_dict)


def dump_yaml(data: dict[str, Any]) -> str:
    """Canonical native YAML for a document given as data."""
    return yaml.dump(
        canonical_data(data),
        Dumper=_PyDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
        indent=2,
    )


def dump_value(value: Any) -> str:
    """Canonical YAML for any value (used for fragments such as a node in a diff)."""
    return yaml.dump(value, Dumper=_PyDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
