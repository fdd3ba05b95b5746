"""Retention: finished executions past their period are deleted, in small batches.

The period of an execution is its workflow's ``spec.retention`` (the active version's, the latest
version's when none is active) for how it ended, else the tenant default (MBFLOW_RETENTION_*).
Each batch is one short transaction: it takes up to MBFLOW_RETENTION_BATCH finished executions
with ``FOR UPDATE SKIP LOCKED`` (a row the engine holds, say a retry starting, is left for the
next run), under a ``lock_timeout`` so the pruner gives way instead of making the engine wait,
and deletes their events, node runs, offloaded payloads (through the cleaners registered with
``on_prune``) and rows that point at them, then the executions. Running, waiting and paused
executions are never taken, nor one whose sub-workflow run or replay is still going.

Run by Celery beat (``mbflow.prune_executions``), the embedded server's tick (``prune_if_due``)
or ``manage.py mbflow_prune``. Several pruners at once take different rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from executions.models import Execution, ExecutionStatus
from workflows.models import Workflow, WorkflowVersion
from workflows.spec.durations import parse_duration

logger = logging.getLogger(__name__)

ENDINGS = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
STILL_GOING = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)
LOCK_TIMEOUT = "200ms"

PayloadCleaner = Callable[[list[UUID]], Any]
_payload_cleaners: list[PayloadCleaner] = []


def on_prune(cleaner: PayloadCleaner) -> PayloadCleaner:
    """Registers ``cleaner(execution_ids)``, called in each batch's transaction before the rows
    go: the payload store deletes what it holds for those executions (usable as a decorator)."""
    if cleaner not in _payload_cleaners:
        _payload_cleaners.append(cleaner)
    return cleaner


@dataclass
class PruneResult:
    executions: int = 0
    events: int = 0
    node_runs: int = 0
    batches: int = 0
    gave_way: int = 0  # batches given up on a lock the engine held
    working: float = 0.0  # seconds spent in batches (the pauses between them left out)
    cleaning: float = 0.0  # of which in the ``on_prune`` cleaners


Periods = dict[str, float | None]  # seconds by ending; None: kept forever


def _seconds(text: str) -> float | None:
    return parse_duration(text) if text.strip() else None


def tenant_default() -> Periods:
    """The periods of MBFLOW_RETENTION_* (cancelled: failed's when unset)."""
    failed = _seconds(settings.MBFLOW_RETENTION_FAILED)
    cancelled = _seconds(settings.MBFLOW_RETENTION_CANCELLED)
    return {"succeeded": _seconds(settings.MBFLOW_RETENTION_SUCCEEDED), "failed": failed,
            "cancelled": cancelled if cancelled is not None else failed}


def periods(retention: Any, default: Periods) -> Periods:
    """The periods of a workflow's ``spec.retention`` (as stored), the default's where it gives none."""
    given = retention if isinstance(retention, dict) else {}

    def read(key: str) -> float | None:
        value = given.get(key)
        try:
            return parse_duration(value) if value is not None else None
        except ValueError:
            return None

    succeeded, failed, cancelled = read("succeeded"), read("failed"), read("cancelled")
    if cancelled is None:
        cancelled = failed
    return {
        "succeeded": succeeded if succeeded is not None else default["succeeded"],
        "failed": failed if failed is not None else default["failed"],
        "cancelled": cancelled if cancelled is not None else default["cancelled"],
    }


def workflow_retention() -> dict[UUID, Any]:
    """``spec.retention`` of each workflow that writes one: its active version's, else its latest's."""
    latest = WorkflowVersion.objects.filter(workflow=OuterRef("pk")).order_by("-number")
    rows = Workflow.objects.annotate(
        active_retention=models.F("active_version__spec__spec__retention"),
        latest_retention=Subquery(latest.values("spec__spec__retention")[:1]),
    ).values_list("id", "active_version_id", "active_retention", "latest_retention")
    found: dict[UUID, Any] = {}
    for workflow_id, active_id, active, newest in rows:
        chosen = active if active_id is not None else newest
        if isinstance(chosen, dict) and chosen:
            found[workflow_id] = chosen
    return found


def _groups(default: Periods) -> list[tuple[Q, Periods]]:
    """(which executions, their periods): one group per distinct set of periods."""
    by_periods: dict[tuple[float | None, ...], list[UUID]] = {}
    for workflow_id, retention in workflow_retention().items():
        own = periods(retention, default)
        by_periods.setdefault((own["succeeded"], own["failed"], own["cancelled"]), []).append(workflow_id)
    own_ids = [workflow_id for ids in by_periods.values() for workflow_id in ids]
    groups = [(Q(workflow_id__in=ids), dict(zip(("succeeded", "failed", "cancelled"), key, strict=True)))
              for key, ids in by_periods.items()]
    groups.append((Q(workflow_id__isnull=True) | ~Q(workflow_id__in=own_ids), default))
    return groups


def _delete_batch(which: Q, limit: int) -> PruneResult | None:
    """One transaction: up to ``limit`` executions of ``which`` and what hangs off them; None when
    none is left."""
    done = PruneResult(batches=1)
    db = Execution.objects.db
    with transaction.atomic():
        candidates = Execution.objects.filter(which).filter(
            ~Exists(Execution.objects.filter(Q(parent=OuterRef("pk")) | Q(replay_of=OuterRef("pk")),
                                             status__in=STILL_GOING))
        ).order_by("finished_at")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return None
        began = time.monotonic()
        for cleaner in _payload_cleaners:
            cleaner(ids)
        done.cleaning = time.monotonic() - began
        for relation in Execution._meta.related_objects:
            field = relation.field
            rows = relation.related_model._base_manager.using(db).filter(**{f"{field.name}__in": ids})
            if relation.related_model is Execution or relation.on_delete is not models.CASCADE:
                rows.exclude(pk__in=ids).update(**{field.name: None})  # a finished run's parent or replay link
                continue
            deleted = rows._raw_delete(db)
            if relation.related_name == "events":
                done.events = deleted
            elif relation.related_name == "node_runs":
                done.node_runs = deleted
        done.executions = Execution.objects.filter(pk__in=ids)._raw_delete(db)
    return done


def prune(now: datetime | None = None, *, batch: int | None = None, max_batches: int | None = None,
          pause: float | None = None, until: float | None = None) -> PruneResult:
    """Deletes the finished executions past their period (all of them, ``max_batches`` batches,
    or those it reaches before ``time.monotonic()`` passes ``until``), pausing ``pause`` seconds
    between batches; by default as long as the batch took times (1 - MBFLOW_RETENTION_DUTY) /
    MBFLOW_RETENTION_DUTY, so the pruner works at most that share of the time and slows down by
    itself when the database is busy (its batches take longer)."""
    now = now or timezone.now()
    batch = batch or settings.MBFLOW_RETENTION_BATCH
    duty = min(max(float(settings.MBFLOW_RETENTION_DUTY), 0.01), 1.0)
    total = PruneResult()
    for which, kept in _groups(tenant_default()):
        for ending in ENDINGS:
            seconds = kept[ending.value]
            if seconds is None:
                continue
            due = which & Q(status=ending, finished_at__lt=now - timedelta(seconds=seconds))
            while ((max_batches is None or total.batches < max_batches)
                   and (until is None or time.monotonic() < until)):
                began = time.monotonic()
                try:
                    done = _delete_batch(due, batch)
                except DatabaseError as error:  # lock_timeout: the engine holds a row; next run
                    logger.info("Pruning gave way to a lock: %s", error)
                    total.gave_way += 1
                    break
                if done is None:
                    break
                done.working = time.monotonic() - began
                for key in ("executions", "events", "node_runs", "batches", "working", "cleaning"):
                    setattr(total, key, getattr(total, key) + getattr(done, key))
                wait = pause if pause is not None else done.working * (1 - duty) / duty
                if until is not None:
                    wait = min(wait, until - time.monotonic())
                if wait > 0:
                    time.sleep(wait)
    return total


_last_run: float | None = None
_last_run_lock = threading.Lock()


def prune_if_due() -> PruneResult | None:
    """The embedded server's tick: prunes when MBFLOW_RETENTION_SECONDS passed since this process last did."""
    global _last_run
    with _last_run_lock:
        if _last_run is not None and time.monotonic() - _last_run < settings.MBFLOW_RETENTION_SECONDS:
            return None
        _last_run = time.monotonic()
    result = prune()
    if result.executions:
        logger.info("Pruned %s executions (%s events, %s node runs)", result.executions, result.events,
                    result.node_runs)
    return result
