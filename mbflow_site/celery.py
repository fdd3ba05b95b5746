from __future__ import annotations

import gc
import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from celery.worker.control import control_command
from django.conf import settings
from kombu import Queue

from mbflow_site.allocator import limit_arenas

limit_arenas()  # before the worker's pool starts its threads (mbflow_site/allocator.py)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
# A worker does not run Django's system checks when it starts (Celery's Django fix-up would):
# they load the whole URL conf - every view, the admin, the OpenAPI generator - which a worker
# never serves, 7 MB of its memory. `manage.py migrate` and `manage.py check` run them.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("mbflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One queue per kind of node work; a worker started without -Q consumes all three.
QUEUES = {kind: f"{settings.MBFLOW_QUEUE_PREFIX}.{kind}" for kind in ("light", "io", "llm")}
app.conf.task_queues = [Queue(name) for name in QUEUES.values()]
app.conf.task_default_queue = QUEUES["light"]

# Celery beat sends the lease sweep: nodes whose worker died go to another worker (the embedded
# dispatcher runs the same sweep on its own timer). A sweep no worker took within its period is
# dropped, not piled up behind the next one.
app.conf.beat_schedule = {
    "mbflow-sweep-leases": {
        "task": "mbflow.sweep_leases",
        "schedule": float(settings.MBFLOW_LEASE_SWEEP_SECONDS),
        "options": {"queue": QUEUES["light"], "expires": float(settings.MBFLOW_LEASE_SWEEP_SECONDS)},
    },
    # The schedule tick (triggers/services/schedules.py): cron and interval triggers that are due
    # start their runs. Ticks that overlap start one run per due time all the same.
    "mbflow-tick-schedules": {
        "task": "mbflow.tick_schedules",
        "schedule": float(settings.MBFLOW_SCHEDULE_TICK_SECONDS),
        "options": {"queue": QUEUES["light"], "expires": float(settings.MBFLOW_SCHEDULE_TICK_SECONDS)},
    },
    # Outbound webhook deliveries left pending past their time (their worker died) are sent again.
    "mbflow-sweep-webhooks": {
        "task": "mbflow.sweep_webhook_deliveries",
        "schedule": float(settings.MBFLOW_LEASE_SWEEP_SECONDS),
        "options": {"queue": QUEUES["light"], "expires": float(settings.MBFLOW_LEASE_SWEEP_SECONDS)},
    },
    # Retention: finished executions past their period are deleted in small batches.
    "mbflow-prune-executions": {
        "task": "mbflow.prune_executions",
        "schedule": float(settings.MBFLOW_RETENTION_SECONDS),
        "options": {"queue": QUEUES["light"], "expires": float(settings.MBFLOW_RETENTION_SECONDS)},
    },
}


@worker_ready.connect
def _freeze_what_the_worker_loaded(**_: Any) -> None:
    """What starting the worker made lives as long as it: out of the collector's full passes
    (as for the web process, mbflow_site/asgi.py)."""
    gc.freeze()


@worker_ready.connect
def _start_timer_pump(**_: Any) -> None:
    """Each worker process resumes the nodes that waited for their time, from their rows
    (executions.dispatch.timers), unless MBFLOW_TIMERS=messages."""
    from executions.dispatch.timers import start_pump

    start_pump()


@worker_shutdown.connect
def _stop_timer_pump(**_: Any) -> None:
    from executions.dispatch.timers import stop_pump

    stop_pump()


@control_command(args=[("on", bool)], signature="<on>")
def mbflow_timer_pump(state: Any, on: bool = True) -> dict[str, Any]:
    """Pauses (on=False) or resumes the worker's timer pump: ``celery -A mbflow_site control
    mbflow_timer_pump false`` (a worker being drained; tests that share its database)."""
    from executions.dispatch.timers import pause_pump

    running = pause_pump(not on)
    return {"ok": f"timer pump {'on' if on else 'paused'}{'' if running else ' (not started yet)'}"}
