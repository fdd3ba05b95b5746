"""Prometheus counters and histograms of executions and nodes, counted from the event log.

Why the log: web processes and Celery workers are separate processes, often on other machines;
an execution starts in one and its nodes finish in others. Counters in each process's memory
would each hold a part, and a scrape reaches one process. Every process writes each state
change to the execution's event log once, in the transaction that makes it, and the log is only
appended to: counting its events gives figures that any web process answers alike, that only go
up, and that need no hook in the engine.

How: ``Tally`` rows hold the counts of the events up to ``TallyCursor.event_id``; each scrape
adds those after it (the tail: about a minute of events) in one consistent read. At most every
``FOLD_SECONDS``, a scrape folds the settled part of the tail into the tallies, under a row lock
that one process takes at a time. Event ids come from a sequence when a step writes its events,
which is before it commits: a smaller id can become visible after a larger one. An event is
settled when its id is at most that of an event stamped ``2 × SETTLE_SECONDS`` ago; it is then
visible as long as every transaction commits within ``SETTLE_SECONDS`` of the times stamped on
its events (engine steps take milliseconds; an event still invisible when folded would not be
counted). Counting starts at the first scrape: counters start at zero then, as a process's do.

Label cardinality is bounded: no execution ids; workflows are labelled by tenant slug and name,
up to ``MBFLOW_METRICS_MAX_WORKFLOWS`` of them (the first seen keep theirs), the others as
``other``; nodes by their type.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, FilteredRelation, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from executions.models import Execution, ExecutionEvent
from monitoring.aggregates import Seconds
from monitoring.models import Tally, TallyCursor
from workflows.models import WorkflowVersion
from workflows.public import spec_for

SETTLE_SECONDS = 30
FOLD_SECONDS = 10
FOLD_CHUNK = 200_000  # event ids per fold transaction
EXECUTION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
NODE_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
EXECUTION_ENDINGS = {"execution.succeeded": "succeeded", "execution.failed": "failed",
                     "execution.cancelled": "cancelled"}
NODE_ENDINGS = {"node.succeeded": "succeeded", "node.failed": "failed", "node.timed_out": "timed_out"}
OTHER = "other"
AD_HOC = "(ad hoc)"

Key = tuple[str, str]  # (metric, labels as sorted JSON)
# The metrics keyed by workflow, whose label pairs count against the bound.
WORKFLOW_METRICS = ("executions_started_total", "executions_finished_total", "execution_duration_seconds_bucket",
                    "execution_duration_seconds_sum")


def labels_key(**labels: str) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def _buckets(bounds: tuple[float, ...]) -> Case:
    """The bucket index of ``duration``: the first bound it does not exceed, len(bounds) past
    them all (+Inf), -1 without a duration."""
    return Case(When(duration__isnull=True, then=Value(-1)),
                *(When(duration__lte=bound, then=Value(index)) for index, bound in enumerate(bounds)),
                default=Value(len(bounds)), output_field=IntegerField())


def _le(bounds: tuple[float, ...], index: int) -> str:
    return "+Inf" if index >= len(bounds) else repr(float(bounds[index]))


class _Labels:
    """Workflow label pairs, bounded: those already counted keep their label; new ones get
    theirs while there is room, in name order, the rest count as ``other``."""

    def __init__(self, counted: Iterable[Key]) -> None:
        self.known: set[tuple[str, str]] = set()
        for metric, labels in counted:
            if metric in WORKFLOW_METRICS:
                values = json.loads(labels)
                if values["workflow"] != OTHER:
                    self.known.add((values["tenant"], values["workflow"]))

    def admit(self, pairs: Iterable[tuple[str, str]]) -> None:
        for pair in sorted(set(pairs) - self.known):
            if len(self.known) >= settings.MBFLOW_METRICS_MAX_WORKFLOWS:
                return
            self.known.add(pair)

    def of(self, pair: tuple[str, str]) -> dict[str, str]:
        tenant, workflow = pair if pair in self.known else (OTHER, OTHER)
        return {"tenant": tenant, "workflow": workflow}


def count_events(events: QuerySet[ExecutionEvent], labels: _Labels) -> dict[Key, float]:
    """The tallies ``events`` add, by metric and labels (a few grouped queries)."""
    counts: dict[Key, float] = defaultdict(float)
    duration = Seconds("time", "execution__started_at")
    rows = list(events.filter(type__in=("execution.created", *EXECUTION_ENDINGS))
                .alias(duration=duration).annotate(bucket=_buckets(EXECUTION_BUCKETS))
                .values("type", "execution__tenant__slug", "execution__workflow__name", "bucket")
                .annotate(n=Count("pk"), seconds=Sum(duration)).order_by())
    pair_of = {id(row): (row["execution__tenant__slug"], row["execution__workflow__name"] or AD_HOC) for row in rows}
    labels.admit(pair_of.values())
    for row in rows:
        workflow = labels.of(pair_of[id(row)])
        if row["type"] == "execution.created":
            counts["executions_started_total", labels_key(**workflow)] += row["n"]
            continue
        counts["executions_finished_total", labels_key(**workflow, status=EXECUTION_ENDINGS[row["type"]])] += row["n"]
        if row["bucket"] >= 0:
            counts["execution_duration_seconds_bucket",
                   labels_key(**workflow, le=_le(EXECUTION_BUCKETS, row["bucket"]))] += row["n"]
            counts["execution_duration_seconds_sum", labels_key(**workflow)] += row["seconds"] or 0.0
    _count_nodes(events, counts)
    return counts


def _count_nodes(events: QuerySet[ExecutionEvent], counts: dict[Key, float]) -> None:
    # A node's duration is its last attempt's, from the node's row (the attempt that ended),
    # joined by execution and node id.
    run = FilteredRelation("execution__node_runs", condition=Q(execution__node_runs__node_id=F("node_id")))
    duration = Seconds("time", "run__started_at")
    rows = list(events.filter(type__in=("node.retrying", *NODE_ENDINGS))
                .annotate(run=run).alias(duration=duration).annotate(bucket=_buckets(NODE_BUCKETS))
                .annotate(adhoc=Case(When(execution__version_id__isnull=True, then=F("execution_id"))))
                .values("type", "node_id", "execution__version_id", "adhoc", "bucket")
                .annotate(n=Count("pk"), seconds=Sum(duration)).order_by())
    types = _node_types({row["execution__version_id"] for row in rows} - {None},
                        {row["adhoc"] for row in rows} - {None})
    for row in rows:
        owner = row["execution__version_id"] or row["adhoc"]
        node_type = types.get(owner, {}).get(row["node_id"], "unknown")
        if row["type"] == "node.retrying":
            counts["node_retries_total", labels_key(type=node_type)] += row["n"]
            continue
        counts["node_runs_total", labels_key(type=node_type, status=NODE_ENDINGS[row["type"]])] += row["n"]
        if row["bucket"] >= 0:
            counts["node_duration_seconds_bucket", labels_key(type=node_type, le=_le(NODE_BUCKETS, row["bucket"]))] += (
                row["n"])
            counts["node_duration_seconds_sum", labels_key(type=node_type)] += row["seconds"] or 0.0


def _node_types(version_ids: set[int], adhoc_ids: set[Any]) -> dict[Any, dict[str, str]]:
    """Each version's (or ad hoc execution's) node types by node id."""
    types: dict[Any, dict[str, str]] = {}
    for version in WorkflowVersion.objects.filter(pk__in=version_ids).only("pk", "checksum"):
        types[version.pk] = {node.id: node.type for node in spec_for(version).nodes}
    for execution_id, document in Execution.objects.filter(pk__in=adhoc_ids).values_list("pk", "adhoc_spec"):
        nodes = ((document or {}).get("spec") or {}).get("nodes") or []
        types[execution_id] = {node.get("id"): node.get("type", "unknown") for node in nodes if isinstance(node, dict)}
    return types


def fold(now: datetime | None = None) -> int:
    """Folds the settled events after the cursor into the tallies, when ``FOLD_SECONDS`` have
    passed since the last fold and no other process is folding. Returns how many ids it moved
    the cursor by (0: nothing done)."""
    now = now or timezone.now()
    with transaction.atomic():
        # One process folds at a time; the others go on reading (skip_locked).
        cursor = TallyCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if cursor is None:
            _start_counting(now)
            return 0
        if cursor.folded_at > now - timedelta(seconds=FOLD_SECONDS):
            return 0
        settled = (ExecutionEvent.objects.filter(id__gt=cursor.event_id,
                                                 time__lt=now - timedelta(seconds=2 * SETTLE_SECONDS))
                   .aggregate(newest=Max("id"))["newest"])
        moved = 0
        if settled is not None:
            bound = min(settled, cursor.event_id + FOLD_CHUNK)
            tallies = {(tally.metric, tally.labels): tally for tally in Tally.objects.all()}
            added = count_events(ExecutionEvent.objects.filter(id__gt=cursor.event_id, id__lte=bound),
                                 _Labels(tallies))
            _add(tallies, added)
            moved, cursor.event_id = bound - cursor.event_id, bound
        cursor.folded_at = now
        cursor.save(update_fields=["event_id", "folded_at"])
        return moved


def _start_counting(now: datetime) -> None:
    """The first scrape: counting starts after the newest event."""
    if TallyCursor.objects.filter(pk=1).exists():
        return  # another process holds it, folding
    newest = ExecutionEvent.objects.aggregate(newest=Max("id"))["newest"] or 0
    try:
        with transaction.atomic():
            TallyCursor.objects.create(pk=1, event_id=newest, folded_at=now)
    except IntegrityError:
        pass  # another process started counting at the same moment


def _add(tallies: dict[Key, Tally], added: dict[Key, float]) -> None:
    changed, new = [], []
    for key, value in added.items():
        if not value:
            continue
        tally = tallies.get(key)
        if tally is None:
            new.append(Tally(metric=key[0], labels=key[1], value=value))
        else:
            tally.value += value
            changed.append(tally)
    Tally.objects.bulk_update(changed, ["value"], batch_size=500)
    Tally.objects.bulk_create(new, batch_size=500)


def current(now: datetime | None = None) -> dict[Key, float]:
    """Every tally as it stands: folded ones plus the tail, read at one moment."""
    fold(now)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # The tallies and the tail from one snapshot: a fold committing in between would
            # otherwise count its events twice (or not at all) in this answer.
            with connection.cursor() as db:
                db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor = TallyCursor.objects.filter(pk=1).first()
        if cursor is None:
            return {}
        totals: dict[Key, float] = {(t.metric, t.labels): t.value for t in Tally.objects.all()}
        tail = count_events(ExecutionEvent.objects.filter(id__gt=cursor.event_id), _Labels(totals))
    for key, value in tail.items():
        totals[key] = totals.get(key, 0.0) + value
    return totals
