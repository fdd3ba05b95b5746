"""The schedule tick: starts the runs of cron and interval triggers that are due.

Run every ``MBFLOW_SCHEDULE_TICK_SECONDS`` by Celery beat (scaled out) or by a timer thread of
each web server process (embedded), possibly by several at once: exactly one run starts per
trigger and due time, because firing inserts the ``TriggerFire`` row of that (trigger, due
time) in the same transaction as the run, and the unique constraint lets one insert succeed.

A due time the tick sees more than ``MISSED_AFTER`` late was missed (nothing ran the tick then:
the service was down). ``missed: skip`` records it as skipped; ``missed: run_once`` runs once for
all the due times missed in a row (for the latest of them). A trigger that starts no run now
(its workflow inactive, the trigger disabled) still has its due time moved on, so turning it on
later does not count the time it was off as missed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from mbflow_site.errors import ApiError
from triggers.models import FireStatus, ReceivedEvent, SeenSignature, Trigger, TriggerFire
from triggers.schedules import latest_due, next_after, upcoming
from triggers.services.firing import not_live_reason, start_from
from triggers.services.specs import parse
from triggers.services.sync import do_sync_stale
from triggers.signatures import TOLERANCE_SECONDS

logger = logging.getLogger(__name__)

MISSED_AFTER = timedelta(seconds=60)
BATCH = 500
# Kept for the API and the admin, then deleted by the tick.
KEEP_FIRES = timedelta(days=30)
KEEP_EVENT_IDS = timedelta(days=7)
PURGE_EVERY_SECONDS = 60.0
_last_purge = 0.0


# Sent at the end of every tick, with ``now``: other apps do their periodic work on this clock
# (monitoring evaluates its alert rules) rather than on a timer of their own. A receiver that
# raises is logged; the tick goes on.
ticked = Signal()


@dataclass
class TickResult:
    started: int = 0
    skipped: int = 0  # missed (missed: skip)
    failed: int = 0  # the run could not start (its input refused, ...)
    idle: int = 0  # due, but its workflow inactive or the trigger disabled: moved on only

    @property
    def fired(self) -> int:
        return self.started + self.skipped + self.failed


def tick(now: datetime | None = None) -> TickResult:
    """Fires what is due at ``now`` (the current time unless given: tests pass a frozen one)."""
    now = now or timezone.now()
    do_sync_stale()
    result = TickResult()
    due = (Trigger.objects.filter(declared=True, next_fire_at__lte=now)
           .select_related("workflow", "tenant").order_by("next_fire_at")[:BATCH])
    for trigger in due:
        try:
            _fire(trigger, now, result)
        except Exception:  # one trigger's trouble does not stop the others
            logger.exception("Schedule trigger %s could not fire", trigger.pk)
    _purge(now)
    for receiver, outcome in ticked.send_robust(sender=tick, now=now):
        if isinstance(outcome, Exception):
            logger.error("%s failed on the tick", getattr(receiver, "__qualname__", receiver), exc_info=outcome)
    return result


def _fire(trigger: Trigger, now: datetime, result: TickResult) -> None:
    schedule = parse(trigger.spec)
    due = trigger.next_fire_at
    assert due is not None
    latest = latest_due(schedule, due, now)
    assert latest is not None
    following = next_after(schedule, now, anchor=due)
    with transaction.atomic():
        # Only ever forward: a tick that read the trigger before another moved it on must not
        # move it back.
        Trigger.objects.filter(pk=trigger.pk, next_fire_at__lt=following).update(next_fire_at=following)
        if not_live_reason(trigger) is not None:
            result.idle += 1
            return
        on_time = now - latest <= MISSED_AFTER
        status = FireStatus.STARTED if on_time or schedule.missed == "run_once" else FireStatus.SKIPPED
        try:
            with transaction.atomic():
                fire = TriggerFire.objects.create(trigger=trigger, due_at=latest, fired_at=now, status=status)
        except IntegrityError:
            return  # another tick fired this due time
        if status == FireStatus.SKIPPED:
            result.skipped += 1
            return
        record = {"due_at": _iso(latest), **({} if on_time else {"missed": True})}
        try:
            with transaction.atomic():
                execution = start_from(trigger, dict(schedule.input), record)
        except ApiError as exc:
            fire.status, fire.error = FireStatus.FAILED, exc.message
            fire.save(update_fields=["status", "error"])
            result.failed += 1
            logger.warning("Schedule trigger %s could not start a run: %s", trigger.pk, exc.message)
            return
        fire.execution_id = execution.pk
        fire.save(update_fields=["execution_id"])
        result.started += 1


def next_fire_times(trigger: Trigger, count: int = 5, now: datetime | None = None) -> list[datetime]:
    """The next ``count`` due times of a schedule trigger, from ``now``."""
    if trigger.next_fire_at is None:
        return []
    now = now or timezone.now()
    schedule = parse(trigger.spec)
    first = trigger.next_fire_at if trigger.next_fire_at > now else next_after(schedule, now, trigger.next_fire_at)
    return [first, *upcoming(schedule, first, count - 1, anchor=first)] if count > 0 else []


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _purge(now: datetime) -> None:
    """Forgets old fires, old event ids and signatures too old to be replayed (once a minute)."""
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_SECONDS:
        return
    _last_purge = time.monotonic()
    TriggerFire.objects.filter(fired_at__lt=now - KEEP_FIRES).delete()
    ReceivedEvent.objects.filter(received_at__lt=now - KEEP_EVENT_IDS).delete()
    SeenSignature.objects.filter(seen_at__lt=now - timedelta(seconds=2 * TOLERANCE_SECONDS)).delete()
