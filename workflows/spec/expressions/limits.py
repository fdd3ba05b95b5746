"""How much CPU time and memory an expression may take, and the budget that enforces it.

Every evaluation runs under a ``Budget``: a CPU-time deadline of the evaluating thread (and, for
a node, a wall-clock deadline from its ``timeout``), checked at every loop iteration, call,
filter and checked operator; and a size limit checked *before* an operation allocates (``'a' *
10**9`` is refused, not attempted). Values are measured in "units": a character of a string, an
item of a list or dict, a word of an integer. One value may hold ``max_size`` units; everything
one expression builds together at most ``max_total``.

The limits are process-wide (``configure_limits``, called once at start-up from the settings);
a budget is per thread, opened by ``budget()`` around what should share it (the expressions of
one node attempt) or else per expression.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined
from jinja2.utils import Namespace

from workflows.spec.expressions.errors import ExpressionError, ExpressionLimit, ExpressionTimeout, SecretMisuse
from workflows.spec.expressions.secret_values import MASK, SECRET_TYPES


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_seconds: float = 1.0  # CPU time of the expressions of one node attempt (or one expression)
    max_size: int = 1_000_000  # units in one value an expression builds
    max_total: int = 10_000_000  # units built by one expression altogether
    max_source: int = 100_000  # characters of one expression's text
    max_int_bits: int = 4096  # bits of an integer an expression computes
    max_range: int = 100_000  # items of range()


LIMITS = Limits()


def configure_limits(limits: Limits) -> None:
    """Sets the process-wide limits (from the settings, once at start-up)."""
    global LIMITS
    LIMITS = limits


def current_limits() -> Limits:
    return LIMITS


# Reading the thread's CPU clock is a system call (~2 us here, against ~0.1 us for the monotonic
# clock), and most expressions end within microseconds: a budget reads it only once an evaluation
# has lasted CPU_CHECK_AFTER of wall time, then at most every CPU_CHECK_EVERY. A thread cannot
# use more CPU time than the wall time that passed, so nothing over budget goes unseen for longer
# than CPU_CHECK_EVERY; the first reading takes the budget's start as if the thread had been busy
# since it opened (the budget is short by at most the idle part of its first CPU_CHECK_AFTER).
CPU_CHECK_AFTER = 0.005
CPU_CHECK_EVERY = 0.001


class Budget:
    """The CPU and size budget of the evaluations running on one thread."""

    __slots__ = ("cpu_deadline", "limits", "next_cpu_check", "opened", "total", "wall_deadline")

    def __init__(self, limits: Limits, wall_seconds: float | None = None) -> None:
        self.limits = limits
        self.opened = time.monotonic()
        self.next_cpu_check = self.opened + min(CPU_CHECK_AFTER, limits.cpu_seconds / 10)
        self.cpu_deadline = math.inf  # set by the first reading of the CPU clock
        self.wall_deadline = self.opened + wall_seconds if wall_seconds is not None else math.inf
        self.total = 0

    def tick(self) -> None:
        """Called at every step an expression can repeat: fails once a deadline has passed."""
        now = time.monotonic()
        if now >= self.next_cpu_check:
            self._check_cpu(now)
        if now > self.wall_deadline:
            raise ExpressionTimeout("The expression ran past the node's timeout.")

    def _check_cpu(self, now: float) -> None:
        cpu = time.thread_time()
        if self.cpu_deadline == math.inf:
            self.cpu_deadline = cpu - (now - self.opened) + self.limits.cpu_seconds
        if cpu > self.cpu_deadline:
            raise ExpressionLimit(f"The expression went over its CPU time budget of "
                                  f"{self.limits.cpu_seconds * 1000:,.0f} ms.")
        self.next_cpu_check = now + CPU_CHECK_EVERY

    def allow(self, size: int, what: str) -> None:
        """Refuses to build a value of ``size`` units (before it is built), and counts it."""
        if size > self.limits.max_size:
            raise ExpressionLimit(f"{what} would hold {size:,} characters or items; the limit is "
                                  f"{self.limits.max_size:,}.")
        self.total += size
        if self.total > self.limits.max_total:
            raise ExpressionLimit(f"The expression built more than {self.limits.max_total:,} characters or "
                                  f"items altogether.")

    def allow_int(self, bits: int, what: str) -> None:
        if bits > self.limits.max_int_bits:
            raise ExpressionLimit(f"{what} would be a number of about {bits:,} bits; the limit is "
                                  f"{self.limits.max_int_bits:,}.")


_budget: ContextVar[Budget | None] = ContextVar("mbflow_expression_budget", default=None)


class _Scope:
    """``with budget(...)``: a class rather than a generator, as it opens around every node
    attempt and every expression (a generator's context manager costs several times more)."""

    __slots__ = ("timeout", "token")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.token: Token[Budget | None] | None = None

    def __enter__(self) -> Budget:
        outer = _budget.get()
        if outer is not None:
            return outer
        opened = Budget(LIMITS, self.timeout)
        self.token = _budget.set(opened)
        return opened

    def __exit__(self, *exc_info: object) -> None:
        if self.token is not None:
            _budget.reset(self.token)
            self.token = None


def budget(timeout: float | None = None) -> AbstractContextManager[Budget]:
    """One budget for every evaluation in the block on this thread (a node's render and run);
    ``timeout`` adds a wall-clock deadline. Inside another budget's block, that one goes on."""
    return _Scope(timeout)


def opened() -> Budget | None:
    """The budget open on this thread (``budget()``), or None outside any."""
    return _budget.get()


def active() -> Budget:
    """The budget of the running evaluation (a fresh one outside any, so a stray call is bounded)."""
    return _budget.get() or Budget(LIMITS)


def measure(value: Any, limit: int, *, secrets: bool = True) -> int:
    """The size of ``value`` in units, counting a value referenced twice twice (as text or JSON
    would), walked without recursion and given up as soon as it passes ``limit``. With
    ``secrets=False`` a secret inside it raises ``SecretMisuse`` (it is about to become text)."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) + 1
        elif isinstance(item, dict):
            total += len(item) + 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 1
            pending.extend(item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 64
        elif isinstance(item, float):
            total += 1
            if not math.isfinite(item):
                raise ExpressionError(f"{item} is not a number JSON can hold.")
        elif isinstance(item, bytes | range):
            total += len(item) + 1
        elif isinstance(item, SECRET_TYPES):
            if not secrets:
                raise SecretMisuse("A secret cannot be turned into text inside a value (by `tojson`, `join`, "
                                   "`string`...); it can only be used whole.")
            total += len(MASK)
        elif isinstance(item, Namespace):
            pending.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Undefined) or item is None:
            pass
        else:
            total += 1
        if total > limit:
            return total
    return total


def check_result(value: Any, what: str = "The result") -> None:
    """A value leaving an expression: within the size limit and JSON-representable."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"{what} is {value}, not a number JSON can hold.")
        return
    if isinstance(value, complex):
        raise ExpressionError(f"{what} is a complex number, not one JSON can hold.")
    if isinstance(value, str | int | bool) or value is None:
        if isinstance(value, str) and len(value) > LIMITS.max_size:
            raise ExpressionLimit(f"{what} is {len(value):,} characters long; the limit is {LIMITS.max_size:,}.")
        return
    size = measure(value, LIMITS.max_size)
    if size > LIMITS.max_size:
        raise ExpressionLimit(f"{what} holds more than {LIMITS.max_size:,} characters or items.")
