"""What the language reference documents and what the code defines, as sets of dotted names.

``documented()`` reads docs/workflow-language.md; ``defined()`` reads the pydantic models, the
node-type catalog and the expression environment. Both answer the same kind of names, so a test
can say which side lacks one:

- ``document.<key>``, ``metadata.<key>``, ``spec.<key>``, ``defaults.<key>``: the document;
- ``node.<key>``, ``retry.<key>``, ``circuit_breaker.<key>``, ``rate_limit.<key>``,
  ``position.<key>``, ``edge.<key>``, ``compensation.<key>``;
- ``type.<name>`` a built-in node type, ``<type>.<key>`` its config keys (``<type>.<key>.<sub>``
  for the keys of a nested object);
- ``function.<name>``, ``filter.<name>``, ``test.<name>`` in expressions;
- ``trigger.<type>`` and ``trigger.<type>.<key>``;
- ``<name>=<value>`` for each value of a key whose values the reference enumerates
  (``node.timeout_action=ignore``, ``merge.mode=first``); the code's values of such a key are its
  ``Literal`` (or, for an object, the ``type`` its alternatives are told apart by).

A few more names come only from the reference (``expression.<name>``, ``statement.<kw>``,
``method.<name>``, ``duration.<text>``): they have scenarios but no single definition in the code.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2.filters
import jinja2.tests
import yaml
from pydantic import BaseModel

from workflows.spec import builtin_types, node_types
from workflows.spec.expressions.sandbox import ENV, LOOP_FILTER
from workflows.spec.models import (
    CircuitBreaker,
    CompensationStep,
    Defaults,
    EdgeSpec,
    Metadata,
    NodeSpec,
    Position,
    RateLimit,
    RetryPolicy,
    Trigger,
    WorkflowBody,
    WorkflowSpec,
)

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "workflow-language.md"
IDENTIFIER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\??(?:: (.*))?$", re.DOTALL)
ENUMERATION = re.compile(r"^[A-Za-z_][\w-]*(?:\|[A-Za-z_][\w-]*)+$")


@dataclass(frozen=True)
class Token:
    """A `code span` of the reference and how deep in parentheses it stands."""

    text: str
    depth: int
    before: str  # the prose just before it (within its parenthesis)
    group: str  # the whole parenthesis it stands in ("" at depth 0)


def tokens(text: str) -> list[Token]:
    """The code spans of ``text`` in order, with their parenthesis depth (parentheses inside code
    spans do not count)."""
    found: list[Token] = []
    depth, starts, i = 0, [0], 0
    while i < len(text):
        char = text[i]
        if char == "`":
            end = text.index("`", i + 1)
            group = text[starts[-1]:_closing(text, starts[-1])] if depth else ""
            found.append(Token(text[i + 1:end], depth, text[max(starts[-1], i - 12):i], group))
            i = end + 1
            continue
        if char == "(":
            depth += 1
            starts.append(i + 1)
        elif char == ")" and depth:
            depth -= 1
            starts.pop()
        i += 1
    return found


def _closing(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text[i] == "`":
            i = text.index("`", i + 1)
        elif text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if not depth:
                return i
        i += 1
    return len(text)


def split_top(text: str, separator: str = ",") -> list[str]:
    """``text`` split at ``separator`` outside brackets, braces and parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def brace_keys(text: str) -> dict[str, str]:
    """``{a: x, b, c?: y}`` → ``{a: "x", b: "", c: "y"}``."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1].strip()
    assert inner.startswith("{") and inner.endswith("}"), text
    keys: dict[str, str] = {}
    for part in split_top(inner[1:-1]):
        match = IDENTIFIER.match(part)
        if match:
            keys[match.group(1)] = (match.group(2) or "").strip()
    return keys


def _values(description: str) -> list[str]:
    """The values a key's description enumerates (``fixed|linear|exponential``), else none."""
    first = description.split(" ")[0].strip(",")
    return first.split("|") if ENUMERATION.match(first) else []


def section(text: str, heading: str) -> str:
    """The text under a ``#``-heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert match, f"the reference has no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[:end.start()] if end else rest


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown table in ``text`` (cells with ``\\|`` read as ``|``)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append(cells)
    return rows[1:]


def sentence(text: str, start: str) -> str:
    """From ``start`` to the end of its sentence (a period followed by a space, a line end or the end)."""
    index = text.index(start)
    inside = False
    for position in range(index, len(text)):
        char = text[position]
        if char == "`":
            inside = not inside
        elif char == "." and not inside and text[position + 1:position + 2] in ("", " ", "\n"):
            return text[index:position + 1]
    return text[index:]


def _add_keys(found: set[str], prefix: str, keys: dict[str, str]) -> None:
    for key, description in keys.items():
        found.add(f"{prefix}.{key}")
        found.update(f"{prefix}.{key}={value}" for value in _values(description))


# ------------------------------------------------------------------------------------ the docs


@cache
def documented() -> frozenset[str]:
    """The names docs/workflow-language.md documents (node types before triggers: a trigger's
    paragraph may name a node type's keys, which are not the trigger's)."""
    text = REFERENCE.read_text()
    found: set[str] = set()
    _document_block(text, found)
    _nodes(text, found)
    _edges_and_compensation(text, found)
    _node_types(text, found)
    _expressions(text, found)
    _triggers(text, found)
    return frozenset(found)


def _document_block(text: str, found: set[str]) -> None:
    block = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.DOTALL).group(1))  # type: ignore[union-attr]
    found.update(f"document.{key}" for key in block)
    found.update(f"metadata.{key}" for key in block["metadata"])
    found.update(f"spec.{key}" for key in block["spec"])
    found.update(f"defaults.{key}" for key in block["spec"]["defaults"])
    durations = sentence(text, "Durations:")
    found.update(f"duration.{token.text}" for token in tokens(durations) if token.depth == 0)
    if "a number of seconds" in " ".join(durations.split()):
        found.add("duration.seconds")


def _nodes(text: str, found: set[str]) -> None:
    nodes = section(text, "Nodes")
    for key_cell, type_cell, _meaning in table_rows(nodes):
        key = tokens(key_cell)[0].text
        found.add(f"node.{key}")
        spans = tokens(type_cell)
        if len(spans) > 1 and all(IDENTIFIER.match(span.text) and ":" not in span.text for span in spans):
            found.update(f"node.{key}={span.text}" for span in spans)  # `a` | `b` | `c`
        elif spans and spans[0].text.startswith("{"):
            _add_keys(found, key, brace_keys(spans[0].text))
    for name, prefix in (("Retry policy: ", "retry"), ("Circuit breaker: ", "circuit_breaker")):
        span = tokens(sentence(nodes, name))[0].text
        _add_keys(found, prefix, brace_keys(span))


def _edges_and_compensation(text: str, found: set[str]) -> None:
    edges = section(text, "Edges")
    for token in tokens(sentence(edges, "`{from")):
        if token.depth:
            continue
        if token.text.startswith("{"):
            _add_keys(found, "edge", brace_keys(token.text))
        else:
            _add_keys(found, "edge", _one_key(token.text))
    compensation = section(text, "Compensation")
    _add_keys(found, "compensation", brace_keys(tokens(sentence(compensation, "`compensation` lists"))[1].text))


def _one_key(span: str) -> dict[str, str]:
    match = IDENTIFIER.match(span)
    assert match, span
    return {match.group(1): (match.group(2) or "").strip()}


# Inside a parenthesis a name is a key of the type unless the parenthesis enumerates values
# (`a` | `b`) or the name is a default (`default `x``) or a name the key reads (`over `x``).
_NOT_A_KEY_AFTER = ("default ", "over ")


def _node_types(text: str, found: set[str]) -> None:
    for type_cell, config_cell, _output in table_rows(section(text, "Built-in node types (config)")):
        name = tokens(type_cell)[0].text
        found.add(f"type.{name}")
        spans = tokens(config_cell)
        for index, span in enumerate(spans):
            match = IDENTIFIER.match(span.text)
            if not match:
                continue
            if span.depth and ("|" in span.group or span.before.endswith(_NOT_A_KEY_AFTER)):
                continue
            key, description = match.group(1), (match.group(2) or "").strip()
            found.add(f"{name}.{key}")
            found.update(f"{name}.{key}={value}" for value in _values(description))
            if description.startswith(("{", "[")):
                listed = description[1:-1] if description.startswith("[") else description
                for alternative in split_top(listed, "|"):
                    _add_keys(found, f"{name}.{key}", brace_keys(alternative))
            _alternatives(found, f"{name}.{key}", spans[index + 1:])


def _alternatives(found: set[str], prefix: str, following: list[Token]) -> None:
    """A key followed by ``(`a`|`b`)`` or ``(`{type: a, x}`|...)``: its values, and the keys
    of its object alternatives."""
    if not following or not following[0].depth or "|" not in following[0].group:
        return
    group = following[0].group
    for token in following:
        if token.group != group:
            break
        if token.text.startswith("{"):
            keys = brace_keys(token.text)
            found.add(f"{prefix}={keys.pop('type')}")
            _add_keys(found, prefix, keys)
        elif IDENTIFIER.match(token.text):
            found.add(f"{prefix}={token.text}")


def _expressions(text: str, found: set[str]) -> None:
    expressions = section(text, "Expressions")
    listing = expressions[expressions.index("Functions and filters:"):expressions.index("Methods of values")]
    filters_started = False
    for item in split_top(listing):
        # `a(n)` and `b(n)` (…; as filters, …): functions, and filters too.
        also_filters = any("as filters" in token.group for token in tokens(item) if token.depth)
        for token in tokens(item):
            if token.depth:
                continue
            name = token.text.split("(")[0]
            if "(" in token.text and not filters_started:
                found.add(f"function.{name}()")
                if also_filters:
                    found.add(f"filter.{name}")
            else:
                filters_started = True
                found.add(f"filter.{name}")
    if "Jinja's built-in filters and tests" in " ".join(listing.split()):
        found.update(f"filter.{name}" for name in jinja2.filters.FILTERS)
        found.update(f"test.{name}" for name in jinja2.tests.TESTS)
    if "A bare path `$.a.b` is also an expression" in " ".join(expressions.split()):
        found.add("expression.$.path")
    for token in tokens(sentence(expressions, "Names:")):
        if token.depth == 0:
            found.add(f"expression.{re.sub(r'[.]<[a-z]+>', '', token.text)}")
        elif token.text.startswith("."):  # nodes.<id>.output (also `.status`, …)
            found.add(f"expression.nodes.{token.text[1:]}")
        elif token.group.startswith("`id`"):  # execution (`id`, `workflow`, …)
            found.add(f"expression.execution.{token.text}")
    for token in tokens(sentence(expressions, "Methods of values")):
        method = re.search(r"\.([a-z_]+)\(", token.text)
        if method:
            found.add(f"method.{method.group(1)}")
    statements = sentence(expressions, "Statements:")
    allowed, refused = statements.split(";", 1)
    for part, prefix in ((allowed, "statement"), (refused, "refused")):
        for token in tokens(part):
            keyword = re.match(r"\{% *(\w+)", token.text)
            if keyword:
                block = "_block" if "{% end" in token.text else ""
                found.add(f"{prefix}.{keyword.group(1)}{block}")


def _triggers(text: str, found: set[str]) -> None:
    """Each kind's bullet (``- **cron**: …``; ``- Both: …`` applies to the two kinds before it)
    names its keys in code spans: a bare name or ``key: value`` (a value it takes). A node type
    named there (``webhook_response``) and its config keys after it are not trigger keys."""
    triggers = section(text, "Triggers")
    common = [token.text for token in tokens(sentence(triggers, "Each trigger may carry")) if not token.depth]
    kinds: list[str] = []
    for match in re.finditer(r"^- (?:\*\*(\w+)\*\*|(Both)):(.*?)(?=^- |^\S|\Z)", triggers, re.MULTILINE | re.DOTALL):
        kind, both, bullet = match.groups()
        owners = kinds[-2:] if both else [kind]
        if kind:
            kinds.append(kind)
            found.add(f"trigger.{kind}")
            found.update(f"trigger.{kind}.{key}" for key in common)
        for part in re.split(r"(?<=[.;])\s", bullet):
            node_type = None
            for token in tokens(part):
                match_key = IDENTIFIER.match(token.text)
                if token.depth or not match_key or match_key.group(1) == "type":
                    continue
                key, value = match_key.group(1), (match_key.group(2) or "").strip()
                if f"type.{key}" in found:
                    node_type = key
                    continue
                if node_type and f"{node_type}.{key}" in found:
                    continue
                for owner in owners:
                    found.add(f"trigger.{owner}.{key}")
                    if re.fullmatch(r"[a-z_]+", value):
                        found.add(f"trigger.{owner}.{key}={value}")


# ------------------------------------------------------------------------------------ the code


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info.annotation for name, info in model.model_fields.items()}


def _inside(annotation: Any) -> list[Any]:
    """The types an annotation is made of (through Annotated, unions, lists and dicts)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inside(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        return [part for arg in typing.get_args(annotation) for part in _inside(arg)]
    return [annotation]


def literal_values(annotation: Any) -> list[str]:
    return [str(value) for part in _inside(annotation) if typing.get_origin(part) is typing.Literal
            for value in typing.get_args(part)]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [part for part in _inside(annotation) if isinstance(part, type) and issubclass(part, BaseModel)]


def _add_model(found: set[str], prefix: str, model: type[BaseModel], enumerated: frozenset[str]) -> None:
    """The keys of ``model`` under ``prefix``, their values where the reference enumerates them,
    and the keys of nested objects (their ``type`` as values)."""
    for key, annotation in _fields(model).items():
        name = f"{prefix}.{key}"
        found.add(name)
        if any(entry.startswith(f"{name}=") for entry in enumerated):
            found.update(f"{name}={value}" for value in literal_values(annotation))
        for nested in _models(annotation):
            for sub, sub_annotation in _fields(nested).items():
                if sub == "type" and literal_values(sub_annotation):
                    found.update(f"{name}={value}" for value in literal_values(sub_annotation))
                else:
                    found.add(f"{name}.{sub}")


@cache
def defined() -> frozenset[str]:
    """The names the code defines: the models' fields, the built-in node types' config schemas,
    the expression environment's globals, filters and tests, the trigger models."""
    enumerated = frozenset(entry for entry in documented() if "=" in entry)
    found: set[str] = set()
    found.update(f"document.{key}" for key in _fields(WorkflowSpec))
    for prefix, model in (("metadata", Metadata), ("spec", WorkflowBody), ("defaults", Defaults),
                          ("retry", RetryPolicy), ("circuit_breaker", CircuitBreaker), ("rate_limit", RateLimit),
                          ("position", Position), ("edge", EdgeSpec), ("compensation", CompensationStep)):
        for key, annotation in _fields(model).items():
            found.add(f"{prefix}.{key}")
            if any(entry.startswith(f"{prefix}.{key}=") for entry in enumerated):
                found.update(f"{prefix}.{key}={value}" for value in literal_values(annotation))
    for key, annotation in _fields(NodeSpec).items():
        found.add(f"node.{key}")
        if any(entry.startswith(f"node.{key}=") for entry in enumerated):
            found.update(f"node.{key}={value}" for value in literal_values(annotation))
    for kind in builtin_node_types():
        found.add(f"type.{kind.name}")
        _add_model(found, kind.name, kind.config_model, enumerated)
    found.update(f"function.{name}()" for name, value in ENV.globals.items() if callable(value))
    found.update(f"filter.{name}" for name in ENV.filters if name != LOOP_FILTER)
    found.update(f"test.{name}" for name in ENV.tests)
    for member in typing.get_args(typing.get_args(Trigger)[0]):
        kind = literal_values(member.model_fields["type"].annotation)[0]
        found.add(f"trigger.{kind}")
        for key, annotation in _fields(member).items():
            if key == "type":
                continue
            found.add(f"trigger.{kind}.{key}")
            if any(entry.startswith(f"trigger.{kind}.{key}=") for entry in enumerated):
                found.update(f"trigger.{kind}.{key}={value}" for value in literal_values(annotation))
    return frozenset(found)


def builtin_node_types() -> list[Any]:
    """The node types the language itself registers (not those a test or a project adds)."""
    return [kind for kind in node_types() if kind.config_model.__module__ == builtin_types.__name__]


# Names only the reference has (no one place in the code defines them as a set).
REFERENCE_ONLY = ("expression.", "statement.", "refused.", "method.", "duration.")


def where_defined(name: str) -> str:
    """Where the code defines ``name`` (or would), for messages."""
    head = name.split("=")[0].split(".")[0]
    if name.endswith("()"):
        return "the expression globals (workflows/spec/expressions: functions.GLOBALS, sandbox.ENV)"
    models = {"document": "WorkflowSpec", "metadata": "Metadata", "spec": "WorkflowBody", "defaults": "Defaults",
              "node": "NodeSpec", "retry": "RetryPolicy", "circuit_breaker": "CircuitBreaker",
              "rate_limit": "RateLimit", "position": "Position", "edge": "EdgeSpec",
              "compensation": "CompensationStep", "trigger": "the Trigger models"}
    if head in models:
        return f"workflows/spec/models.py ({models[head]})"
    others = {"filter": "the expression filters (functions.FILTERS and Jinja's, in sandbox.ENV)",
              "test": "the Jinja tests of sandbox.ENV",
              "type": "the node-type catalog (workflows/spec/builtin_types.py)"}
    return others.get(head, f"the config schema of the `{head}` node type (workflows/spec/builtin_types.py)")
