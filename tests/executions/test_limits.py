"""Bulkheads and rate limits: never more than ``concurrency`` calls at once across all workers,
per node or per named limit shared by workflows; never more starts than the rate allows; work
over the limit waits (holding no worker) and runs in its turn instead of failing."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent
from tests.executions.conftest import Store, doc
from tests.executions.servers import LocalServer


def _start_all(editor: APIClient, workflow: str, count: int) -> list[str]:
    return [editor.post("/api/v1/executions", {"workflow": workflow, "input": {}}, format="json").json()["id"]
            for _ in range(count)]


def _all_finished(ids: list[str]) -> list[str]:
    for _ in range(1200):
        statuses = list(Execution.objects.filter(pk__in=ids).values_list("status", flat=True))
        if all(status in ("succeeded", "failed", "cancelled") for status in statuses):
            return statuses
        threading.Event().wait(0.05)
    raise AssertionError(f"not finished: {statuses}")


def test_a_node_never_runs_more_than_its_concurrency_at_once(dispatcher: str, store: Store, editor: APIClient,
                                                             http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("bulkhead", f"""
  nodes:
    - id: call
      type: http
      concurrency: 2
      config: {{url: "{http_server.url}/inflight?key={key}&ms=300&until_peak=2"}}
"""))
    ids = _start_all(editor, "bulkhead", 6)
    assert _all_finished(ids) == ["succeeded"] * 6
    assert http_server.peak[key] == 2
    waited = ExecutionEvent.objects.filter(execution_id__in=ids, type="node.waiting", payload__reason="limit")
    assert waited.exists()  # over the limit, nodes waited for their turn


def test_a_named_limit_is_shared_by_the_workflows_that_name_it(dispatcher: str, store: Store, editor: APIClient,
                                                               http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    limit = f"svc-{key[:8]}"
    for name in ("one-of-two", "two-of-two"):
        store(doc(name, f"""
  nodes:
    - id: call
      type: http
      limit: {limit}
      concurrency: 1
      config: {{url: "{http_server.url}/inflight?key={key}&ms=150"}}
"""))
    ids = _start_all(editor, "one-of-two", 3) + _start_all(editor, "two-of-two", 3)
    assert _all_finished(ids) == ["succeeded"] * 6
    assert http_server.peak[key] == 1


def test_a_rate_limit_spaces_the_starts_in_their_order(embedded: Any, store: Store, editor: APIClient,
                                                       http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("paced", f"""
  nodes:
    - id: call
      type: http
      rate_limit: {{requests: 2, per: 1s}}
      config: {{url: "{http_server.url}/echo?key={key}"}}
"""))
    ids = _start_all(editor, "paced", 6)
    assert _all_finished(ids) == ["succeeded"] * 6
    started = sorted(ExecutionEvent.objects.filter(execution_id__in=ids, type="node.started")
                     .values_list("time", flat=True))
    assert len(started) == 6
    # Never three in one second: a start is decided a moment before its event is written, and a
    # start at its turn is never early, so two starts apart by less than a second minus that
    # moment would be a third in one second (a token bucket lets them come 0.5 s apart).
    for first, third in zip(started, started[2:], strict=False):
        assert (third - first).total_seconds() >= 0.9
    scheduled = ExecutionEvent.objects.filter(execution_id__in=ids, type="node.scheduled", payload__limit__isnull=False)
    assert scheduled.count() == 4
