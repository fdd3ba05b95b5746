"""When a schedule is due: pure functions of a cron or interval trigger and explicit times.

A cron schedule is read by croniter in the trigger's time zone (so ``0 9 * * *`` is 9:00 there
across daylight-saving changes); an interval counts from its first due time. All times given
and returned are timezone-aware.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from workflows.spec.models import CronTrigger, IntervalTrigger

Schedule = CronTrigger | IntervalTrigger


def _cron(schedule: CronTrigger, start: datetime) -> croniter:
    return croniter(schedule.schedule, start.astimezone(ZoneInfo(schedule.timezone)))


def next_after(schedule: Schedule, after: datetime, anchor: datetime | None = None) -> datetime:
    """The first due time strictly after ``after``. An interval's due times are ``anchor`` plus
    whole periods (``after`` plus one period without an anchor)."""
    if isinstance(schedule, CronTrigger):
        return _cron(schedule, after).get_next(datetime)
    every = timedelta(seconds=schedule.every)
    if anchor is None:
        return after + every
    if anchor > after:
        return anchor
    periods = math.floor((after - anchor) / every) + 1
    return anchor + periods * every


def latest_due(schedule: Schedule, due: datetime, now: datetime) -> datetime | None:
    """The last due time in ``[due, now]`` (``due`` being the next one expected), or None."""
    if due > now:
        return None
    if isinstance(schedule, CronTrigger):
        # croniter looks strictly before its start: start just after ``now`` so that a due time
        # equal to ``now`` counts.
        latest = _cron(schedule, now + timedelta(microseconds=1)).get_prev(datetime)
        return max(latest, due)
    every = timedelta(seconds=schedule.every)
    return due + math.floor((now - due) / every) * every


def upcoming(schedule: Schedule, after: datetime, count: int, anchor: datetime | None = None) -> list[datetime]:
    """The next ``count`` due times after ``after``."""
    times: list[datetime] = []
    moment = after
    for _ in range(count):
        moment = next_after(schedule, moment, anchor)
        times.append(moment)
    return times
