"""An alert rule's condition: what it reads, over which window, and whether it holds.

Three forms:

- ``execution failed`` (``over <window>``, 5m by default): an execution failed within the window.
- ``running longer than <duration>``: an execution has not ended that long after it was created.
- An expression, ``<expression> over <window>`` (15m by default), in the workflow expression
  language and its sandbox, over the figures of the executions created within the window
  (``execution_count``, ``success_count``, ``failure_count``, ``cancelled_count``,
  ``success_rate``, ``failure_rate``, ``avg_duration``, ``p50_duration``, ``p95_duration``,
  ``p99_duration``, and ``running``: executions not ended now) and the business metrics of the
  rule's workflow (or of every workflow) over the window: a metric's name is its one figure (a
  counter's sum, a gauge's last value, a histogram's average), ``sum(name)``, ``avg(name)``,
  ``min``, ``max``, ``count``, ``last``, ``p50``, ``p95``, ``p99`` the others. Durations may be
  written with a unit (``p95_duration > 60s``), rates as percentages (``failure_rate > 5%``).

A condition reading a figure that has no value (no execution ended: no ``failure_rate``) does
not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import TemplateSyntaxError, meta

from monitoring.periods import WindowError, parse_duration
from workflows.spec.expressions import ExpressionError, check_syntax, evaluate
from workflows.spec.expressions.sandbox import ENV

FIGURES = ("execution_count", "success_count", "failure_count", "cancelled_count", "success_rate", "failure_rate",
           "avg_duration", "p50_duration", "p95_duration", "p99_duration", "running")
AGGREGATES = ("count", "sum", "avg", "min", "max", "last", "p50", "p95", "p99")
DEFAULT_WINDOW = 15 * 60
FAILED_WINDOW = 5 * 60
MAX_WINDOW = 31 * 86400

_OVER = re.compile(r"^(?P<body>.*?)\s+over\s+(?P<window>\S+)\s*$", re.DOTALL | re.IGNORECASE)
_FAILED = re.compile(r"^executions?\s+failed$", re.IGNORECASE)
_RUNNING = re.compile(r"^running\s+longer\s+than\s+(?P<limit>\S+)\s*$", re.IGNORECASE)
_AGGREGATE = re.compile(r"\b(" + "|".join(AGGREGATES) + r")\(\s*([a-z_][a-z0-9_]*)\s*\)")
_UNIT = re.compile(r"(?<![\w.'\"])(\d+(?:\.\d+)?)(ms|s|m|h|d|%)(?![\w'\"])")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "%": 0.01}


class ConditionError(ValueError):
    """Why a condition cannot be read (said to whoever wrote it)."""


@dataclass(frozen=True)
class Condition:
    text: str
    kind: Literal["expression", "failed", "running"]
    window: float  # seconds: the window, or for `running longer than` the limit
    expression: str = ""  # as evaluated (aggregates and units rewritten)
    figures: tuple[str, ...] = ()  # the execution figures it reads, in order of appearance
    metrics: tuple[str, ...] = ()  # the business metrics it reads


def _seconds(text: str, what: str) -> float:
    try:
        seconds = float(parse_duration(text, what))
    except WindowError:
        raise ConditionError(f"{what} {text!r} is not a duration such as 30s, 15m, 1h or 7d.") from None
    if seconds > MAX_WINDOW:
        raise ConditionError(f"{what} is at most 31d.")
    return seconds


def _rewrite(body: str) -> str:
    body = _AGGREGATE.sub(lambda match: f"{match.group(1)}.{match.group(2)}", body)
    return _UNIT.sub(lambda match: repr(float(match.group(1)) * _UNIT_SECONDS[match.group(2)]), body)


def parse_condition(text: str, known_metrics: frozenset[str] | None = None) -> Condition:
    """The condition ``text`` says; ``known_metrics`` (when given) are the business metric names
    it may read."""
    text = " ".join(text.split())
    if not text:
        raise ConditionError("A condition is needed, e.g. `failure_rate > 0.05 over 15m` or `execution failed`.")
    running = _RUNNING.match(text)
    if running:
        return Condition(text, "running", _seconds(running.group("limit"), "The time"))
    over = _OVER.match(text)
    body, window = (over.group("body"), _seconds(over.group("window"), "The window")) if over else (text, None)
    if _FAILED.match(body):
        return Condition(text, "failed", window or FAILED_WINDOW)
    expression = _rewrite(body)
    error = check_syntax("{{ " + expression + " }}")
    if error:
        raise ConditionError(f"{error} in `{body}`.")
    try:
        names = meta.find_undeclared_variables(ENV.parse("{{ " + expression + " }}"))
    except (TemplateSyntaxError, ExpressionError) as exc:
        raise ConditionError(f"`{body}` cannot be read: {exc}") from None
    aggregated = {match.group(2) for match in _AGGREGATE.finditer(body)}
    bare = names - set(AGGREGATES)
    metrics = (bare - set(FIGURES)) | aggregated
    if known_metrics is not None:
        unknown = sorted(metrics - known_metrics)
        if unknown:
            known = ", ".join(FIGURES + tuple(sorted(known_metrics)))
            raise ConditionError(f"`{unknown[0]}` is neither a figure nor a business metric of the rule's "
                                 f"workflow(s); one of: {known}.")
    if not names:
        raise ConditionError(f"`{body}` reads no figure; e.g. `failure_rate > 0.05`.")
    order = [name for name in re.findall(r"[a-z_][a-z0-9_]*", expression) if name in FIGURES]
    return Condition(text, "expression", window or DEFAULT_WINDOW, expression,
                     tuple(dict.fromkeys(order)), tuple(sorted(metrics)))


@dataclass(frozen=True)
class Verdict:
    holds: bool
    value: float | None  # the first figure the condition reads (shown, and sent)
    shown: str  # "failure_rate = 0.25"


def decide(condition: Condition, figures: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> Verdict:
    """Whether an expression condition holds over these figures and metric figures
    (``metrics[name]``: count, sum, avg, ..., and ``value``, its one figure)."""
    context: dict[str, Any] = {name: figures.get(name) for name in FIGURES}
    for aggregate in AGGREGATES:
        context[aggregate] = {name: figures_of.get(aggregate) for name, figures_of in metrics.items()}
    for name, figures_of in metrics.items():
        context[name] = figures_of.get("value")
    read = [*condition.figures, *condition.metrics]
    first = read[0] if read else None
    value = context.get(first) if first in FIGURES or first in metrics else None
    shown = f"{first} = {_format(value)}" if first else ""
    if any(context.get(name) is None for name in condition.figures) or any(
            metrics.get(name, {}).get("count") in (None, 0) and metrics.get(name, {}).get("value") is None
            for name in condition.metrics):
        return Verdict(False, value, f"{shown} (no data)" if shown else "no data")
    try:
        holds = bool(evaluate("{{ " + condition.expression + " }}", context))
    except ExpressionError as exc:
        if "NoneType" in exc.message:
            return Verdict(False, value, f"{shown} (no data)")
        raise
    return Verdict(holds, value if isinstance(value, int | float) else None, shown)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "null" if value is None else str(value)
