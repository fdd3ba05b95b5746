"""Executions and node runs with known times, for metrics computed from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from executions.models import Execution, NodeRun

# The runtime's fixtures: workflows stored through the API, both dispatchers, a real worker.
from tests.executions.conftest import (  # noqa: F401
    _allow_local_http,
    celery_worker,
    dispatcher,
    django_db_modify_db_settings,
    embedded,
    http_server,
    run,
    store,
)

# Outbound webhooks (alert channels): a local receiver and the embedded sender.
from tests.triggers.conftest import outbox, receiver  # noqa: F401
from workflows.models import Tenant, Workflow

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)

MakeExecution = Callable[..., Execution]


def at(minutes: float) -> datetime:
    """``minutes`` after 2026-01-01 10:00 UTC."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def make_execution(db: None) -> MakeExecution:
    """An execution created ``created`` with ``status`` that ran ``seconds`` (None: not ended),
    and its node runs: ``nodes={"a": {"status", "attempt", "seconds", "error", "reused_from"}}``."""

    def make(tenant: Tenant, workflow: Workflow | None, created: datetime, status: str,
             seconds: float | None = None, nodes: dict[str, dict[str, Any]] | None = None) -> Execution:
        execution = Execution.objects.create(
            tenant=tenant, workflow=workflow, status=status, created_at=created,
            started_at=created if status != "pending" else None,
            finished_at=created + timedelta(seconds=seconds) if seconds is not None else None)
        for order, (node_id, node) in enumerate((nodes or {}).items()):
            started = created + timedelta(seconds=0.1) if node.get("attempt", 1) > 0 else None
            ran = node.get("seconds")
            NodeRun.objects.create(
                execution=execution, node_id=node_id, order=order, status=node["status"],
                attempt=node.get("attempt", 1), error=node.get("error"), reused_from=node.get("reused_from"),
                started_at=started,
                finished_at=started + timedelta(seconds=ran) if started and ran is not None else None)
        return execution

    return make


@pytest.fixture
def workflow_of(db: None) -> Callable[[Tenant, str], Workflow]:
    def make(tenant: Tenant, name: str) -> Workflow:
        return Workflow.objects.create(tenant=tenant, name=name)

    return make
