"""The Jinja environment expressions run in: immutable sandbox, no compile-time evaluation, and a
check of CPU time and size at every step that could repeat or allocate.

What it changes from Jinja's ``ImmutableSandboxedEnvironment``:

- Nothing is evaluated while compiling (the optimizer is off, output is finalized at run time,
  ``* ** + %`` are intercepted), so validating a document never computes ``9 ** 9 ** 8``.
- ``* ** + %``, ``~``, every filter, every call and every ``{% for %}`` iteration ticks the
  budget (``limits.Budget``); those that can build something much larger than their operands
  (``'a' * n``, ``x ** n``, ``center(n)``, ``replace``, ``join``, format widths, ``range``...)
  are checked before they allocate, the others measured after.
- Only ``{% if %}``, ``{% for %}`` (not recursive), ``{% set x = ... %}`` and ``{% with %}``
  statements: macros, call/filter/set blocks and template inheritance are refused, so all
  output passes through ``finalize`` and the counted collector of ``render``.
- Methods of data values are limited to a known list (``str.upper``, ``dict.items``...).
- A secret (``secret_values.Secret``) passes through nothing but concatenation and output.
"""

from __future__ import annotations

import base64
import json
import math
import re
import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace, _PassArg

from workflows.spec.expressions.errors import ExpressionLimit, SecretMisuse
from workflows.spec.expressions.limits import Budget, active, current_limits, measure
from workflows.spec.expressions.secret_values import is_secret, join_parts

SECRET_HINT = ("a secret can only be used whole, as a config value or joined into text with `~` or "
               "`{{ }}` (such as \"Bearer {{ secrets.TOKEN }}\")")


def _refuse_secret(what: str) -> SecretMisuse:
    return SecretMisuse(f"A secret cannot go through {what}: {SECRET_HINT}.")


# ----------------------------------------------------------------------------- size estimates


def _percent_format_size(budget: Budget, fmt: str, args: Any) -> None:
    """Checks a printf-style format (``'%5d' % x``, the ``format`` filter) before it runs."""
    extra = 0
    for width, precision in re.findall(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]", fmt):
        if width == "*" or precision == "*":
            raise ExpressionLimit("A `*` width or precision is not supported in a format.")
        extra += int(width or 0) + int(precision or 0)
        if extra > budget.limits.max_size:
            raise ExpressionLimit(f"The format asks for widths of {extra:,} characters; the limit is "
                                  f"{budget.limits.max_size:,}.")
    budget.allow(len(fmt) + extra + measure(args, budget.limits.max_size), "The formatted text")


def _brace_format_size(budget: Budget, fmt: str, args: Any) -> None:
    """Checks a ``str.format`` string (``'{:>10}'.format(x)``) before it runs."""
    extra = 0
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise ExpressionLimit(f"Bad format string: {exc}") from None
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise ExpressionLimit("A nested `{}` inside a format spec is not supported.")
        extra += sum(int(number) for number in re.findall(r"\d+", spec))
        if extra > budget.limits.max_size:
            raise ExpressionLimit(f"The format asks for widths of {extra:,} characters; the limit is "
                                  f"{budget.limits.max_size:,}.")
    budget.allow(len(fmt) + extra + measure(args, budget.limits.max_size), "The formatted text")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str) else measure(value, current_limits().max_size)


def _replace_size(budget: Budget, text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
        return
    found = text.count(old) if old else len(text) + 1
    if count is not None and _int(count, -1) >= 0:
        found = min(found, _int(count))
    budget.allow(len(text) + found * max(len(new) - len(old), 0), "The replaced text")


def _join_size(budget: Budget, items: Any, separator: Any = "") -> None:
    count = len(items) if isinstance(items, list | tuple | dict | str) else 0
    budget.allow(measure(items, budget.limits.max_size, secrets=False) + count * len(str(separator)),
                 "The joined text")


def _width_size(budget: Budget, text: Any, width: Any = 80, *_rest: Any, **_named: Any) -> None:
    budget.allow(max(_text_len(text), _int(width)), "The padded text")


def _indent_size(budget: Budget, text: Any, width: Any = 4, *_rest: Any, **_named: Any) -> None:
    lines = str(text).count("\n") + 2
    unit = len(width) if isinstance(width, str) else _int(width)
    budget.allow(_text_len(text) + lines * max(unit, 0), "The indented text")


def _wordwrap_size(budget: Budget, text: Any, width: Any = 79, break_long_words: Any = True,
                   wrapstring: Any = None, *_rest: Any, **named: Any) -> None:
    wrap = named.get("wrapstring", wrapstring)
    size = _text_len(text)
    breaks = size // max(_int(named.get("width", width), 1), 1) + 1
    budget.allow(size + breaks * len(str(wrap or "\n")), "The wrapped text")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict | range) else 0


def _groups_size(what: str) -> Callable[..., None]:
    """``batch(n, fill)`` and ``slice(n, fill)``: up to n more items, each the filler."""

    def check(budget: Budget, value: Any, count: Any = 0, fill_with: Any = None, **named: Any) -> None:
        count = max(_int(named.get("linecount", named.get("slices", count))), 0)
        filler = named.get("fill_with", fill_with)
        budget.allow(_length(value) + count * (1 + measure(filler, budget.limits.max_size)), what)

    return check


def _round_digits(budget: Budget, value: Any, precision: Any = 0, *_rest: Any, **named: Any) -> None:
    digits = _int(named.get("precision", precision))
    if abs(digits) > 400:
        raise ExpressionLimit(f"round() to {digits:,} digits is out of range (at most 400).")


def _whole_size(what: str) -> Callable[..., None]:
    def check(budget: Budget, value: Any, *args: Any, **named: Any) -> None:
        budget.allow(measure([value, args, named], budget.limits.max_size, secrets=False), what)

    return check


def _tojson_size(budget: Budget, value: Any, indent: Any = None, **named: Any) -> None:
    indent = named.get("indent", indent)
    size = measure(value, budget.limits.max_size, secrets=False)
    if indent:
        size *= 2 + min(_int(indent) if not isinstance(indent, str) else len(indent), budget.limits.max_size)
    budget.allow(size, "The JSON text")


def _format_filter_size(budget: Budget, value: Any, *args: Any, **named: Any) -> None:
    _percent_format_size(budget, str(value), named or args)


# Filters whose output can be much larger than their input: checked before they run.
_BEFORE: dict[str, Callable[..., None]] = {
    "center": _width_size,
    "indent": _indent_size,
    "wordwrap": _wordwrap_size,
    "replace": _replace_size,
    "join": _join_size,
    "format": _format_filter_size,
    "tojson": _tojson_size,
    "batch": _groups_size("The batches"),
    "slice": _groups_size("The slices"),
    "round": _round_digits,
    "string": _whole_size("The text"),
    "pprint": _whole_size("The text"),
    "list": lambda budget, value, *args, **named: budget.allow(_length(value), "The list"),
    "sum": _whole_size("The sum"),
    "xmlattr": _whole_size("The attributes"),
}
# Filters that build a new value (of a size bounded by their input's): measured after they run.
# The others return their input, a part of it, or a number.
_AFTER = frozenset({
    "capitalize", "title", "upper", "lower", "trim", "striptags", "truncate", "escape", "e", "forceescape",
    "urlencode", "urlize", "b64encode", "b64decode", "fromjson", "jmespath", "dictsort", "sort", "unique",
    "reverse", "groupby", "items", "map", "select", "reject", "selectattr", "rejectattr",
    *_BEFORE,
})
# Filters a secret may go through: they hand it on whole.
_SECRET_SAFE = frozenset({"default", "d"})


def _materialize(items: Iterator[Any], budget: Budget, what: str) -> list[Any]:
    """A filter's lazy result as a list, counted as it is built."""
    result = []
    limit = budget.limits.max_size
    for item in items:
        budget.tick()
        result.append(item)
        if len(result) > limit:
            raise ExpressionLimit(f"{what} has more than {limit:,} items.")
    return result


def _size_of(name: str, value: Any, limit: int) -> int:
    """What a filter built: its length (a list of what existed already costs its references),
    or its whole size for ``jmespath``, whose projections can repeat values."""
    if name == "jmespath":
        return measure(value, limit)
    return _length(value)


def _checked_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    passes = _PassArg.from_obj(func)
    before = _BEFORE.get(name)
    after = name in _AFTER
    secret_safe = name in _SECRET_SAFE
    what = f"The result of the `{name}` filter"

    @pass_context
    def checked(context: Context, value: Any, *args: Any, **named: Any) -> Any:
        budget = active()
        budget.tick()
        if not secret_safe and (is_secret(value) or any(map(is_secret, args)) or any(map(is_secret, named.values()))):
            raise _refuse_secret(f"the `{name}` filter")
        if before is not None:
            before(budget, value, *args, **named)
        if passes is _PassArg.context:
            result = func(context, value, *args, **named)
        elif passes is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **named)
        elif passes is _PassArg.environment:
            result = func(context.environment, value, *args, **named)
        else:
            result = func(value, *args, **named)
        if isinstance(result, Iterator):
            result = _materialize(result, budget, what)
        if after:
            budget.allow(_size_of(name, result, budget.limits.max_size), what)
        return result

    return checked


@pass_context
def _loop_items(context: Context, items: Any) -> Iterator[Any]:
    """Wraps the iterable of every ``{% for %}``: each iteration ticks the budget."""
    if is_secret(items):
        raise _refuse_secret("a loop")
    budget = active()
    for item in items:
        budget.tick()
        yield item


# ----------------------------------------------------------------------------- our own filters


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _add_hours(value: Any, hours: float) -> str:
    return (_to_datetime(value) + timedelta(hours=hours)).isoformat()


def _add_days(value: Any, days: float) -> str:
    return (_to_datetime(value) + timedelta(days=days)).isoformat()


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode()


def _b64decode(value: Any) -> str:
    return base64.b64decode(str(value)).decode("utf-8", "replace")


def _jmespath(value: Any, expression: str) -> Any:
    return jmespath.search(expression, value)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str, allow_nan=False)


def _fromjson(value: Any) -> Any:
    return json.loads(value, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _range(*args: Any) -> range:
    items = range(*args)
    limit = current_limits().max_range
    if len(items) > limit:
        raise ExpressionLimit(f"range() of {len(items):,} items; the limit is {limit:,}.")
    return items


# ----------------------------------------------------------------------------- methods of values


def _no_check(budget: Budget, owner: Any, *args: Any, **named: Any) -> None:
    pass


def _pad_method(budget: Budget, owner: Any, width: Any = 0, *_rest: Any) -> None:
    budget.allow(max(len(owner), _int(width)), "The padded text")


def _expandtabs(budget: Budget, owner: Any, tabsize: Any = 8) -> None:
    budget.allow(len(owner) + owner.count("\t") * max(_int(tabsize), 0), "The expanded text")


def _join_method(budget: Budget, owner: Any, items: Any = ()) -> None:
    _join_size(budget, items, owner)


def _replace_method(budget: Budget, owner: Any, old: Any = "", new: Any = "", count: Any = -1) -> None:
    _replace_size(budget, owner, old, new, count)


_STR_METHODS: dict[str, Callable[..., None]] = {
    **dict.fromkeys((
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
        "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
        "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
        "upper"), _no_check),
    "center": _pad_method, "ljust": _pad_method, "rjust": _pad_method, "zfill": _pad_method,
    "expandtabs": _expandtabs, "join": _join_method, "replace": _replace_method,
}
_METHODS: dict[type, dict[str, Callable[..., None]]] = {
    str: _STR_METHODS,
    dict: dict.fromkeys(("get", "keys", "values", "items", "copy"), _no_check),
    list: dict.fromkeys(("index", "count", "copy"), _no_check),
    tuple: dict.fromkeys(("index", "count"), _no_check),
    int: dict.fromkeys(("bit_length",), _no_check),
    float: dict.fromkeys(("is_integer",), _no_check),
}
_RUNTIME_OBJECTS = (LoopContext, Cycler, Joiner)


def _method_check(obj: Any) -> Callable[..., None] | None:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    for kind, methods in _METHODS.items():
        if isinstance(owner, kind):
            return methods.get(name)
    return None


# ----------------------------------------------------------------------------- the compiler


class _CodeGenerator(CodeGenerator):
    """Output goes through ``environment.finalize`` untouched by ``str()`` (so a secret stays an
    object until the collector), and ``~`` through ``environment.concat_checked``."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(finalize.src)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.With)
LOOP_FILTER = "_mbflow_loop"


def _guard(tree: nodes.Template) -> None:
    """Refuses the statements whose output would escape the counted collector, and makes every
    loop tick the budget."""
    for statement in tree.find_all(nodes.Stmt):
        if not isinstance(statement, _ALLOWED_STATEMENTS):
            keyword = type(statement).__name__.lower()
            raise TemplateSyntaxError(
                f"`{{% {keyword} %}}` is not supported in workflow expressions (use if, for, set, with).",
                statement.lineno)
        if isinstance(statement, nodes.For):
            if statement.recursive:
                raise TemplateSyntaxError("A recursive loop is not supported in workflow expressions.",
                                          statement.lineno)
            statement.iter = nodes.Filter(statement.iter, LOOP_FILTER, [], [], None, None,
                                          lineno=statement.lineno)


class DataEnvironment(ImmutableSandboxedEnvironment):
    """Workflow data is JSON: ``output.items`` is the key ``items``, not ``dict.items``."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=False, optimized=False, finalize=_finalize)
        self.globals.pop("lipsum", None)
        self.globals.update(now=_now, range=_range)
        self.filters.update(
            tojson=_tojson, fromjson=_fromjson, b64encode=_b64encode, b64decode=_b64decode,
            add_hours=_add_hours, add_days=_add_days, jmespath=_jmespath,
        )
        self.filters = {name: _checked_filter(name, func) for name, func in self.filters.items()}
        self.filters[LOOP_FILTER] = _loop_items
        self._allowed_calls = {id(function) for function in (_now, _range, dict, Namespace, Cycler, Joiner)}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _guard(tree)
        return tree

    # --- reading values ---------------------------------------------------------------
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        if is_secret(obj):
            raise _refuse_secret(f"`.{attribute}`")
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if is_secret(obj):
            raise _refuse_secret("`[...]`")
        return super().getitem(obj, argument)

    # --- operators, concatenation, output ------------------------------------------------
    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = active()
        budget.tick()
        if is_secret(left) or is_secret(right):
            if operator == "+" and all(isinstance(side, str) or is_secret(side) for side in (left, right)):
                return join_parts((left, right))
            raise _refuse_secret(f"`{operator}`")
        if operator == "*":
            _check_repeat(budget, left, right)
        elif operator == "**":
            _check_power(budget, left, right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                budget.allow(len(left) + len(right), "The sum")
        elif operator == "%" and isinstance(left, str):
            _percent_format_size(budget, left, right)
        return self.binop_table[operator](left, right)

    def concat_checked(self, parts: tuple[Any, ...]) -> Any:
        budget = active()
        budget.tick()
        texts = [part if isinstance(part, str) or is_secret(part) else _finalize_value(budget, part)
                 for part in parts]
        budget.allow(sum(len(part) if isinstance(part, str) else 8 for part in texts), "The joined text")
        return join_parts(texts)

    # --- calls ------------------------------------------------------------------------
    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = active()
        budget.tick()
        check = _method_check(__obj)
        if check is not None:
            if any(map(is_secret, args)) or any(map(is_secret, kwargs.values())):
                raise _refuse_secret(f"`{getattr(__obj, '__name__', 'a method')}()`")
            check(budget, __obj.__self__, *args, **kwargs)
        elif not (id(__obj) in __self._allowed_calls or getattr(__obj, "_mbflow_checked", False)
                  or isinstance(__obj, Joiner | Undefined)
                  or isinstance(getattr(__obj, "__self__", None), _RUNTIME_OBJECTS)):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise ExpressionLimit(f"Calling `{name}()` is not supported in workflow expressions.")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            budget = active()
            if is_secret(template) or any(map(is_secret, args)) or any(map(is_secret, kwargs.values())):
                raise _refuse_secret("`.format()`")
            _brace_format_size(budget, template, [args, kwargs])
            return wrapped(*args, **kwargs)

        checked._mbflow_checked = True  # type: ignore[attr-defined]
        return checked


def _check_repeat(budget: Budget, left: Any, right: Any) -> None:
    """``'ab' * n``, ``[x] * n``, ``a * b`` on integers: checked before the product is built."""
    if isinstance(left, int) and isinstance(right, int):
        budget.allow_int(left.bit_length() + right.bit_length(), "The product")
        return
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        unit = len(sequence) if isinstance(sequence, str) else measure(sequence, budget.limits.max_size)
        if times > 0 and unit > 0:
            budget.allow(unit * times, "The repeated value")


def _check_power(budget: Budget, base: Any, exponent: Any) -> None:
    """``x ** n`` on integers: the result's bits estimated (n * log2 x) before it is computed."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        budget.allow_int(int(exponent * math.log2(abs(base))) + 1, "The power")


def _finalize_value(budget: Budget, value: Any) -> Any:
    if isinstance(value, str) or is_secret(value):
        return value
    if isinstance(value, Undefined):
        return str(value)
    if not isinstance(value, int | float | bool) and value is not None:
        budget.allow(measure(value, budget.limits.max_size), "The printed value")
    return str(value)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every ``{{ }}`` inside text: a string, or a secret kept whole for the collector."""
    return _finalize_value(active(), value)


ENV = DataEnvironment()
