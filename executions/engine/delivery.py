"""What a Celery worker does with a ``run_nodes`` message: the nodes of one execution started
together, run side by side."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from executions.engine import runner

# [node id, attempt, portable attempt or None] as a run_nodes message carries each node.
NodeItem = list[Any]


@lru_cache(maxsize=1)
def _side_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.MBFLOW_WORKER_THREADS, thread_name_prefix="mbflow-node")


def run_delivered_nodes(execution_id: str, items: Sequence[NodeItem]) -> None:
    """Runs the nodes of one ``run_nodes`` message side by side: the first on the task's own
    thread, the others on this worker's node threads. Returns when all have completed, so the
    message is acknowledged (``acks_late``) only then."""
    won = runner.claim_together(execution_id, [(node_id, attempt) for node_id, attempt, _portable in items])
    futures = [_side_pool().submit(_run_on_side_thread, execution_id, item, item[0] in won) for item in items[1:]]
    first_id, first_attempt, first_portable = items[0]
    try:
        runner.run_node(execution_id, first_id, first_attempt, portable=first_portable, won=first_id in won)
    finally:
        for future in futures:
            future.result()


def _run_on_side_thread(execution_id: str, item: NodeItem, won: bool) -> None:
    node_id, attempt, portable = item
    try:
        runner.run_node(execution_id, node_id, attempt, portable=portable, won=won)
    finally:
        close_old_connections()  # gives the thread's pooled connection back, as after a task
