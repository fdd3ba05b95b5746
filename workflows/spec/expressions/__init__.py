"""Expressions inside workflow documents: Jinja2 in ``{{ ... }}`` and bare ``$.a.b`` paths.

Compiled once per distinct text (an LRU cache) without evaluating anything, run in a sandbox
(``sandbox``) under a CPU-time and size budget (``limits``), with secrets as opaque values
(``secret_values``). A value that is exactly one ``{{ ... }}`` yields the native result; text
mixed with expressions yields a string (or a ``SecretText`` when it joins a secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.environment import Template
from jinja2.parser import Parser

from workflows.spec.expressions.errors import ExpressionError, ExpressionLimit, ExpressionTimeout, SecretMisuse
from workflows.spec.expressions.limits import (
    Budget,
    Limits,
    budget,
    check_result,
    configure_limits,
    current_limits,
    opened,
)
from workflows.spec.expressions.sandbox import ENV
from workflows.spec.expressions.secret_values import (
    MASK,
    Secret,
    SecretText,
    holds_secret,
    is_secret,
    join_parts,
    reveal,
)

__all__ = [
    "CONTEXT_NAMES", "MASK", "Budget", "ExpressionError", "ExpressionLimit", "ExpressionTimeout", "Limits",
    "Secret", "SecretMisuse", "SecretText", "budget", "check_syntax", "compile_expression", "configure_limits",
    "evaluate", "holds_secret", "is_expression", "is_secret", "iter_expressions", "path_to_jinja", "read_path",
    "referenced_nodes", "referenced_secrets", "render_value", "reveal",
]

CONTEXT_NAMES = frozenset(
    {"input", "nodes", "vars", "secrets", "execution", "upstream", "item", "index", "output", "value", "response"}
)

_SINGLE = re.compile(r"^\s*\{\{(?P<body>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_PATH = re.compile(r"^\$\.(?P<path>[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*)$")


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


@dataclass(frozen=True, slots=True)
class Compiled:
    """An expression ready to run: a template, whether it yields a native value, and whether it
    only reads a value by its path (``nodes.a.output.b``: nothing is built, nothing to measure);
    such a path as its name and keys (``("nodes", "a", "output", "b")``), read without the
    template while each step is a key of a dict or an index of a list (``read_path``)."""

    template: Template
    native: bool
    path: bool
    steps: tuple[Any, ...] | None = None


def _path_steps(expression: nodes.Expr) -> tuple[Any, ...] | None:
    """``expression``'s name and keys when it only reads a value by its path, else None."""
    keys: list[Any] = []
    while isinstance(expression, nodes.Getattr | nodes.Getitem):
        if isinstance(expression, nodes.Getattr):
            keys.append(expression.attr)
        elif isinstance(expression.arg, nodes.Const) and isinstance(expression.arg.value, str | int):
            keys.append(expression.arg.value)
        else:
            return None
        expression = expression.node
    if not isinstance(expression, nodes.Name):
        return None
    return (expression.name, *reversed(keys))


_MISSING = object()


def read_path(steps: tuple[Any, ...], context: dict[str, Any]) -> Any:
    """The value at ``steps`` while every step is a key present in a dict or an index inside a
    list, which is what the template reads there too (a dict's key before its attributes, see
    ``sandbox.DataEnvironment.getattr``); ``_MISSING`` for anything else (a missing key, a
    secret, an attribute), which the template decides."""
    value = context.get(steps[0], _MISSING)
    for key in steps[1:]:
        if isinstance(value, dict):
            if key not in value:
                return _MISSING
            value = value[key]
        elif isinstance(value, list) and type(key) is int and -len(value) <= key < len(value):
            value = value[key]
        else:
            return _MISSING
    return value


@lru_cache(maxsize=8192)
def compile_expression(text: str) -> Compiled:
    """The compiled expression; raises ExpressionError for bad syntax or a text over the size
    limit. Nothing in the expression is evaluated here."""
    limit = current_limits().max_source
    if len(text) > limit:
        raise ExpressionLimit(f"The expression is {len(text):,} characters long; the limit is {limit:,}.", text[:200])
    source, native = _source(text)
    try:
        if not native:
            return Compiled(ENV.from_string(source), False, False)
        parser = Parser(ENV, source, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
        expression.set_environment(ENV)
        body = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
        steps = _path_steps(expression)
        return Compiled(ENV.from_string(body), True, steps is not None, steps)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"Expression syntax error: {exc.message}", text, exc.lineno) from None
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError) as exc:
        raise ExpressionLimit(f"The expression is too deeply nested or too large to compile ({type(exc).__name__}).",
                              text[:200]) from None


def check_syntax(text: str) -> str | None:
    """None when ``text`` compiles, else the error message."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        return exc.message
    return None


def evaluate(text: str, context: dict[str, Any]) -> Any:
    """The value of one expression, with or without ``{{ }}``."""
    if not is_expression(text):
        text = "{{ " + text + " }}"
    return _render(text, context)


def _collect(chunks: Iterator[Any], limits: Limits) -> str | SecretText:
    """The text a template writes, counted as it is written."""
    parts: list[Any] = []
    size = 0
    for chunk in chunks:
        size += len(chunk) if isinstance(chunk, str) else len(MASK)
        if size > limits.max_size:
            raise ExpressionLimit(f"The text is longer than {limits.max_size:,} characters.")
        parts.append(chunk)
    return join_parts(parts)


def _render(text: str, context: dict[str, Any]) -> Any:
    compiled = compile_expression(text)
    running = opened()
    if running is None:  # outside a node's budget: one of its own
        with budget() as running:
            return _run(compiled, text, context, running)
    return _run(compiled, text, context, running)


def _run(compiled: Compiled, text: str, context: dict[str, Any], running: Budget) -> Any:
    template = compiled.template
    running.total = 0
    try:
        if compiled.steps is not None:
            found = read_path(compiled.steps, context)
            if found is not _MISSING:
                if isinstance(found, str):
                    check_result(found)
                return found
        if compiled.native:
            scope = template.new_context(context)
            for _ in template.root_render_func(scope):
                pass
            result = scope.vars["result"]
            if isinstance(result, ChainableUndefined):
                return None
            if not compiled.path or isinstance(result, str):
                check_result(result)  # a value read by its path was built by no one: nothing to measure
            return result
        return _collect(template.root_render_func(template.new_context(context)), running.limits)
    except ExpressionError as exc:
        exc.expression = exc.expression or text
        raise
    except (RecursionError, MemoryError) as exc:
        raise ExpressionLimit(f"The expression went too deep or too large ({type(exc).__name__}).", text) from None
    except Exception as exc:  # a sandbox violation, a filter given bad data, a division by zero...
        raise ExpressionError(f"Expression failed: {exc}", text) from None


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Renders every expression inside a value (dicts and lists walked); other values unchanged.
    An error names where the expression sits (``ExpressionError.path``)."""
    if isinstance(value, str):
        return _render(value, context) if is_expression(value) else value
    if isinstance(value, dict):
        rendered = {}
        for key, item in value.items():
            try:
                rendered[key] = render_value(item, context)
            except ExpressionError as exc:
                exc.path.insert(0, key)
                raise
        return rendered
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(render_value(item, context))
            except ExpressionError as exc:
                exc.path.insert(0, index)
                raise
        return items
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
def _referenced(text: str, root: str) -> frozenset[str]:
    """The names an expression reads under ``root`` through ``root.<name>`` or ``root['<name>']``."""
    source, native = _source(text)
    try:
        tree = ENV.parse("{{ " + source + " }}" if native else source)
    except (TemplateSyntaxError, RecursionError, MemoryError):
        return frozenset()
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == root:
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return frozenset(found)


def referenced_nodes(text: str) -> frozenset[str]:
    """Ids of the nodes an expression reads through ``nodes.<id>`` or ``nodes['<id>']``."""
    return _referenced(text, "nodes")


def referenced_secrets(text: str) -> frozenset[str]:
    """Names of the secrets an expression reads through ``secrets.<NAME>`` or ``secrets['<NAME>']``."""
    return _referenced(text, "secrets")
