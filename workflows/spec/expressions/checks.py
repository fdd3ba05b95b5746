"""How much an operation of an expression may build, checked before it runs: the filters, the
methods of values and the operators whose result can be far larger than their operands
(``'a' * n``, ``center(n)``, ``replace``, format widths...). Each check takes the running
``Budget`` and the operation's arguments and raises ``ExpressionLimit`` instead of allocating."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from typing import Any

from workflows.spec.expressions.errors import ExpressionLimit
from workflows.spec.expressions.limits import Budget, current_limits, measure

# ----------------------------------------------------------------------------- filters

def percent_format_size(budget: Budget, fmt: str, args: Any) -> None:
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


def brace_format_size(budget: Budget, fmt: str, args: Any) -> None:
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


def length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict | range) else 0


def _groups_size(what: str) -> Callable[..., None]:
    """``batch(n, fill)`` and ``slice(n, fill)``: up to n more items, each the filler."""

    def check(budget: Budget, value: Any, count: Any = 0, fill_with: Any = None, **named: Any) -> None:
        count = max(_int(named.get("linecount", named.get("slices", count))), 0)
        filler = named.get("fill_with", fill_with)
        budget.allow(length(value) + count * (1 + measure(filler, budget.limits.max_size)), what)

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
    percent_format_size(budget, str(value), named or args)


# Filters whose output can be much larger than their input: checked before they run.
BEFORE: dict[str, Callable[..., None]] = {
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
    "list": lambda budget, value, *args, **named: budget.allow(length(value), "The list"),
    "sum": _whole_size("The sum"),
    "xmlattr": _whole_size("The attributes"),
}
# Filters that build a new value (of a size bounded by their input's): measured after they run.
# The others return their input, a part of it, or a number.
AFTER = frozenset({
    "capitalize", "title", "upper", "lower", "trim", "striptags", "truncate", "escape", "e", "forceescape",
    "urlencode", "urlize", "b64encode", "b64decode", "fromjson", "jmespath", "dictsort", "sort", "unique",
    "reverse", "groupby", "items", "map", "select", "reject", "selectattr", "rejectattr",
    *BEFORE,
})
# Filters a secret may go through: they hand it on whole.
SECRET_SAFE = frozenset({"default", "d"})


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
def method_check(obj: Any) -> Callable[..., None] | None:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    for kind, methods in _METHODS.items():
        if isinstance(owner, kind):
            return methods.get(name)
    return None


# ----------------------------------------------------------------------------- operators

def check_repeat(budget: Budget, left: Any, right: Any) -> None:
    """``'ab' * n``, ``[x] * n``, ``a * b`` on integers: checked before the product is built."""
    if isinstance(left, int) and isinstance(right, int):
        budget.allow_int(left.bit_length() + right.bit_length(), "The product")
        return
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        unit = len(sequence) if isinstance(sequence, str) else measure(sequence, budget.limits.max_size)
        if times > 0 and unit > 0:
            budget.allow(unit * times, "The repeated value")


def check_power(budget: Budget, base: Any, exponent: Any) -> None:
    """``x ** n`` on integers: the result's bits estimated (n * log2 x) before it is computed."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        budget.allow_int(int(exponent * math.log2(abs(base))) + 1, "The power")
