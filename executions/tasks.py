"""Celery entry points. Thin on purpose: each calls one plain function of the engine."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from executions.engine import runner, timers
from executions.engine.delivery import run_delivered_nodes
from executions.services import retention

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="mbflow.run_node", **TASK_OPTIONS)
def run_node(execution_id: str, node_id: str, attempt: int, portable: dict[str, Any] | None = None) -> None:
    runner.run_node(execution_id, node_id, attempt, portable=portable)


@shared_task(name="mbflow.run_nodes", **TASK_OPTIONS)
def run_nodes(execution_id: str, nodes: list[list[Any]]) -> None:
    """Several nodes of one execution started together: ``[node_id, attempt, portable]`` each."""
    run_delivered_nodes(execution_id, nodes)


@shared_task(name="mbflow.advance_execution", **TASK_OPTIONS)
def advance_execution(execution_id: str) -> None:
    runner.advance(execution_id)


@shared_task(name="mbflow.expire_execution", **TASK_OPTIONS)
def expire_execution(execution_id: str, generation: int = 0) -> None:
    runner.expire(execution_id, generation)


@shared_task(name="mbflow.time_out_node", **TASK_OPTIONS)
def time_out_node(execution_id: str, node_id: str, attempt: int) -> None:
    runner.time_out(execution_id, node_id, attempt)


@shared_task(name="mbflow.wake_timers", **TASK_OPTIONS)
def wake_timers() -> int:
    """A node scheduled shortly ahead by a process without a timer pump is due: resumes what is
    due now (executions.dispatch.timers), batch after batch. Returns how many it resumed."""
    resumed, passed = 0, set[str]()
    while True:
        done = timers.resume_due(settings.MBFLOW_TIMER_BATCH, passed)
        resumed += done.resumed
        passed.update(done.failed, done.handed)
        if done.claimed < settings.MBFLOW_TIMER_BATCH or not done.resumed:
            return resumed


@shared_task(name="mbflow.sweep_leases", **TASK_OPTIONS)
def sweep_leases() -> int:
    return runner.sweep_expired_leases()


@shared_task(name="mbflow.prune_executions", ignore_result=True)
def prune_executions() -> int:
    """Retention: deletes the finished executions past their period (executions.services.retention)."""
    return retention.prune().executions
