"""Approval nodes: the execution waits, holding no worker, for a decision through
``POST /executions/{id}/signals``, or fails the node when the wait times out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.engine import runner
from executions.engine.store import replay, stored_state
from executions.models import Execution, NodeRun
from tests.executions.conftest import Store, doc, steps
from tests.factories import make_key
from workflows.models import Role, Tenant

EXPENSE = doc("expense", """
  nodes:
    - {id: request, type: transform, config: {mapping: {amount: "{{ input.amount }}"}}}
    - id: approve
      type: approval
      config:
        message: "Pay {{ nodes.request.output.amount }} EUR?"
        approvers: APPROVERS
        timeout: TIMEOUT
    - {id: pay, type: transform, config: {mapping: {paid: "{{ nodes.approve.output.by }}"}}}
    - {id: refuse, type: transform, config: {mapping: {refused: "{{ nodes.approve.output.comment }}"}}}
    - {id: escalate, type: noop}
  edges:
    - {from: request, to: approve}
    - {from: approve, to: pay, port: approved}
    - {from: approve, to: refuse, port: rejected}
    - {from: approve, to: escalate, port: failure}
  output:
    paid: "{{ nodes.pay.output.paid }}"
    refused: "{{ nodes.refuse.output.refused }}"
""")


def expense(approvers: str = "[]", timeout: str = "1h", retry: str = "") -> str:
    text = EXPENSE.replace("APPROVERS", approvers).replace("TIMEOUT", timeout)
    return text.replace("        timeout: " + timeout, "        timeout: " + timeout + retry) if retry else text


def eventually(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
               seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body = read()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def start_waiting(editor: APIClient, amount: int = 120) -> dict[str, Any]:
    """Starts the expense workflow and returns it once ``approve`` waits."""
    started = editor.post("/api/v1/executions", {"workflow": "expense", "input": {"amount": amount}}, format="json")
    assert started.status_code == 201, started.json()
    execution_id = started.json()["id"]
    body = eventually(lambda: editor.get(f"/api/v1/executions/{execution_id}").json(),
                      lambda body: steps(body)["approve"]["status"] == "waiting")
    assert steps(body)["approve"]["status"] == "waiting", body
    return body


def finished(client: APIClient, execution_id: str) -> dict[str, Any]:
    return eventually(lambda: client.get(f"/api/v1/executions/{execution_id}").json(),
                      lambda body: body["status"] != "running")


def signal(client: APIClient, execution_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/executions/{execution_id}/signals", body, format="json")


def test_an_approval_waits_then_routes_by_the_decision(dispatcher: str, store: Store, editor: APIClient) -> None:
    store(expense())
    for decision, taken, skipped in (("approved", "pay", "refuse"), ("rejected", "refuse", "pay")):
        waiting = start_waiting(editor)
        assert waiting["status"] == "running"
        assert steps(waiting)["approve"]["input"]["message"] == "Pay 120 EUR?"
        assert steps(waiting)["pay"]["status"] == "pending"
        events = editor.get(f"/api/v1/executions/{waiting['id']}/events").json()["results"]
        waited = next(event for event in events if event["type"] == "node.waiting")
        assert waited["node_id"] == "approve"
        assert waited["payload"]["reason"] == "approval"
        assert waited["payload"]["message"] == "Pay 120 EUR?"
        assert waited["payload"]["timeout_at"]

        answer = signal(editor, waiting["id"], node_id="approve", decision=decision, comment="over budget",
                        data={"ticket": 7})
        assert answer.status_code == 200, answer.json()
        done = finished(editor, waiting["id"])
        assert done["status"] == "succeeded", done
        approve = steps(done)["approve"]
        assert approve["status"] == "succeeded"
        assert approve["output"] == {"decision": decision, "approved": decision == "approved", "by": "key:test key",
                                     "comment": "over budget", "data": {"ticket": 7}, "message": "Pay 120 EUR?"}
        assert steps(done)[taken]["status"] == "succeeded"
        assert steps(done)[skipped]["status"] == "skipped"
        assert steps(done)["escalate"]["status"] == "skipped"
        if decision == "approved":
            assert done["output"]["paid"] == "key:test key"
        else:
            assert done["output"]["refused"] == "over budget"
        execution = Execution.objects.get(pk=done["id"])
        assert replay(execution) == stored_state(execution)


def test_a_wait_that_times_out_takes_the_failure_port(dispatcher: str, store: Store, editor: APIClient) -> None:
    store(expense(timeout="300ms"))
    started = editor.post("/api/v1/executions", {"workflow": "expense", "input": {"amount": 5}}, format="json")
    done = eventually(lambda: editor.get(f"/api/v1/executions/{started.json()['id']}").json(),
                      lambda body: body["status"] != "running")
    assert done["status"] == "succeeded", done
    assert steps(done)["approve"]["status"] == "timed_out"
    assert steps(done)["approve"]["error"]["code"] == "timeout"
    assert steps(done)["escalate"]["status"] == "succeeded"
    assert steps(done)["pay"]["status"] == steps(done)["refuse"]["status"] == "skipped"
    late = signal(editor, done["id"], node_id="approve", decision="approved")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "not_waiting"


def test_a_retried_approval_waits_again_on_its_next_attempt(dispatcher: str, store: Store, editor: APIClient
                                                            ) -> None:
    """Attempt 2 starts on a worker (a scheduled retry), which then marks it waiting."""
    store(expense(timeout="300ms", retry="\n      retry: {max_attempts: 2, backoff: fixed, initial_delay: 50ms, "
                                         "jitter: false}"))
    started = editor.post("/api/v1/executions", {"workflow": "expense", "input": {"amount": 5}}, format="json")
    execution_id = started.json()["id"]
    second = eventually(lambda: editor.get(f"/api/v1/executions/{execution_id}").json(),
                        lambda body: steps(body)["approve"]["attempt"] == 2
                        and steps(body)["approve"]["status"] == "waiting")
    assert steps(second)["approve"]["status"] == "waiting", second
    answer = signal(editor, execution_id, node_id="approve", decision="approved")
    assert answer.status_code == 200, answer.json()
    done = eventually(lambda: editor.get(f"/api/v1/executions/{execution_id}").json(),
                      lambda body: body["status"] != "running")
    assert done["status"] == "succeeded"
    assert steps(done)["approve"]["attempt"] == 2
    assert steps(done)["pay"]["status"] == "succeeded"


def test_bad_signals_are_refused_and_change_nothing(embedded: object, store: Store, editor: APIClient,
                                                    viewer: APIClient, outsider: APIClient) -> None:
    store(expense())
    waiting = start_waiting(editor)
    url = waiting["id"]
    cases = [
        (editor, {"node_id": "nope", "decision": "approved"}, 400, "validation_error", "node_id"),
        (editor, {"node_id": "approve", "decision": "maybe"}, 400, "validation_error", "decision"),
        (editor, {"decision": "approved"}, 400, "validation_error", "node_id"),
        (editor, {"node_id": "approve", "decision": "approved", "data": [1]}, 400, "validation_error", "data"),
        (editor, {"node_id": "approve", "decision": "approved", "extra": 1}, 400, "validation_error", "extra"),
        (editor, {"node_id": "request", "decision": "approved"}, 409, "not_an_approval", None),
        (viewer, {"node_id": "approve", "decision": "approved"}, 403, "permission_denied", None),
        (outsider, {"node_id": "approve", "decision": "approved"}, 404, "not_found", None),
    ]
    for client, body, status, code, field in cases:
        response = signal(client, url, **body)
        assert response.status_code == status, (body, response.json())
        error = response.json()["error"]
        assert error["code"] == code, (body, error)
        if field:
            assert field in error["details"]["fields"], (body, error)
    after = editor.get(f"/api/v1/executions/{url}").json()
    assert steps(after)["approve"]["status"] == "waiting"
    assert after["status"] == "running"

    cancelled = editor.post(f"/api/v1/executions/{url}/cancel")
    assert cancelled.status_code == 200
    assert steps(cancelled.json())["approve"]["status"] == "cancelled"
    late = signal(editor, url, node_id="approve", decision="approved")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "not_waiting"
    assert "cancelled" in late.json()["error"]["message"]


def test_only_the_listed_approvers_may_decide(embedded: object, store: Store, editor: APIClient,
                                              tenant: Tenant) -> None:
    store(expense(approvers='["alice", "key:finance"]'))
    waiting = start_waiting(editor)
    refused = signal(editor, waiting["id"], node_id="approve", decision="approved")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_an_approver"
    assert steps(editor.get(f"/api/v1/executions/{waiting['id']}").json())["approve"]["status"] == "waiting"
    _, raw = make_key(tenant, Role.EDITOR, name="finance")
    finance = APIClient()
    finance.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    accepted = signal(finance, waiting["id"], node_id="approve", decision="rejected", comment="no")
    assert accepted.status_code == 200, accepted.json()
    assert steps(accepted.json())["approve"]["output"]["by"] == "key:finance"


def test_two_decisions_at_once_take_exactly_one(embedded: object, store: Store, editor: APIClient) -> None:
    import threading

    from django.db import connections

    store(expense())
    waiting = start_waiting(editor)
    answers: list[int] = []

    def decide(decision: str) -> None:
        try:
            answers.append(signal(editor, waiting["id"], node_id="approve", decision=decision).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(decision,)) for decision in ("approved", "rejected") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409, 409, 409, 409, 409]
    assert NodeRun.objects.get(execution_id=waiting["id"], node_id="approve").status == "succeeded"


def test_the_sweep_times_out_a_wait_whose_timer_was_lost(transactional_db: None, store: Store,
                                                         editor: APIClient) -> None:
    """No dispatcher runs the timer here (it is dropped, as when its process dies)."""
    from executions.dispatch import use_dispatcher

    class Dropping:
        name = "dropping"

        def dispatch_all(self, works: Any) -> None:
            pass

    use_dispatcher(Dropping())
    try:
        store(expense(timeout="1h"))
        started = editor.post("/api/v1/executions", {"workflow": "expense", "input": {"amount": 1}}, format="json")
        execution_id = started.json()["id"]
        assert steps(started.json())["approve"]["status"] == "waiting"
        assert runner.sweep_expired_leases() == 0
        NodeRun.objects.filter(execution_id=execution_id, node_id="approve").update(
            lease_until=Execution.objects.get(pk=execution_id).created_at)
        assert runner.sweep_expired_leases() == 1
        done = editor.get(f"/api/v1/executions/{execution_id}").json()
        assert steps(done)["approve"]["status"] == "timed_out"
        assert done["status"] == "succeeded"
        assert steps(done)["escalate"]["status"] == "succeeded"
    finally:
        use_dispatcher(None)


@pytest.mark.parametrize("timeout", ["soon", "-5s"])
def test_a_bad_timeout_is_a_validation_error(editor: APIClient, timeout: str) -> None:
    response = editor.post("/api/v1/workflows/validate", {"yaml": expense(timeout=timeout)}, format="json")
    body = response.json()
    assert body["valid"] is False, body
    assert any(error.get("node_id") == "approve" for error in body["errors"]), body
