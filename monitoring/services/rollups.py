"""Hourly and daily rollups of executions and node runs, so that the metrics of a long window
read a few rows per workflow and hour (or day) instead of every execution.

- Each step that changes an execution marks it dirty (``dirty_mark``: one small row written with
  the step's own writes, in its transaction).
- Each schedule tick (``roll_up``) computes again, from the raw rows, every hour holding a
  dirty execution, then each finished day from its 24 hours, and drops the marks it handled.
- ``mbflow_rollup_metrics`` (``backfill``) rolls up every hour and day not rolled up yet, so
  existing data gets rollups.
- Retention's pruner calls ``keep_pruned`` before it deletes executions: their hours are rolled
  up first if they are not (or are marked), and their figures are added to the hour's pruned
  figures (rows of size ``PRUNED``), which every later rollup of the hour adds to its remaining
  rows. So executions stay counted after their rows are gone.
- A period counts (``cover``) only while it is rolled up and none of its executions is marked:
  an execution that changed since (a run that ended after its hour was rolled up) sends its
  hour back to the raw rows until the next tick. So counts, sums and averages are always exact;
  percentiles read through a rollup come from log-spaced buckets (within
  ``aggregates.RELATIVE_ERROR``, under 1%).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, When
from django.utils import timezone

from executions.engine.projection import Event
from executions.models import Execution, ExecutionStatus, NodeRun, NodeStatus
from monitoring.aggregates import BucketNumber, DurationBucket, Histogram, Seconds
from monitoring.models import ExecutionRollup, NodeRollup, RollupDirty, RollupPeriod
from monitoring.models.rollups import DAY, HOUR, PRUNED
from monitoring.periods import ORIGIN, Window

ENDED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
NODE_ENDED = (NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.TIMED_OUT)
ENDED_Q = Q(status__in=ENDED, started_at__isnull=False, finished_at__isnull=False)
DURATION = Seconds("finished_at", "started_at")
NODE_RAN = Q(status__in=NODE_ENDED, started_at__isnull=False, finished_at__isnull=False)
# Failed, timed out, or succeeded only because its fallback stood in (which keeps the error).
NODE_FAILED = Q(status__in=(NodeStatus.FAILED, NodeStatus.TIMED_OUT)) | Q(status=NodeStatus.SUCCEEDED,
                                                                           error__isnull=False)
MARKS_PER_TICK = 20_000
LOCK_CLASS = 0x6D62  # the advisory locks of a tenant's rollups: (LOCK_CLASS, hashtext(tenant id))


@dataclass
class Figures:
    """Counts, duration sum and histogram of some executions (or node runs)."""

    execution_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    cancelled_count: int = 0
    ended_count: int = 0
    retry_count: int = 0
    duration_count: int = 0
    duration_sum: float = 0.0
    histogram: Histogram = field(default_factory=Histogram)

    def add(self, other: Any) -> None:
        """Adds another ``Figures`` or a rollup row's values (its histogram packed, ``durations``)."""
        if isinstance(other, Figures):
            self.histogram.add(other.histogram)
            other = other.__dict__
        else:
            self.histogram.add_packed(other.get("durations"))
        get = other.get
        self.execution_count += get("execution_count") or 0
        self.success_count += get("success_count") or 0
        self.failure_count += get("failure_count") or 0
        self.cancelled_count += get("cancelled_count") or 0
        self.ended_count += get("ended_count") or 0
        self.retry_count += get("retry_count") or 0
        self.duration_count += get("duration_count") or 0
        self.duration_sum += get("duration_sum") or 0.0

    @property
    def avg_duration(self) -> float | None:
        return self.duration_sum / self.duration_count if self.duration_count else None

    def percentile(self, fraction: float) -> float | None:
        return self.histogram.percentile(fraction)


# --- Raw rows -> figures -------------------------------------------------------------------------


def _moment(number: int, size: int) -> datetime:
    return ORIGIN + timedelta(seconds=number * size)


def execution_figures(executions: QuerySet[Execution], size: int | None) -> dict[tuple[Any, ...], Figures]:
    """The figures of ``executions`` by (workflow id, bucket number of ``size`` seconds), or by
    (workflow id,) without a size."""
    executions = executions.order_by()
    keys = ["workflow_id"]
    if size:
        executions = executions.annotate(bucket=BucketNumber("created_at", size))
        keys.append("bucket")
    return _figures(executions, keys, ENDED_Q, {
        "execution_count": Count("pk"),
        "success_count": Count("pk", filter=Q(status=ExecutionStatus.SUCCEEDED)),
        "failure_count": Count("pk", filter=Q(status=ExecutionStatus.FAILED)),
        "cancelled_count": Count("pk", filter=Q(status=ExecutionStatus.CANCELLED))})


def _figures(rows: QuerySet[Any], keys: list[str], timed: Q, counts: dict[str, Any]) -> dict[tuple[Any, ...], Figures]:
    """``counts`` of the rows and the count and sum of the durations of those ``timed``, by
    ``keys``, with their histograms: one query, by key and duration bucket (none for the rows not
    timed), added up by key here, so the rows are read once."""
    bucketed = rows.annotate(duration_bucket=Case(When(timed, then=DurationBucket(DURATION)), default=None,
                                                  output_field=IntegerField()))
    found: dict[tuple[Any, ...], Figures] = {}
    buckets: dict[tuple[Any, ...], dict[int, int]] = defaultdict(dict)
    for row in bucketed.values(*keys, "duration_bucket").annotate(
            **counts, duration_count=Count("pk", filter=timed), duration_sum=Sum(DURATION, filter=timed)):
        key = tuple(row[name] for name in keys)
        figures = found.get(key)
        if figures is None:
            figures = found[key] = Figures()
        figures.add(row)
        if row["duration_bucket"] is not None:
            buckets[key][row["duration_bucket"]] = row["duration_count"]
    for key, counted in buckets.items():
        found[key].histogram = Histogram.of(counted)
    return found


def ran(executions: QuerySet[Execution]) -> QuerySet[NodeRun]:
    """The node runs of ``executions`` that ran: an attempt was made (a skipped node, or one a
    replay reused, made none)."""
    return NodeRun.objects.filter(execution__in=executions.order_by(), attempt__gt=0,
                                  reused_from__isnull=True).order_by()


def node_figures(node_runs: QuerySet[NodeRun], size: int | None) -> dict[tuple[Any, ...], Figures]:
    """The figures of node runs by (workflow id, node id[, bucket number of their execution's
    creation])."""
    keys = ["execution__workflow_id", "node_id"]
    if size:
        node_runs = node_runs.annotate(bucket=BucketNumber("execution__created_at", size))
        keys.append("bucket")
    ended = Q(status__in=NODE_ENDED)
    return _figures(node_runs, keys, NODE_RAN, {
        "execution_count": Count("pk"), "ended_count": Count("pk", filter=ended),
        "failure_count": Count("pk", filter=ended & NODE_FAILED), "retry_count": Sum(F("attempt") - 1)})


# --- Marking and rolling up ----------------------------------------------------------------------


def dirty_mark(tenant_id: Any, execution_id: Any,
               events: Sequence[Event]) -> tuple[type[RollupDirty], list[dict[str, Any]]]:
    """The engine's journal writer: the execution's rows change, so its hour's rollup is stale.
    Written in the step's transaction and round trip: a mark of its own after the commit cost
    every step a second wait for the WAL (nearly half the engine's commit waits, measured while
    pruning), and a crash between the two lost the mark."""
    if tenant_id is None or not events:
        return RollupDirty, []
    return RollupDirty, [{"tenant_id": tenant_id, "execution_id": execution_id}]


def _spans(starts: Iterable[datetime], size: int) -> Q:
    """``start`` in any of the periods, as few ranges as the consecutive ones make."""
    query = Q(pk__in=[])
    run_start: datetime | None = None
    previous: datetime | None = None
    for start in sorted(set(starts)):
        if previous is not None and start == previous + timedelta(seconds=size):
            previous = start
            continue
        if run_start is not None and previous is not None:
            query |= Q(created_at__gte=run_start, created_at__lt=previous + timedelta(seconds=size))
        run_start = previous = start
    if run_start is not None and previous is not None:
        query |= Q(created_at__gte=run_start, created_at__lt=previous + timedelta(seconds=size))
    return query


def _rollup_row(figures: Figures) -> dict[str, Any]:
    return {"execution_count": figures.execution_count, "duration_count": figures.duration_count,
            "duration_sum": figures.duration_sum, "durations": figures.histogram.pack()}


@contextmanager
def _rolling(tenant_id: Any) -> Iterator[None]:
    """One transaction computing and storing rollups of a tenant. On PostgreSQL it holds the
    tenant's rollup lock first (a transaction-level advisory lock), so a rollup never reads a
    prune half done (the pruned executions both in the raw rows and in the pruned figures, or in
    neither): its reads start once the other's commit is seen. SQLite's transactions here take
    the write lock as they begin, which serializes them already."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, str(tenant_id)])
        yield


def _store(tenant_id: Any, size: int, starts: list[datetime], executions: dict[tuple[Any, ...], Figures],
           nodes: dict[tuple[Any, ...], Figures], now: datetime, unit: int | None = None) -> None:
    """Replaces the rollups of the periods ``starts`` of ``size`` (one transaction); the keys'
    bucket numbers count ``unit`` seconds (``size`` by default)."""
    unit = unit or size
    with transaction.atomic():
        ExecutionRollup.objects.filter(tenant_id=tenant_id, size=size, start__in=starts).delete()
        NodeRollup.objects.filter(tenant_id=tenant_id, size=size, start__in=starts).delete()
        ExecutionRollup.objects.bulk_create(
            [ExecutionRollup(tenant_id=tenant_id, workflow_id=workflow_id, size=size, start=_moment(number, unit),
                             success_count=figures.success_count, failure_count=figures.failure_count,
                             cancelled_count=figures.cancelled_count, **_rollup_row(figures))
             for (workflow_id, number), figures in executions.items()], batch_size=2000)
        NodeRollup.objects.bulk_create(
            [NodeRollup(tenant_id=tenant_id, workflow_id=workflow_id, node_id=node_id, size=size,
                        start=_moment(number, unit), ended_count=figures.ended_count,
                        failure_count=figures.failure_count, retry_count=figures.retry_count, **_rollup_row(figures))
             for (workflow_id, node_id, number), figures in nodes.items()], batch_size=2000)
        RollupPeriod.objects.filter(tenant_id=tenant_id, size=size, start__in=starts).delete()
        RollupPeriod.objects.bulk_create([RollupPeriod(tenant_id=tenant_id, size=size, start=start, rolled_at=now)
                                          for start in starts])


def roll_up_hours(tenant_id: Any, hours: list[datetime], now: datetime) -> None:
    """Computes the rollups of these hours of the tenant from the raw rows, and the figures of
    their executions retention deleted."""
    with _rolling(tenant_id):
        executions = Execution.objects.filter(_spans(hours, HOUR), tenant_id=tenant_id)
        figures, nodes = execution_figures(executions, HOUR), node_figures(ran(executions), HOUR)
        _add_pruned(tenant_id, hours, figures, nodes)
        _store(tenant_id, HOUR, hours, figures, nodes, now)


def _add_pruned(tenant_id: Any, hours: list[datetime], executions: dict[tuple[Any, ...], Figures],
                nodes: dict[tuple[Any, ...], Figures]) -> None:
    """Adds the pruned figures of these hours (keys by hour number)."""
    def number(start: datetime) -> int:
        return (start - ORIGIN) // timedelta(hours=1)

    for row in ExecutionRollup.objects.filter(tenant_id=tenant_id, size=PRUNED, start__in=hours).values():
        executions.setdefault((row["workflow_id"], number(row["start"])), Figures()).add(row)
    for row in NodeRollup.objects.filter(tenant_id=tenant_id, size=PRUNED, start__in=hours).values():
        nodes.setdefault((row["workflow_id"], row["node_id"], number(row["start"])), Figures()).add(row)


def keep_pruned(execution_ids: list[Any]) -> None:
    """Retention's cleaner (``executions.services.retention.on_prune``), in the pruner's
    transaction before the executions are deleted: their hours are rolled up now if they are not
    yet, or are marked (their rows are all still there), with their finished days; then their
    figures are added to their hours' pruned figures, which later rollups of those hours add to
    the rows that remain. The metrics of a period keep counting what ran then."""
    now = timezone.now()
    executions = Execution._base_manager.filter(pk__in=execution_ids).order_by()
    for tenant_id in set(executions.values_list("tenant_id", flat=True)):
        mine = executions.filter(tenant_id=tenant_id)
        with _rolling(tenant_id):
            numbers = set(mine.annotate(number=BucketNumber("created_at", HOUR)).values_list("number", flat=True))
            hours = sorted(_moment(number, HOUR) for number in numbers)
            rolled = set(RollupPeriod.objects.filter(tenant_id=tenant_id, size=HOUR, start__in=hours)
                         .values_list("start", flat=True))
            stale = sorted((set(hours) - rolled) | dirty_hours(tenant_id, hours))
            # Their marks go with them (once their hours are known stale): a day whose only marked
            # executions are these is rolled up below.
            RollupDirty.objects.filter(tenant_id=tenant_id, execution_id__in=execution_ids).delete()
            if stale:
                roll_up_hours(tenant_id, stale, now)
                for day in sorted({_day_of(hour) for hour in stale}):
                    if day + timedelta(days=1) <= now:
                        roll_up_day(tenant_id, day, now)
            figures, nodes = execution_figures(mine, HOUR), node_figures(ran(mine), HOUR)
            _add_pruned(tenant_id, hours, figures, nodes)
            _store(tenant_id, PRUNED, hours, figures, nodes, now, unit=HOUR)


def roll_up_day(tenant_id: Any, day: datetime, now: datetime) -> bool:
    """Computes a finished day's rollups from its 24 hours, rolling up those not rolled up yet
    first; False (and no day rollup) while one of its hours has a dirty execution."""
    hours = [day + timedelta(hours=index) for index in range(24)]
    dirty = dirty_hours(tenant_id)
    if any(hour in dirty for hour in hours):
        RollupPeriod.objects.filter(tenant_id=tenant_id, size=DAY, start=day).delete()
        return False
    rolled = set(RollupPeriod.objects.filter(tenant_id=tenant_id, size=HOUR, start__in=hours)
                 .values_list("start", flat=True))
    missing = [hour for hour in hours if hour not in rolled]
    if missing:
        roll_up_hours(tenant_id, missing, now)
    number = (day - ORIGIN) // timedelta(days=1)
    with _rolling(tenant_id):
        executions: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
        for row in ExecutionRollup.objects.filter(tenant_id=tenant_id, size=HOUR, start__in=hours).values():
            executions[(row["workflow_id"], number)].add(row)
        nodes: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
        for row in NodeRollup.objects.filter(tenant_id=tenant_id, size=HOUR, start__in=hours).values():
            nodes[(row["workflow_id"], row["node_id"], number)].add(row)
        _store(tenant_id, DAY, [day], executions, nodes, now)
    return True


def dirty_hours(tenant_id: Any, among: list[datetime] | None = None) -> set[datetime]:
    """The hours (``among`` these) holding an execution marked since its hour was last rolled up."""
    marked = Execution.objects.filter(pk__in=RollupDirty.objects.filter(tenant_id=tenant_id).values("execution_id"))
    if among is not None:
        marked = marked.filter(_spans(among, HOUR))
    numbers = (marked.order_by().annotate(number=BucketNumber("created_at", HOUR)).values_list("number", flat=True)
               .distinct())
    return {_moment(number, HOUR) for number in numbers}


def _day_of(moment: datetime) -> datetime:
    return _moment((moment - ORIGIN) // timedelta(days=1), DAY)


def roll_up(sender: Any = None, now: datetime | None = None, **kwargs: Any) -> int:
    """The tick's work (``ticked`` receiver): rolls up again the hours of the marked executions,
    then the finished days they are in, and yesterday and the day before when not rolled up
    yet. How many hours it rolled up."""
    now = now or timezone.now()
    marks = list(RollupDirty.objects.order_by("pk").values_list("pk", "tenant_id", "execution_id")[:MARKS_PER_TICK])
    by_tenant: dict[Any, set[Any]] = defaultdict(set)
    for _, tenant_id, execution_id in marks:
        by_tenant[tenant_id].add(execution_id)
    changed: dict[Any, list[datetime]] = {}
    for tenant_id, execution_ids in by_tenant.items():
        numbers = set(Execution.objects.filter(pk__in=execution_ids).order_by()
                      .annotate(number=BucketNumber("created_at", HOUR)).values_list("number", flat=True))
        changed[tenant_id] = sorted(_moment(number, HOUR) for number in numbers)
        if changed[tenant_id]:
            roll_up_hours(tenant_id, changed[tenant_id], now)
    RollupDirty.objects.filter(pk__in=[pk for pk, _, _ in marks]).delete()
    today = _day_of(now)
    recent = {today - timedelta(days=1), today - timedelta(days=2)}
    for tenant_id, hours in changed.items():
        days = {_day_of(hour) for hour in hours}
        for day in sorted(days | recent):
            if day + timedelta(days=1) > now:
                continue
            if day in days or not RollupPeriod.objects.filter(tenant_id=tenant_id, size=DAY, start=day).exists():
                roll_up_day(tenant_id, day, now)
    return sum(len(hours) for hours in changed.values())


def backfill(tenant_ids: Iterable[Any], now: datetime | None = None) -> tuple[int, int]:
    """Rolls up every finished hour and day, since each tenant's first execution, not rolled up
    yet (``mbflow_rollup_metrics``); how many hours and days."""
    now = now or timezone.now()
    hours_done = days_done = 0
    for tenant_id in tenant_ids:
        first = Execution.objects.filter(tenant_id=tenant_id).order_by("created_at").values_list("created_at",
                                                                                                   flat=True).first()
        if first is None:
            continue
        rolled = set(RollupPeriod.objects.filter(tenant_id=tenant_id, size=HOUR).values_list("start", flat=True))
        day = _day_of(first)
        while day + timedelta(days=1) <= now:
            hours = [day + timedelta(hours=index) for index in range(24)]
            missing = [hour for hour in hours if hour not in rolled]
            if missing:
                roll_up_hours(tenant_id, missing, now)
                hours_done += len(missing)
            if not RollupPeriod.objects.filter(tenant_id=tenant_id, size=DAY, start=day).exists():
                days_done += roll_up_day(tenant_id, day, now)
            day += timedelta(days=1)
        hour = day
        while hour + timedelta(hours=1) <= now:
            if hour not in rolled:
                roll_up_hours(tenant_id, [hour], now)
                hours_done += 1
            hour += timedelta(hours=1)
    return hours_done, days_done


# --- Reading -------------------------------------------------------------------------------------


@dataclass
class Cover:
    """The rolled-up days and hours a window reads from rollups; the rest it reads raw, from
    ``start`` to ``end``: the window's, but for an edge inside an hour some of whose executions
    retention deleted, which moves to that hour's end (see ``cover``). ``pruned``: such hours
    read raw (marked since their rollup), whose deleted executions' figures are read beside."""

    days: list[datetime]
    hours: list[datetime]
    start: datetime
    end: datetime
    pruned: list[datetime] = field(default_factory=list)

    def rollups(self) -> Q:
        """The rollup rows of the cover (and the pruned figures of hours read raw)."""
        query = Q(pk__in=[])
        if self.days:
            query |= Q(size=DAY, start__in=self.days)
        if self.hours:
            query |= Q(size=HOUR, start__in=self.hours)
        if self.pruned:
            query |= Q(size=PRUNED, start__in=self.pruned)
        return query

    def raw(self) -> Q:
        """The executions the rollups do not count: ``created_at`` in each gap between them
        (ranges an index scan reads, rather than the window less the rollups)."""
        covered = sorted([(day, day + timedelta(days=1)) for day in self.days]
                         + [(hour, hour + timedelta(hours=1)) for hour in self.hours])
        query = Q(pk__in=[])
        at = self.start
        for start, end in covered:
            if start > at:
                query |= Q(created_at__gte=at, created_at__lt=start)
            at = max(at, end)
        if at < self.end:
            query |= Q(created_at__gte=at, created_at__lt=self.end)
        return query


def _hour_of(moment: datetime) -> datetime:
    return _moment((moment - ORIGIN) // timedelta(hours=1), HOUR)


def cover(tenant_id: Any, window: Window, series: bool = True) -> Cover | None:
    """The clean rolled-up days and hours inside the window (days only where a day divides the
    time series' buckets, hours where an hour does), or None when there are none.

    An hour some of whose executions retention deleted is known by its rollup alone, as a whole:
    it counts in a window that holds its first moment, wholly, and not at all in one that starts
    after that (as a downsampled series' point stamped at the hour's start). So a window's edge
    inside such an hour moves to the hour's end, and the figures of a period stay the same once
    its executions are deleted."""
    use_days = not series or window.granularity % DAY == 0
    if series and window.granularity % HOUR:
        return None
    start_hour, end_hour = _hour_of(window.start), _hour_of(window.end)
    periods = RollupPeriod.objects.filter(tenant_id=tenant_id, start__gte=start_hour, start__lte=end_hour)
    rolled: dict[int, set[datetime]] = {HOUR: set(), DAY: set(), PRUNED: set()}
    for size, start in periods.values_list("size", "start"):
        rolled[size].add(start)
    start, end = window.start, window.end
    if start_hour < start and start_hour in rolled[PRUNED]:
        start = start_hour + timedelta(hours=1)
    if end_hour < end and end_hour in rolled[PRUNED]:
        end = end_hour + timedelta(hours=1)
    first = _hour_of(start - timedelta(microseconds=1)) + timedelta(hours=1)  # the first whole hour
    last = _hour_of(end)
    if first >= last or not any(first <= hour < last for hour in rolled[HOUR]):
        return None
    dirty = dirty_hours(tenant_id)
    days = []
    if use_days:
        for day in sorted(rolled[DAY]):
            if first <= day and day + timedelta(days=1) <= last and not any(
                    day + timedelta(hours=i) in dirty for i in range(24)):
                days.append(day)
    in_days = {day + timedelta(hours=index) for day in days for index in range(24)}
    hours = sorted(hour for hour in rolled[HOUR] if first <= hour < last and hour not in dirty and hour not in in_days)
    if not days and not hours:
        return None
    covered = set(hours) | in_days
    pruned = sorted(hour for hour in rolled[PRUNED] if start <= hour < end and hour not in covered)
    return Cover(days, hours, start, end, pruned)
