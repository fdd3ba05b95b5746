"""The execute answer: what a client needs by default, ``?include=steps,io`` for the rest."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.executions.conftest import Store
from tests.executions.test_engine_basics import CHAIN

EXECUTE = "/api/v1/workflows/chain/execute"


def test_the_execute_answer_carries_status_output_and_counts_without_the_steps(embedded: object, store: Store,
                                                                              editor: APIClient) -> None:
    store(CHAIN)
    body = editor.post(EXECUTE, {"input": {"n": 1}, "wait": 10}, format="json").json()
    assert body["status"] == "succeeded" and body["output"] is not None and body["error"] is None
    assert body["completed_steps"] == body["total_steps"] > 0
    assert {"id", "execution_id", "tracking_url", "workflow", "version", "started_at", "finished_at"} <= set(body)
    assert "steps" not in body and "input" not in body
    # The whole detail, as GET /executions/{id} has it, is one call away.
    detail = editor.get(f"/api/v1/executions/{body['id']}").json()
    assert detail["output"] == body["output"] and len(detail["steps"]) == body["total_steps"]


def test_include_adds_the_steps_and_their_inputs_and_outputs(embedded: object, store: Store,
                                                             editor: APIClient) -> None:
    store(CHAIN)
    steps_only = editor.post(EXECUTE + "?include=steps", {"input": {"n": 1}, "wait": 10}, format="json").json()
    assert steps_only["status"] == "succeeded" and "input" not in steps_only
    assert [set(step) for step in steps_only["steps"]] == [
        {"node_id", "status", "attempt", "error", "started_at", "finished_at", "scheduled_at", "reused_from"}
    ] * steps_only["total_steps"]
    full = editor.post(EXECUTE + "?include=steps,io", {"input": {"n": 2}, "wait": 10}, format="json").json()
    detail = editor.get(f"/api/v1/executions/{full['id']}").json()
    assert full["input"] == {"n": 2} and full["steps"] == detail["steps"]
    assert editor.post(EXECUTE + "?include=all", {"input": {"n": 2}, "wait": 10},
                       format="json").json()["steps"][0]["output"] is not None
    io_only = editor.post(EXECUTE + "?include=io", {"input": {"n": 3}, "wait": 10}, format="json").json()
    assert io_only["input"] == {"n": 3} and "steps" not in io_only


def test_a_start_without_wait_counts_the_steps_done_so_far(embedded: object, store: Store,
                                                            editor: APIClient) -> None:
    store(CHAIN)
    started = editor.post(EXECUTE, {"input": {"n": 1}}, format="json")
    assert started.status_code == 201 and isinstance(started.json()["completed_steps"], int)


@pytest.mark.parametrize("include", ["nodes", "steps,events", "io,"])
def test_an_unknown_include_is_a_400_naming_it(embedded: object, store: Store, editor: APIClient,
                                               include: str) -> None:
    store(CHAIN)
    response = editor.post(f"{EXECUTE}?include={include}", {"input": {"n": 1}}, format="json")
    if include == "io,":
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert "include" in response.json()["error"]["details"]["fields"]


def test_post_executions_keeps_the_whole_detail_and_takes_include_too(embedded: object, store: Store,
                                                                       editor: APIClient) -> None:
    store(CHAIN)
    whole = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}, "wait": 10},
                        format="json").json()
    assert whole["input"] == {"n": 1} and whole["steps"][0]["output"] is not None
    slim = editor.post("/api/v1/executions?include=", {"workflow": "chain", "input": {"n": 1}, "wait": 10},
                       format="json").json()
    assert slim["status"] == "succeeded" and "steps" not in slim and "input" not in slim
