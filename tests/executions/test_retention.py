"""Retention: finished executions past their workflow's (or the tenant default's) period are
deleted with their events and node runs, in batches that skip what the engine holds."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services import retention
from tests.executions.conftest import Run, Store, doc

KEPT = doc("kept", """
  retention: {succeeded: 1h, failed: 2h}
  nodes:
    - {id: first, type: noop}
    - {id: boom, type: fail, when: "{{ input.fail == true }}", config: {message: asked to}}
  edges: [{from: first, to: boom}]
""")
FOREVER = KEPT.replace("name: kept", "name: forever").replace("  retention: {succeeded: 1h, failed: 2h}\n", "")
WAITS = doc("waits", """
  retention: {succeeded: 1s, failed: 1s, cancelled: 1s}
  nodes: [{id: ask, type: approval}]
""")


def _rows(execution_id: str) -> tuple[int, int, int]:
    return (Execution.objects.filter(pk=execution_id).count(),
            ExecutionEvent.objects.filter(execution_id=execution_id).count(),
            NodeRun.objects.filter(execution_id=execution_id).count())


@pytest.fixture
def runs(embedded: object, store: Store, run: Run, editor: Any, settings: Any) -> dict[str, str]:
    settings.MBFLOW_RETENTION_SUCCEEDED = "3h"  # the tenant default: succeeded runs only
    for text in (KEPT, FOREVER, WAITS):
        store(text)
    started = {
        "kept_ok": run("kept"), "kept_failed": run("kept", {"fail": True}),
        "forever_ok": run("forever"), "forever_failed": run("forever", {"fail": True}),
    }
    assert [body["status"] for body in started.values()] == ["succeeded", "failed", "succeeded", "failed"]
    waiting = editor.post("/api/v1/executions", {"workflow": "waits"}, format="json").json()
    started["waiting"] = waiting
    return {key: str(body["id"]) for key, body in started.items()}


def test_old_runs_go_by_their_workflows_period_then_the_tenant_default(runs: dict[str, str], editor: Any) -> None:
    for execution_id in runs.values():
        assert _rows(execution_id)[0:2] != (0, 0)
    assert all(count > 0 for count in _rows(runs["kept_ok"]))
    now = timezone.now()

    assert retention.prune(now + timedelta(minutes=30)).executions == 0  # nothing old enough
    first = retention.prune(now + timedelta(minutes=90))
    assert _rows(runs["kept_ok"]) == (0, 0, 0)  # succeeded: 1h
    assert first.executions == 1 and first.events > 0 and first.node_runs == 2
    assert editor.get(f"/api/v1/executions/{runs['kept_ok']}").status_code == 404
    assert _rows(runs["kept_failed"])[0] == 1

    retention.prune(now + timedelta(minutes=150))
    assert _rows(runs["kept_failed"]) == (0, 0, 0)  # failed: 2h
    assert _rows(runs["forever_ok"])[0] == 1

    retention.prune(now + timedelta(hours=4))
    assert _rows(runs["forever_ok"]) == (0, 0, 0)  # the tenant default for succeeded runs: 3h
    assert _rows(runs["forever_failed"])[0] == 1  # no default for failed runs: kept
    assert _rows(runs["waiting"])[0] == 1  # still waiting for its approval: never pruned
    assert Execution.objects.get(pk=runs["waiting"]).status == "running"
    assert editor.get(f"/api/v1/executions/{runs['forever_failed']}").status_code == 200


def test_a_cancelled_run_goes_by_its_period_and_batches_are_small(runs: dict[str, str], editor: Any) -> None:
    assert editor.post(f"/api/v1/executions/{runs['waiting']}/cancel").status_code == 200
    result = retention.prune(timezone.now() + timedelta(days=1), batch=1)
    assert _rows(runs["waiting"]) == (0, 0, 0)  # cancelled: 1s
    assert result.executions == 4 and result.batches == 4  # kept x2, forever_ok and the cancelled one
    assert _rows(runs["forever_failed"])[0] == 1


def test_pruning_stops_at_its_deadline_and_counts_its_work(runs: dict[str, str]) -> None:
    later = timezone.now() + timedelta(days=1)
    assert retention.prune(later, until=time.monotonic()).batches == 0  # past its deadline: no batch begun
    result = retention.prune(later, batch=1, pause=0)
    assert result.executions == 3 and result.batches == 3
    assert result.working >= result.cleaning > 0  # the cleaners' time is part of the batches'


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL")
def test_pruning_skips_a_run_the_engine_holds_and_never_waits(runs: dict[str, str]) -> None:
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def engine_holds_the_row() -> None:  # as a retry starting on the failed run would
        try:
            with transaction.atomic():
                Execution.objects.select_for_update().get(pk=runs["kept_failed"])
                held.set()
                release.wait(30)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=engine_holds_the_row)
    thread.start()
    try:
        assert held.wait(30)
        result = retention.prune(timezone.now() + timedelta(days=1))
        assert _rows(runs["kept_ok"])[0] == 0 and _rows(runs["forever_ok"])[0] == 0
        assert _rows(runs["kept_failed"])[0] == 1  # skipped, not waited for
        assert result.executions == 2
    finally:
        release.set()
        thread.join(30)
    assert done.is_set()
    assert retention.prune(timezone.now() + timedelta(days=1)).executions == 1  # the next run takes it
    assert _rows(runs["kept_failed"]) == (0, 0, 0)


def test_payload_cleaners_are_called_with_each_batch(runs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(retention, "_payload_cleaners", [])
    retention.on_prune(lambda ids: seen.append(sorted(str(value) for value in ids)))
    retention.prune(timezone.now() + timedelta(minutes=90))
    assert seen == [[runs["kept_ok"]]]


def test_the_tick_prunes_once_per_period(runs: dict[str, str], settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.MBFLOW_RETENTION_SECONDS = 3600
    settings.MBFLOW_RETENTION_SUCCEEDED = "1s"
    monkeypatch.setattr(retention, "_last_run", None)
    Execution.objects.filter(pk__in=[runs["kept_ok"], runs["forever_ok"]]).update(
        finished_at=timezone.now() - timedelta(hours=5))
    first = retention.prune_if_due()
    assert first is not None and first.executions == 2
    assert retention.prune_if_due() is None  # within the period: not again
