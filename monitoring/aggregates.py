"""SQL the metrics need that Django does not have, written for PostgreSQL and for SQLite.

On PostgreSQL each piece is the database's own: ``percentile_cont``, ``EXTRACT(EPOCH ...)``.
SQLite has none of them, so ``register_sqlite_functions`` adds them to each SQLite connection
as Python functions computing the same values exactly (a percentile interpolates as
``percentile_cont`` does; durations are counted in whole microseconds).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import sys
from array import array
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Aggregate, FloatField, Func, IntegerField

from monitoring.periods import ORIGIN

_ORIGIN_EPOCH = int(ORIGIN.timestamp())


class Seconds(Func):
    """``end - start`` in seconds (a float), null when either is null."""

    output_field = FloatField()
    arity = 2

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
                           arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="mbflow_seconds", **extra)


class BucketNumber(Func):
    """Which ``size``-second bucket, counted from ``periods.ORIGIN``, holds the moment."""

    output_field = IntegerField()
    arity = 1

    def __init__(self, moment: Any, size: int) -> None:
        super().__init__(moment, size=int(size), origin=_ORIGIN_EPOCH)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="FLOOR((EXTRACT(EPOCH FROM %(expressions)s) - %(origin)s) / %(size)s)::bigint",
                           **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="mbflow_bucket(%(expressions)s, %(size)s)", **extra)


class Percentile(Aggregate):
    """The ``fraction`` percentile of the values, interpolated between the two nearest ones
    (PostgreSQL's ``percentile_cont``); null without values."""

    name = "Percentile"
    output_field = FloatField()
    template = "percentile_cont(%(fraction)r) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction is between 0 and 1")
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # On the template (a FILTER clause is wrapped around it), not as an argument.
        sqlite = self.copy()
        sqlite.template = "mbflow_percentile(%(expressions)s, %(fraction)r)"
        return sqlite.as_sql(compiler, connection, **extra)


def interpolated(ordered: list[float], fraction: float) -> float | None:
    """``percentile_cont`` of sorted values, step for step as PostgreSQL computes it."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    first, second = math.floor(position), math.ceil(position)
    if first == second:
        return ordered[first]
    low = ordered[first]
    return low + (ordered[second] - low) * (position - first)


class _PercentileAggregate:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.0

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return interpolated(sorted(self.values), self.fraction)


def _micros(text: str) -> int:
    """Microseconds since the Unix epoch of a datetime as Django stores it in SQLite (UTC)."""
    moment = datetime.fromisoformat(text)
    delta = moment.replace(tzinfo=None) - datetime(1970, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _seconds(end: str | None, start: str | None) -> float | None:
    if end is None or start is None:
        return None
    return (_micros(end) - _micros(start)) / 1_000_000


def _bucket(moment: str | None, size: int) -> int | None:
    if moment is None:
        return None
    return (_micros(moment) - _ORIGIN_EPOCH * 1_000_000) // (size * 1_000_000)


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: the functions above, on every SQLite connection."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("mbflow_seconds", 2, _seconds, deterministic=True)
    raw.create_function("mbflow_bucket", 2, _bucket, deterministic=True)
    raw.create_aggregate("mbflow_percentile", 2, _PercentileAggregate)
    raw.create_function("mbflow_duration_bucket", 1, duration_bucket, deterministic=True)


# --- Duration histograms (the hourly and daily rollups) ----------------------------------------
#
# A duration of ``d`` seconds falls in bucket ``ceil(log(d) / log(GAMMA))``: bucket ``i`` holds
# ``(GAMMA ** (i - 1), GAMMA ** i]`` and stands for ``2 * GAMMA ** i / (GAMMA + 1)``, which is
# within ``(GAMMA - 1) / (GAMMA + 1)`` (under 1%) of every duration in it. Durations of 0 (or
# less) have a bucket of their own, ``ZERO_BUCKET``, standing for 0.

GAMMA = 1.02
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
ZERO_BUCKET = -100_000
_LOG_GAMMA = math.log(GAMMA)


class DurationBucket(Func):
    """The histogram bucket of a duration in seconds (null stays null)."""

    output_field = IntegerField()
    arity = 1

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template=f"(CASE WHEN %(expressions)s <= 0 THEN {ZERO_BUCKET} "
                                    f"ELSE CEIL(LN(%(expressions)s) / {_LOG_GAMMA!r})::integer END)", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="mbflow_duration_bucket", **extra)


def duration_bucket(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    if seconds <= 0:
        return ZERO_BUCKET
    return math.ceil(math.log(seconds) / _LOG_GAMMA)


def bucket_value(bucket: int) -> float:
    """The duration a bucket stands for."""
    return 0.0 if bucket == ZERO_BUCKET else 2 * GAMMA ** bucket / (GAMMA + 1)


def histogram_percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """``percentile_cont`` over the durations a histogram (bucket -> count) counts, each taken as
    its bucket's value (so within ``RELATIVE_ERROR`` of the exact figure); null when it counts none."""
    return Histogram.of(histogram).percentile(fraction)


class Histogram:
    """Durations counted by bucket, as the rollups keep them: ``zero`` durations of 0 s (or less,
    ``ZERO_BUCKET``) and ``counts[i]`` in bucket ``first + i``.

    A rollup row stores it packed (``pack``): little-endian 32-bit integers, ``zero``, ``first``,
    then the counts. A 30-day window's node figures add up thousands of rollup histograms of ~230
    buckets each: unpacked with one copy each and added a list slice at a time (``map(add, ...)``
    loops in C), where decoding them from JSON objects and adding bucket by bucket in Python took
    most of a call's time."""

    __slots__ = ("counts", "first", "zero")

    def __init__(self) -> None:
        self.zero = 0
        self.first = 0
        self.counts: list[int] = []

    @classmethod
    def of(cls, buckets: Mapping[int, int]) -> Histogram:
        """From counts by bucket number."""
        made = cls()
        made.zero = buckets.get(ZERO_BUCKET, 0)
        numbers = [number for number in buckets if number != ZERO_BUCKET]
        if numbers:
            made.first = min(numbers)
            made.counts = [0] * (max(numbers) - made.first + 1)
            for number in numbers:
                made.counts[number - made.first] += buckets[number]
        return made

    def buckets(self) -> dict[int, int]:
        """The counts by bucket number (the buckets counting none left out)."""
        found = {self.first + index: count for index, count in enumerate(self.counts) if count}
        if self.zero:
            found[ZERO_BUCKET] = self.zero
        return found

    def pack(self) -> bytes:
        values = array("i", [self.zero, self.first, *self.counts])
        if sys.byteorder == "big":
            values.byteswap()
        return values.tobytes()

    def add_packed(self, data: bytes | memoryview | None) -> None:
        """Adds a packed histogram (empty or None: nothing)."""
        if not data:
            return
        values = array("i")
        values.frombytes(data)
        if sys.byteorder == "big":
            values.byteswap()
        self._add(values[0], values[1], values[2:])

    def add(self, other: Histogram) -> None:
        self._add(other.zero, other.first, other.counts)

    def _add(self, zero: int, first: int, counts: Sequence[int]) -> None:
        self.zero += zero
        if not counts:
            return
        if not self.counts:
            self.first, self.counts = first, list(counts)
            return
        if first < self.first:
            self.counts[0:0] = [0] * (self.first - first)
            self.first = first
        start = first - self.first
        end = start + len(counts)
        if end > len(self.counts):
            self.counts.extend([0] * (end - len(self.counts)))
        self.counts[start:end] = map(operator.add, self.counts[start:end], counts)

    def total(self) -> int:
        return self.zero + sum(self.counts)

    def percentile(self, fraction: float) -> float | None:
        """``percentile_cont`` over the durations counted, each taken as its bucket's value
        (within ``RELATIVE_ERROR`` of the exact figure); null when it counts none."""
        total = self.total()
        if not total:
            return None
        position = fraction * (total - 1)
        first, second = math.floor(position), math.ceil(position)
        seen = list(itertools.accumulate(self.counts))

        def value(rank: int) -> float:  # of the rank-th smallest duration, from 0
            if rank < self.zero:
                return 0.0
            return bucket_value(self.first + bisect.bisect_right(seen, rank - self.zero))

        low, high = value(first), value(second)
        return low + (high - low) * (position - first)
