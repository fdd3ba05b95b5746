"""Nodes waiting for their time wait as rows and are resumed in batches by the timer pump
(executions.dispatch.timers, executions.engine.timers): no timed message, each resumed once."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from executions import tasks
from executions.engine import runner, timers
from executions.models import Execution, ExecutionEvent, NodeRun
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer

RUNS = 200


@pytest.fixture
def timed_messages(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The timed node messages and timer wake-ups this process sends to the broker."""
    sent: list[Any] = []
    for task in (tasks.run_node, tasks.wake_timers):
        send = task.apply_async

        def record(args: Any = None, kwargs: Any = None, send: Any = send, name: str = task.name,
                   **options: Any) -> Any:
            if name == tasks.wake_timers.name or options.get("eta") is not None:
                sent.append((name, args))
            return send(args, kwargs, **options)

        monkeypatch.setattr(task, "apply_async", record)
    return sent


def until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_delays_due_together_all_resume_once(dispatcher: str, store: Store, editor: Any,
                                             timed_messages: list[Any]) -> None:
    """GIVEN 200 runs parked in wait_until for the same moment
    THEN each resumes once when it is due (one node.started, started at or after its time), all
    succeed, and this process sent no timed message for them: their rows were their timers."""
    store(doc("together", """
  nodes:
    - {id: park, type: wait_until, config: {until: "{{ input.until }}"}}
    - {id: after, type: noop}
  edges: [{from: park, to: after}]
"""))
    # Far enough ahead for all to be started before, on a slow machine too.
    due = timezone.now() + timedelta(seconds=15)
    ids = []
    for _ in range(RUNS):
        response = editor.post("/api/v1/executions", {"workflow": "together", "input": {"until": due.isoformat()}},
                               format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    parked = NodeRun.objects.filter(execution_id__in=ids, node_id="park", status="pending",
                                    scheduled_at__isnull=False).count()
    assert parked > 0
    assert until(lambda: Execution.objects.filter(pk__in=ids, status="succeeded").count() == RUNS, 180), \
        Counter(Execution.objects.filter(pk__in=ids).values_list("status", flat=True))
    starts = Counter(ExecutionEvent.objects.filter(execution_id__in=ids, node_id="park", type="node.started")
                     .values_list("execution_id", flat=True))
    assert len(starts) == RUNS
    assert set(starts.values()) == {1}
    for scheduled_at, started_at in NodeRun.objects.filter(execution_id__in=ids, node_id="park").values_list(
            "scheduled_at", "started_at"):
        assert started_at >= scheduled_at
    assert timed_messages == []


def test_a_long_retry_backoff_waits_as_its_row_and_its_attempt_runs_on_a_worker(
        dispatcher: str, store: Store, run: Run, http_server: LocalServer) -> None:
    """GIVEN an HTTP call failing once with a 2 s retry backoff (a timer the pump resumes)
    THEN its second attempt is started from its row and run by a worker: the run succeeds."""
    key = timezone.now().isoformat()
    store(doc("backoff", f"""
  nodes:
    - id: flaky
      type: http
      retry: {{max_attempts: 2, backoff: fixed, initial_delay: 2s, jitter: false}}
      config: {{url: "{http_server.url}/flaky?fail=1&key={key}"}}
"""))
    execution = run("backoff", wait=60)
    assert execution["status"] == "succeeded", execution["error"]
    assert steps(execution)["flaky"]["attempt"] == 2
    types = list(ExecutionEvent.objects.filter(execution_id=execution["id"], node_id="flaky")
                 .order_by("seq").values_list("type", flat=True))
    assert types == ["node.started", "node.retrying", "node.started", "node.succeeded"]


def test_a_paused_execution_keeps_its_due_timer_until_it_is_resumed(embedded: Any, store: Store,
                                                                     editor: Any) -> None:
    """GIVEN a delay of a paused execution, come due
    THEN no claim takes it; resumed, the execution goes on and succeeds."""
    store(doc("paused-delay", """
  nodes:
    - {id: park, type: delay, config: {duration: 60s}}
"""))
    execution_id = editor.post("/api/v1/executions", {"workflow": "paused-delay"}, format="json").json()["id"]
    assert runner.pause(execution_id)
    NodeRun.objects.filter(execution_id=execution_id, node_id="park").update(
        scheduled_at=timezone.now() - timedelta(seconds=1))
    with transaction.atomic():
        assert (execution_id, "park", 1) not in timers.claim_due(1000, timezone.now())
    assert runner.resume(execution_id)
    assert until(lambda: Execution.objects.get(pk=execution_id).status == "succeeded", 30)
    assert NodeRun.objects.get(execution_id=execution_id, node_id="park").output == {"delayed": 60.0}


def test_claims_in_two_transactions_take_different_executions(embedded: Any, store: Store, editor: Any,
                                                             settings: Any) -> None:
    """GIVEN due timers WHEN two transactions claim at once THEN neither takes what the other
    holds (SKIP LOCKED): a claim is one owner's."""
    settings.MBFLOW_TIMERS = "messages"  # the pump stays out of this one
    store(doc("claimed", """
  nodes:
    - {id: park, type: delay, config: {duration: 60s}}
"""))
    ids = [editor.post("/api/v1/executions", {"workflow": "claimed"}, format="json").json()["id"] for _ in range(6)]
    NodeRun.objects.filter(execution_id__in=ids).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    barrier = Barrier(2)
    first: list[Any] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                first.extend(timers.claim_due(3, timezone.now()))
                barrier.wait(10)  # claimed; the other claims now
                barrier.wait(10)  # the other has claimed
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(hold)
        barrier.wait(10)
        with transaction.atomic():
            second = timers.claim_due(10, timezone.now())
        barrier.wait(10)
        holding.result(10)
    assert len(first) == 3
    assert {row[0] for row in first}.isdisjoint(row[0] for row in second)
    assert {row[0] for row in first} | {row[0] for row in second} == set(ids)
    with transaction.atomic():  # executions passed over (failing, or handed to a worker) are left out
        assert {row[0] for row in timers.claim_due(10, timezone.now(), skip=ids[:2])} == set(ids[2:])
        assert timers.next_due(skip=ids) is None
