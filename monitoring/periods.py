"""The time window a metrics question covers, and its buckets (framework-free).

A window is ``[start, end)``: the last ``period`` up to now, or ``start``/``end`` given. Its
buckets are ``granularity`` long and aligned to whole multiples of it counted from Monday
1970-01-05 00:00 UTC (so hours start on the hour, days at midnight UTC, weeks on Monday); the
first and the last bucket may be cut by the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DEFAULT_PERIOD = "24h"
MAX_PERIOD_SECONDS = 400 * 86400
MAX_BUCKETS = 1000
# Defaults: the finest of these that gives at most DEFAULT_BUCKETS buckets.
GRANULARITIES = ("1m", "5m", "15m", "1h", "6h", "1d", "1w")
DEFAULT_BUCKETS = 60
ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")


class WindowError(ValueError):
    """A bad window parameter; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_duration(text: str, field: str) -> int:
    """Seconds in ``30s``, ``15m``, ``24h``, ``7d``, ``2w``."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise WindowError(field, f"{text!r} is not a duration such as 15m, 24h or 7d.")
    return int(match.group(1)) * UNITS[match.group(2)]


def spell(seconds: int) -> str:
    """The shortest ``<n><unit>`` for a number of seconds."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("every whole number of seconds has a spelling")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    granularity: int  # seconds

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def origin(self) -> datetime:
        """The start of the first bucket (at or before ``start``)."""
        return ORIGIN + timedelta(seconds=self.granularity * self.bucket_number(self.start))

    def bucket_number(self, moment: datetime) -> int:
        """Which bucket since ``ORIGIN`` holds ``moment``."""
        delta = moment - ORIGIN
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros // (self.granularity * 1_000_000)

    def bucket_index(self, moment: datetime) -> int:
        """The position in ``buckets()`` of the bucket holding ``moment``."""
        return self.bucket_number(moment) - self.bucket_number(self.start)

    def buckets(self) -> list[datetime]:
        """The start of each bucket, the first at or before ``start``, the last before ``end``."""
        first, last = self.bucket_number(self.start), self.bucket_number(self.end - timedelta(microseconds=1))
        return [ORIGIN + timedelta(seconds=self.granularity * number) for number in range(first, last + 1)]

    def describe(self, period: str | None) -> dict[str, object]:
        return {"start": iso(self.start), "end": iso(self.end), "length": period or spell(max(1, int(self.seconds))),
                "granularity": spell(self.granularity)}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def default_granularity(seconds: float) -> int:
    for text in GRANULARITIES:
        size = parse_duration(text, "granularity")
        if seconds / size <= DEFAULT_BUCKETS:
            return size
    return parse_duration(GRANULARITIES[-1], "granularity")


def window_for(now: datetime, *, period: str | None = None, granularity: str | None = None,
               start: datetime | None = None, end: datetime | None = None) -> Window:
    """The window the parameters ask for: ``period`` back from ``now`` (24h by default), or from
    ``start`` to ``end`` (``end`` defaults to now; with only ``end``, ``period`` back from it)."""
    if start is not None and period is not None:
        raise WindowError("period", "Give a period or a start, not both.")
    end = end if end is not None else now
    if start is None:
        length = parse_duration(period or DEFAULT_PERIOD, "period")
        if length > MAX_PERIOD_SECONDS:
            raise WindowError("period", f"A period is at most {MAX_PERIOD_SECONDS // 86400}d.")
        start = end - timedelta(seconds=length)
    if start >= end:
        raise WindowError("start", "The start must come before the end.")
    if (end - start).total_seconds() > MAX_PERIOD_SECONDS:
        raise WindowError("start", f"A window is at most {MAX_PERIOD_SECONDS // 86400}d.")
    size = (parse_duration(granularity, "granularity") if granularity
            else default_granularity((end - start).total_seconds()))
    window = Window(start, end, size)
    if len(window.buckets()) > MAX_BUCKETS:
        raise WindowError("granularity", f"{granularity} makes more than {MAX_BUCKETS} buckets of this window.")
    return window
