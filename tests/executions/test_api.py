"""The executions API: start, wait, list, detail, events, results, re-run, ad hoc, isolation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.executions.conftest import Run, Store, doc
from tests.executions.test_engine_basics import CHAIN

SCHEMA = doc("signup", """
  input_schema:
    type: object
    required: [email]
    properties:
      email: {type: string}
      age: {type: integer, minimum: 0}
  nodes:
    - {id: hello, type: transform, config: {mapping: {to: "{{ input.email }}"}}}
  output: "{{ nodes.hello.output }}"
""")


def test_start_without_wait_answers_201_and_with_wait_200(embedded: object, store: Store, editor: APIClient
                                                          ) -> None:
    workflow = store(CHAIN)
    created = editor.post(f"/api/v1/workflows/{workflow['id']}/execute", {"input": {"n": 1}}, format="json")
    assert created.status_code == 201
    waited = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 2}, "wait": 5}, format="json")
    assert waited.status_code == 200
    body = waited.json()
    assert body["status"] == "succeeded"
    assert body["workflow"] == {"id": workflow["id"], "name": "chain"}
    assert body["version"] == 1
    assert set(body["steps"][0]) >= {"node_id", "status", "attempt", "input", "output", "error", "started_at",
                                     "finished_at"}


def test_the_list_loads_what_it_shows_in_the_same_queries_for_any_length(embedded: object, store: Store,
                                                                         editor: APIClient) -> None:
    """The list and the detail load only the fields they show: one left out would cost a query
    per execution (a deferred field loads on first use)."""
    store(CHAIN)

    def listed() -> tuple[int, dict[str, Any]]:
        with CaptureQueriesContext(connection) as queries:
            response = editor.get("/api/v1/executions")
        return len(queries.captured_queries), response.json()

    editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}, "wait": 5}, format="json")
    queries_for_one, _ = listed()
    for n in range(3):
        editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": n}, "wait": 5}, format="json")
    queries_for_four, page = listed()
    assert queries_for_four == queries_for_one
    assert page["count"] == 4
    summary = page["results"][0]
    assert summary["workflow"]["name"] == "chain" and summary["version"] == 1
    with CaptureQueriesContext(connection) as queries:
        detail = editor.get(f"/api/v1/executions/{summary['id']}").json()
    assert len(queries.captured_queries) <= 3  # the execution, its steps (and the key on a cold cache)
    assert {name: detail[name] for name in summary} == summary
    assert detail["input"] == {"n": 2} and detail["output"] is not None


def test_invalid_input_is_refused_before_anything_runs(embedded: object, store: Store, editor: APIClient) -> None:
    store(SCHEMA)
    response = editor.post("/api/v1/executions", {"workflow": "signup", "input": {"email": "a@b.c", "age": -1}},
                           format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["path"] == "/age"
    missing = editor.post("/api/v1/executions", {"workflow": "signup", "input": {}}, format="json")
    assert missing.json()["error"]["details"]["path"] == "/"
    list_response = editor.get("/api/v1/executions")
    assert list_response.json()["count"] == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"workflow": "chain", "version": "abc"}, "version"),
    ({"workflow": "chain", "version": 0}, "version"),
    ({"workflow": "chain", "version": True}, "version"),
    ({"workflow": "chain", "version": 1.5}, "version"),
    ({"workflow": "chain", "wait": -1}, "wait"),
    ({"workflow": "chain", "wait": "soon"}, "wait"),
    ({"workflow": "chain", "idempotency_key": "k" * 201}, "idempotency_key"),
    ({"workflow": ["chain"]}, "workflow"),
    ({"input": {"n": 1}}, "workflow"),
    ([{"workflow": "chain"}], "non_field_errors"),
    ("chain", "non_field_errors"),
])
def test_a_malformed_start_names_the_field_and_starts_nothing(body: Any, field: str, embedded: object, store: Store,
                                                               editor: APIClient) -> None:
    store(CHAIN)
    response = editor.post("/api/v1/executions", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]["fields"]) == [field]
    assert all(isinstance(message, str) and message for message in error["details"]["fields"][field])
    assert editor.get("/api/v1/executions").json()["count"] == 0


def test_a_start_takes_numbers_as_text_and_the_wait_from_the_query(embedded: object, store: Store,
                                                                 editor: APIClient) -> None:
    store(CHAIN)
    response = editor.post("/api/v1/workflows/chain/execute?wait=5",
                           {"input": {"n": 1}, "version": "1", "idempotency_key": 7}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    assert response.json()["idempotency_key"] == "7" and response.json()["version"] == 1
    bad_wait = editor.post("/api/v1/workflows/chain/execute?wait=soon", {"input": {"n": 1}}, format="json")
    assert bad_wait.status_code == 400 and "wait" in bad_wait.json()["error"]["details"]["fields"]


def test_the_idempotency_key_returns_the_first_execution(embedded: object, store: Store, editor: APIClient) -> None:
    store(CHAIN)
    first = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}, "idempotency_key": "k1"},
                        format="json")
    second = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 9}, "idempotency_key": "k1"},
                         format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_a_start_that_loses_the_idempotency_race_returns_the_winner(
    embedded: object, store: Store, editor: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from executions.services import executions as service

    store(CHAIN)
    first = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}, "idempotency_key": "k2"},
                        format="json").json()
    # Both starts passed the look-up before either was stored: the second's insert hits the unique key.
    monkeypatch.setattr(service, "_existing", lambda tenant, key: None)
    second = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 9}, "idempotency_key": "k2"},
                         format="json")
    assert second.status_code == 200, second.json()
    assert second.json()["id"] == first["id"]
    assert editor.get("/api/v1/executions").json()["count"] == 1


def test_list_filters_and_pages(embedded: object, store: Store, run: Run, editor: APIClient) -> None:
    store(CHAIN)
    store(doc("broken", "  nodes:\n    - {id: x, type: fail}\n"))
    for n in range(3):
        run("chain", {"n": n})
    run("broken")
    everything = editor.get("/api/v1/executions?page_size=2").json()
    assert everything["count"] == 4
    assert len(everything["results"]) == 2
    assert everything["next"]
    assert editor.get("/api/v1/executions?status=failed").json()["count"] == 1
    assert editor.get("/api/v1/executions?workflow=chain").json()["count"] == 3
    future = "2999-01-01T00:00:00Z"
    assert editor.get(f"/api/v1/executions?created_after={future}").json()["count"] == 0
    assert editor.get(f"/api/v1/executions?created_before={future}").json()["count"] == 4


def test_events_are_paged_in_seq_order_after_a_seq(embedded: object, store: Store, run: Run, editor: APIClient
                                                   ) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    events = editor.get(f"/api/v1/executions/{execution['id']}/events").json()
    types = [e["type"] for e in events["results"]]
    assert types[:2] == ["execution.created", "execution.started"]
    assert types[-1] == "execution.succeeded"
    assert [e["seq"] for e in events["results"]] == list(range(1, events["count"] + 1))
    later = editor.get(f"/api/v1/executions/{execution['id']}/events?after_seq=3").json()
    assert later["results"][0]["seq"] == 4
    assert set(later["results"][0]) == {"seq", "type", "node_id", "payload", "time"}


def test_results_and_rerun(embedded: object, store: Store, run: Run, editor: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    results = editor.get(f"/api/v1/executions/{execution['id']}/results").json()
    assert results["output"]["result"] == 5
    assert results["nodes"]["a"]["output"] == {"n": 2}
    rerun = editor.post(f"/api/v1/executions/{execution['id']}/rerun", {"wait": 5}, format="json")
    assert rerun.status_code == 200
    assert rerun.json()["id"] != execution["id"]
    assert rerun.json()["input"] == {"n": 1}
    assert rerun.json()["output"] == execution["output"]


def test_adhoc_documents_run_without_being_stored(embedded: object, editor: APIClient, viewer: APIClient) -> None:
    body = {"yaml": CHAIN, "input": {"n": 10}, "wait": 5}
    response = editor.post("/api/v1/executions/adhoc", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["output"]["result"] == 23
    assert response.json()["workflow"] is None
    assert editor.get("/api/v1/workflows").json()["count"] == 0
    assert viewer.post("/api/v1/executions/adhoc", body, format="json").status_code == 403
    invalid = editor.post("/api/v1/executions/adhoc", {"yaml": "apiVersion: mbflow/v1\nkind: Workflow\n"},
                          format="json")
    assert invalid.status_code == 400
    for field, value in (("idempotency_key", "k" * 300), ("idempotency_key", ["a"]), ("wait", "soon"),
                         ("wait", -1)):
        refused = editor.post("/api/v1/executions/adhoc", {**body, field: value}, format="json")
        assert refused.status_code == 400, (field, value, refused.json())
        assert field in refused.json()["error"]["details"]["fields"], refused.json()
    keyed = {**body, "idempotency_key": "adhoc-1"}
    first = editor.post("/api/v1/executions/adhoc", keyed, format="json").json()
    assert editor.post("/api/v1/executions/adhoc", keyed, format="json").json()["id"] == first["id"]


def test_viewers_read_and_editors_execute(embedded: object, store: Store, run: Run, viewer: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    assert viewer.get(f"/api/v1/executions/{execution['id']}").status_code == 200
    assert viewer.post("/api/v1/executions", {"workflow": "chain"}, format="json").status_code == 403
    assert viewer.post(f"/api/v1/executions/{execution['id']}/cancel").status_code == 403


def test_another_tenant_sees_nothing(embedded: object, store: Store, run: Run, outsider: APIClient) -> None:
    workflow = store(CHAIN)
    execution = run("chain", {"n": 1})
    for path in ("", "/results", "/events", "/stream"):
        assert outsider.get(f"/api/v1/executions/{execution['id']}{path}").status_code == 404
    assert outsider.post(f"/api/v1/executions/{execution['id']}/cancel").status_code == 404
    assert outsider.post(f"/api/v1/executions/{execution['id']}/rerun").status_code == 404
    assert outsider.post(f"/api/v1/workflows/{workflow['id']}/execute", {}, format="json").status_code == 404
    assert outsider.post("/api/v1/executions", {"workflow": "chain"}, format="json").status_code == 404
    assert outsider.get("/api/v1/executions").json()["count"] == 0


def test_unauthenticated_calls_are_refused(db: None) -> None:
    assert APIClient().get("/api/v1/executions").status_code == 401


def test_the_sse_stream_carries_the_log(embedded: object, store: Store, run: Run, editor: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    response = editor.get(f"/api/v1/executions/{execution['id']}/stream?after_seq=2")
    assert response["Content-Type"] == "text/event-stream"
    started = time.monotonic()
    text = b"".join(response).decode()  # the test client collects the async stream
    assert time.monotonic() - started < 5
    assert "id: 3\n" in text
    assert "id: 2\n" not in text
    assert "event: execution.succeeded" in text
    assert text.rstrip().endswith("event: end\ndata: {}")


def test_deleting_a_workflow_deletes_its_executions(embedded: object, store: Store, run: Run, editor: APIClient
                                                    ) -> None:
    workflow = store(CHAIN)
    execution = run("chain", {"n": 1})
    assert editor.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204
    assert editor.get(f"/api/v1/executions/{execution['id']}").status_code == 404
