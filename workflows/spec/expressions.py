"""Expressions inside workflow documents: Jinja2 in ``{{ ... }}`` and bare ``$.a.b`` paths.

Compiled once per distinct text (an LRU cache), evaluated in Jinja's immutable sandbox, so a
document cannot reach Python internals or change the data it reads. A value that is exactly one
``{{ ... }}`` yields the native result; text mixed with expressions yields a string.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jmespath
from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONTEXT_NAMES = frozenset(
    {"input", "nodes", "vars", "secrets", "execution", "upstream", "item", "index", "output", "value", "response"}
)
MAX_RESULT_CHARS = 1_000_000

_SINGLE = re.compile(r"^\s*\{\{(?P<body>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_PATH = re.compile(r"^\$\.(?P<path>[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*)$")


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated."""

    def __init__(self, message: str, expression: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.line = line


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode()


def _b64decode(value: Any) -> str:
    return base64.b64decode(str(value)).decode("utf-8", "replace")


def _jmespath(value: Any, expression: str) -> Any:
    return jmespath.search(expression, value)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


class _DataEnvironment(ImmutableSandboxedEnvironment):
    """Workflow data is JSON: ``output.items`` is the key ``items``, not ``dict.items``."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _environment() -> ImmutableSandboxedEnvironment:
    env = _DataEnvironment(undefined=ChainableUndefined, autoescape=False)
    env.globals.update(now=lambda: datetime.now(UTC).isoformat())
    env.filters.update(
        tojson=_tojson,
        fromjson=json.loads,
        b64encode=_b64encode,
        b64decode=_b64decode,
        add_hours=lambda value, hours: (_to_datetime(value) + timedelta(hours=hours)).isoformat(),
        add_days=lambda value, days: (_to_datetime(value) + timedelta(days=days)).isoformat(),
        jmespath=_jmespath,
    )
    return env


ENV = _environment()


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value or bool(_PATH.match(value)))


def path_to_jinja(path: str) -> str:
    """``$.step.field`` → ``nodes['step'].output.field``; ``$.input.x`` → ``input.x``."""
    first, _, rest = path.partition(".")
    bracket = first.find("[")
    if bracket > 0:
        first, rest = first[:bracket], first[bracket:] + ("." + rest if rest else "")
    tail = ""
    for part in re.findall(r"\[\d+\]|[^.\[\]]+", rest):
        tail += part if part.startswith("[") else (f".{part}" if part.isidentifier() else f"[{part!r}]")
    if first in CONTEXT_NAMES:
        return first + tail
    return f"nodes[{first!r}].output{tail}"


def _source(text: str) -> tuple[str, bool]:
    """The Jinja source and whether it is a single expression (native result)."""
    path = _PATH.match(text)
    if path:
        return path_to_jinja(path.group("path")), True
    single = _SINGLE.match(text)
    if single:
        return single.group("body").strip(), True
    return text, False


@lru_cache(maxsize=8192)
def compile_expression(text: str) -> tuple[Any, bool]:
    """A compiled (callable, native?) pair; raises ExpressionError for bad syntax."""
    source, native = _source(text)
    try:
        if native:
            return ENV.compile_expression(source, undefined_to_none=False), True
        return ENV.from_string(source), False
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"Expression syntax error: {exc.message}", text, exc.lineno) from None


def check_syntax(text: str) -> str | None:
    """None when ``text`` compiles, else the error message."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        return exc.message
    return None


def _native(value: Any) -> Any:
    if isinstance(value, ChainableUndefined):
        return None
    return value


def evaluate(text: str, context: dict[str, Any]) -> Any:
    """The value of one expression, with or without ``{{ }}``."""
    if not is_expression(text):
        text = "{{ " + text + " }}"
    return _render(text, context)


def _render(text: str, context: dict[str, Any]) -> Any:
    compiled, native = compile_expression(text)
    try:
        if native:
            result = _native(compiled(**context))
        else:
            result = compiled.render(**context)
    except Exception as exc:  # a sandbox violation, a filter given bad data, a division by zero...
        raise ExpressionError(f"Expression failed: {exc}", text) from None
    if isinstance(result, str) and len(result) > MAX_RESULT_CHARS:
        raise ExpressionError(f"Expression result is longer than {MAX_RESULT_CHARS:,} characters.", text)
    return result


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Renders every expression inside a value (dicts and lists walked); other values unchanged."""
    if isinstance(value, str):
        return _render(value, context) if is_expression(value) else value
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def iter_expressions(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every expression string inside a value, with its path relative to the value."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            if is_expression(item):
                yield where, item
        elif isinstance(item, dict):
            pending.extend(((*where, key), child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend(((*where, index), child) for index, child in reversed(list(enumerate(item))))


@lru_cache(maxsize=8192)
def referenced_nodes(text: str) -> frozenset[str]:
    """Ids of the nodes an expression reads through ``nodes.<id>`` or ``nodes['<id>']``."""
    source, native = _source(text)
    try:
        tree = ENV.parse("{{ " + source + " }}" if native else source)
    except TemplateSyntaxError:
        return frozenset()
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == "nodes":
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return frozenset(found)
