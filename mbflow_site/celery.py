from __future__ import annotations

import gc
import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")

app = Celery("mbflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One queue per kind of node work; a worker started without -Q consumes all three.
QUEUES = {"light": "mbflow.light", "io": "mbflow.io", "llm": "mbflow.llm"}
app.conf.task_queues = [Queue(name) for name in QUEUES.values()]
app.conf.task_default_queue = QUEUES["light"]


@worker_ready.connect
def _freeze_what_the_worker_loaded(**_: Any) -> None:
    """What starting the worker made lives as long as it: out of the collector's full passes
    (as for the web process, mbflow_site/asgi.py)."""
    gc.freeze()
