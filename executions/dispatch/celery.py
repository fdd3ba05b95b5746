"""The Celery dispatcher: one task per piece of work, on a queue per node kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from executions.engine.step import Dispatch
from mbflow_site.celery import QUEUES


def configure_broker() -> None:
    from mbflow_site.celery import app

    if not settings.CELERY_BROKER_URL and settings.REDIS_URL:
        app.conf.broker_url = settings.REDIS_URL


class CeleryDispatcher:
    name = "celery"

    def __init__(self) -> None:
        configure_broker()

    def dispatch_all(self, works: Sequence[Dispatch]) -> None:
        """Publishes a step's work in one batch (one pipeline on the Redis transport)."""
        from mbflow_site.celery import app

        with app.producer_or_acquire() as producer, producer.batch():
            for work in works:
                self.dispatch(work, producer)

    def dispatch(self, work: Dispatch, producer: Any = None) -> None:
        from executions import tasks

        queue = QUEUES.get(work.queue, QUEUES["io"])
        if work.kind == "node":
            kwargs = {"portable": work.portable} if work.portable is not None else None
            tasks.run_node.apply_async((work.execution_id, work.node_id, work.attempt), kwargs, queue=queue,
                                       eta=work.eta, producer=producer)
        elif work.kind == "expire":
            tasks.expire_execution.apply_async((work.execution_id,), queue=QUEUES["light"], eta=work.eta,
                                                producer=producer)
        elif work.kind == "advance":
            tasks.advance_execution.apply_async((work.execution_id,), queue=QUEUES["light"], eta=work.eta,
                                                producer=producer)
        else:
            raise ValueError(f"unknown work kind {work.kind!r}")
