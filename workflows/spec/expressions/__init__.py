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
    "evaluate", "holds_secret", "is_expression", "is_secret", "iter_expressions", "path_to_jinja",
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
    only reads a value by its path (``nodes.a.output.b``: nothing is built, nothing to measure)."""

    template: Template
    native: bool
    path: bool


def _is_path(expression: nodes.Expr) -> bool:
    while isinstance(expression, nodes.Getattr | nodes.Getitem):
        if isinstance(expression, nodes.Getitem) and not isinstance(expression.arg, nodes.Const):
            return False
        expression = expression.node
    return isinstance(expression, nodes.Name)


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
        return Compiled(ENV.from_string(body), True, _is_path(expression))
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
    template = compiled.template
    with budget() as running:
        running.total = 0
        try:
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
