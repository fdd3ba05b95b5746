"""The Celery dispatcher: one task per piece of work, on a queue per node kind.

I/O nodes a step starts together (a fan-out) travel together: up to
``MBFLOW_NODES_PER_MESSAGE`` of them in one ``run_nodes`` message, which a worker runs side by
side on threads. Publishing and delivering a Celery message costs a few milliseconds of CPU on
each end (with ack emulation on Redis), so ten messages for ten parallel calls would start the
tenth call tens of milliseconds after the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings

from executions import tasks
from executions.dispatch import timers
from executions.engine.ports import Dispatch
from mbflow_site.celery import QUEUES, app


def configure_broker() -> None:
    if not settings.CELERY_BROKER_URL and settings.REDIS_URL:
        app.conf.broker_url = settings.REDIS_URL


class CeleryDispatcher:
    name = "celery"

    def __init__(self) -> None:
        configure_broker()

    def dispatch_all(self, works: Sequence[Dispatch]) -> None:
        """Publishes a step's work in one batch (one pipeline on the Redis transport), the
        nodes due now of one execution and queue grouped into ``run_nodes`` messages."""
        with app.producer_or_acquire() as producer, producer.batch():
            for group in _grouped(works):
                if len(group) == 1:
                    self.dispatch(group[0], producer)
                else:
                    self.dispatch_nodes(group, producer)

    def dispatch_nodes(self, works: Sequence[Dispatch], producer: Any = None) -> None:
        first = works[0]
        items: list[list[Any]] = [[work.node_id, work.attempt, work.portable] for work in works]
        tasks.run_nodes.apply_async((first.execution_id, items), queue=QUEUES.get(first.queue, QUEUES["io"]),
                                    producer=producer)

    def dispatch(self, work: Dispatch, producer: Any = None) -> None:
        queue = QUEUES.get(work.queue, QUEUES["io"])
        if timers.waits_as_row(work):
            # Its row is its timer (dispatch.timers): this process's pump is told; without one,
            # a time too close for the workers' pumps to be sure to see sends them a wake-up.
            pump = timers.process_pump()
            if pump is not None:
                pump.wake()
            elif timers.near(work):
                tasks.wake_timers.apply_async(queue=QUEUES["light"], eta=work.eta, producer=producer)
            return
        if work.kind == "node":
            kwargs = {"portable": work.portable} if work.portable is not None else None
            tasks.run_node.apply_async((work.execution_id, work.node_id, work.attempt), kwargs, queue=queue,
                                       eta=work.eta, producer=producer)
        elif work.kind == "expire":
            tasks.expire_execution.apply_async((work.execution_id, work.attempt), queue=QUEUES["light"],
                                                eta=work.eta, producer=producer)
        elif work.kind == "advance":
            tasks.advance_execution.apply_async((work.execution_id,), queue=QUEUES["light"], eta=work.eta,
                                                producer=producer)
        elif work.kind == "time_out":
            tasks.time_out_node.apply_async((work.execution_id, work.node_id, work.attempt), queue=QUEUES["light"],
                                            eta=work.eta, producer=producer)
        else:
            raise ValueError(f"unknown work kind {work.kind!r}")


def _grouped(works: Sequence[Dispatch]) -> Iterator[list[Dispatch]]:
    """The works in order, nodes due now of one execution and queue in groups of at most
    ``MBFLOW_NODES_PER_MESSAGE``; everything else alone."""
    size = settings.MBFLOW_NODES_PER_MESSAGE
    groups: dict[tuple[str, str], list[Dispatch]] = {}
    for work in works:
        if work.kind != "node" or work.eta is not None:
            yield [work]
            continue
        group = groups.setdefault((work.execution_id, work.queue), [])
        group.append(work)
        if len(group) == size:
            yield groups.pop((work.execution_id, work.queue))
    yield from groups.values()
