"""Celery entry point of the schedule tick (sent by beat every MBFLOW_SCHEDULE_TICK_SECONDS)."""

from __future__ import annotations

from celery import shared_task

from triggers.services.schedules import tick


@shared_task(name="mbflow.tick_schedules", ignore_result=True)
def tick_schedules() -> int:
    return tick().fired
