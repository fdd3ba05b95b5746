"""Celery entry points of triggers: the schedule tick (sent by beat every
MBFLOW_SCHEDULE_TICK_SECONDS), and outbound webhook deliveries with their sweep."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from mbflow_site.celery import QUEUES
from triggers.services.deliveries import do_attempt_delivery, due_deliveries
from triggers.services.schedules import tick

WEBHOOK_QUEUE = QUEUES["io"]


@shared_task(name="mbflow.tick_schedules", ignore_result=True)
def tick_schedules() -> int:
    return tick().fired


@shared_task(name="mbflow.deliver_webhook", ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: str) -> None:
    """One attempt; a failed one is sent again, due after its backoff."""
    outcome = do_attempt_delivery(delivery_id)
    if outcome is not None and outcome.retry_at is not None:
        deliver_webhook.apply_async((delivery_id,), eta=outcome.retry_at, queue=WEBHOOK_QUEUE)


def send_deliveries(ids: Any) -> None:
    for delivery_id in ids:
        deliver_webhook.apply_async((str(delivery_id),), queue=WEBHOOK_QUEUE)


@shared_task(name="mbflow.sweep_webhook_deliveries", ignore_result=True)
def sweep_webhook_deliveries() -> int:
    """Sends the deliveries left pending past their time (their worker died, or never got them)."""
    due = due_deliveries()
    send_deliveries(due)
    return len(due)
