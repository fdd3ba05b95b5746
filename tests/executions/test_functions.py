"""Function nodes: tasks for the user's own worker, which polls ``/function-tasks/poll`` and
reports to ``/function-tasks/{id}/complete``. The Magic Flow seed runs as imported, its steps
answered by a worker thread speaking that API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.executions.conftest import Store, doc, steps
from tests.executions.test_seed_example import Services, seed_with_supplied_steps

EXECUTORS = ("user-service", "account-service", "verification-service", "notification-service")

ONE_STEP = doc("one-step", """
  nodes:
    - id: charge
      type: function
      timeout: TIMEOUT
      config:
        executor: billing
        function: charge
        input: {amount: "{{ input.amount }}"}
        output: {receipt: "{{ response.id }}"}
    - {id: after, type: transform, config: {mapping: {receipt: "{{ nodes.charge.output.receipt }}"}}}
  edges:
    - {from: charge, to: after}
  output: "{{ nodes.after.output }}"
""")


def one_step(timeout: str = "1h") -> str:
    return ONE_STEP.replace("TIMEOUT", timeout)


class Worker:
    """The user's worker: polls for the tasks of ``executors`` and answers them like the seed's
    services (``Services.answer``); a path in ``services.down`` reports a retryable failure."""

    def __init__(self, client: APIClient, services: Services, executors: tuple[str, ...] = EXECUTORS) -> None:
        self.client, self.services, self.executors = client, services, executors
        self.tasks: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                for executor in self.executors:
                    taken = self.client.post("/api/v1/function-tasks/poll", {"executor": executor, "wait": 0},
                                             format="json")
                    if taken.status_code == 200:
                        self._answer(taken.json())
                time.sleep(0.02)
        finally:
            connections.close_all()

    def _answer(self, task: dict[str, Any]) -> None:
        self.tasks.append(task)
        path = f"/{task['executor']}/{task['function']}"
        response = self.services.answer(path, task["input"])
        body: dict[str, Any] = {"output": response}
        if path in self.services.down:
            body = {"error": {"message": f"{path} is unavailable", "code": "unavailable", "retryable": True}}
        done = self.client.post(f"/api/v1/function-tasks/{task['id']}/complete", body, format="json")
        assert done.status_code == 200, done.json()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def services() -> Iterator[Services]:
    server = Services()
    yield server
    server.close()


@pytest.fixture
def worker(editor: APIClient, services: Services) -> Iterator[Worker]:
    running = Worker(editor, services)
    yield running
    running.close()


def test_the_seed_runs_as_imported_with_its_steps_done_by_a_polling_worker(
        dispatcher: str, editor: APIClient, services: Services, worker: Worker) -> None:
    imported = editor.post("/api/v1/workflows/import", seed_with_supplied_steps(), content_type="application/yaml")
    assert imported.status_code == 201, imported.json()
    response = editor.post("/api/v1/executions", {
        "workflow": imported.json()["name"], "wait": 30,
        "input": {"email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}},
    }, format="json")
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    status = {node: step["status"] for node, step in steps(execution).items()}
    assert status == {
        "validate-user": "succeeded", "external-verification": "succeeded", "create-account": "succeeded",
        "send-welcome-email": "succeeded", "notify-validation-error": "skipped", "validate-user-error": "skipped",
        "cleanup-partial-data": "skipped", "create-guest-account": "skipped", "skip-verification": "skipped",
    }
    assert sorted(services.paths()) == sorted([
        "/user-service/validateUserData", "/account-service/createUserAccount",
        "/verification-service/verifyUser", "/notification-service/sendWelcomeEmail"])
    calls = dict(services.calls)
    # The steps' data_mapping input reached the worker; their output mapping fed the next steps.
    assert calls["/user-service/validateUserData"] == {
        "user_data": {"email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}}}
    assert calls["/notification-service/sendWelcomeEmail"] == {
        "user_id": "u-ada", "email": "ada@example.com", "name": "Ada"}
    assert steps(execution)["validate-user"]["output"] == {"validation_result": True, "validation_errors": []}
    task = next(t for t in worker.tasks if t["function"] == "validateUserData")
    assert task["execution_id"] == execution["id"]
    assert task["node_id"] == "validate-user"
    assert task["attempt"] == 1


def test_a_failed_task_is_retried_then_the_fallback_runs(dispatcher: str, editor: APIClient, services: Services,
                                                        worker: Worker) -> None:
    imported = editor.post("/api/v1/workflows/import", seed_with_supplied_steps(), content_type="application/yaml")
    services.down.add("/verification-service/verifyUser")
    response = editor.post("/api/v1/executions", {
        "workflow": imported.json()["name"], "wait": 60,
        "input": {"email": "cy@example.com", "name": "Cy", "preferences": {}},
    }, format="json")
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    status = {node: step["status"] for node, step in steps(execution).items()}
    # Its three attempts failed; its fallback stood in for it, so it ends succeeded.
    assert status["external-verification"] == "succeeded"
    assert steps(execution)["external-verification"]["attempt"] == 3
    assert steps(execution)["external-verification"]["error"]["code"] == "unavailable"
    assert steps(execution)["external-verification"]["error"]["replaced_by"] == "skip-verification"
    assert status["skip-verification"] == "succeeded"
    assert services.paths().count("/verification-service/verifyUser") == 3
    assert sorted(t["attempt"] for t in worker.tasks if t["function"] == "verifyUser") == [1, 2, 3]


def test_a_task_is_taken_once_and_answered_once(embedded: object, store: Store, editor: APIClient,
                                               outsider: APIClient, viewer: APIClient) -> None:
    store(one_step())
    started = editor.post("/api/v1/executions", {"workflow": "one-step", "input": {"amount": 12}}, format="json")
    execution_id = started.json()["id"]
    assert steps(started.json())["charge"]["status"] == "waiting"

    assert outsider.post("/api/v1/function-tasks/poll", {"executor": "billing"}, format="json").status_code == 204
    assert viewer.post("/api/v1/function-tasks/poll", {"executor": "billing"}, format="json").status_code == 403
    assert editor.post("/api/v1/function-tasks/poll", {"executor": "other"}, format="json").status_code == 204
    answers: list[Any] = []

    def poll() -> None:
        try:
            answers.append(editor.post("/api/v1/function-tasks/poll", {"executor": "billing", "wait": 0.5},
                                       format="json"))
        finally:
            connections.close_all()

    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join()
    taken = [answer.json() for answer in answers if answer.status_code == 200]
    assert sorted(answer.status_code for answer in answers) == [200, 204, 204, 204]
    task = taken[0]
    assert task == {"id": f"{execution_id}:1:charge", "execution_id": execution_id, "node_id": "charge",
                    "attempt": 1, "executor": "billing", "function": "charge", "input": {"amount": 12}}

    url = f"/api/v1/function-tasks/{task['id']}/complete"
    assert outsider.post(url, {"output": {"id": "r-1"}}, format="json").status_code == 404
    bad = editor.post(url, {"error": {"code": "x"}}, format="json")
    assert bad.status_code == 400 and "error" in bad.json()["error"]["details"]["fields"]
    bad = editor.post(url, {"output": 1, "extra": True}, format="json")
    assert bad.status_code == 400 and "extra" in bad.json()["error"]["details"]["fields"]
    for unknown in ("nope", f"{execution_id}:1:after", f"{execution_id}:x:charge"):
        assert editor.post(f"/api/v1/function-tasks/{unknown}/complete", {"output": 1},
                           format="json").status_code == 404
    assert steps(editor.get(f"/api/v1/executions/{execution_id}").json())["charge"]["status"] == "waiting"

    done = editor.post(url, {"output": {"id": "r-1"}}, format="json")
    assert done.status_code == 200, done.json()
    execution = editor.get(f"/api/v1/executions/{execution_id}").json()
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"receipt": "r-1"}
    again = editor.post(url, {"output": {"id": "r-2"}}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_waiting"


@pytest.mark.parametrize("body, field", [({}, "executor"), ({"executor": ""}, "executor"),
                                         ({"executor": "billing", "wait": 60}, "wait"),
                                         ({"executor": "billing", "functions": "charge"}, "functions")])
def test_a_bad_poll_names_its_field(editor: APIClient, body: dict[str, Any], field: str) -> None:
    response = editor.post("/api/v1/function-tasks/poll", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_a_task_nobody_answers_times_out(dispatcher: str, store: Store, editor: APIClient) -> None:
    store(one_step(timeout="300ms"))
    started = editor.post("/api/v1/executions", {"workflow": "one-step", "input": {"amount": 1}, "wait": 20},
                          format="json")
    execution = started.json()
    assert execution["status"] == "failed", execution
    assert steps(execution)["charge"]["status"] == "timed_out"
    late = editor.post(f"/api/v1/function-tasks/{execution['id']}:1:charge/complete", {"output": {}}, format="json")
    assert late.status_code == 409


def test_a_secret_in_a_task_input_never_reaches_the_worker(embedded: object, store: Store, editor: APIClient,
                                                          admin_client: APIClient) -> None:
    assert admin_client.post("/api/v1/secrets", {"name": "CARD_KEY", "value": "k-12345"},
                             format="json").status_code == 201
    store(one_step().replace('input: {amount: "{{ input.amount }}"}',
                             'input: {amount: "{{ input.amount }}", key: "{{ secrets.CARD_KEY }}"}'))
    editor.post("/api/v1/executions", {"workflow": "one-step", "input": {"amount": 2}}, format="json")
    taken = editor.post("/api/v1/function-tasks/poll", {"executor": "billing"}, format="json")
    assert taken.status_code == 200
    assert taken.json()["input"] == {"amount": 2, "key": "[secret]"}
    assert "k-12345" not in taken.content.decode()
