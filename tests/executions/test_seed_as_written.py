"""The Magic Flow seed's `workflow.yaml` taken as it is: the three steps it names but never
defines are placeholder `fail` nodes; it imports, its steps are done by a worker polling the
function-task API, and a run fails only when it reaches a placeholder, with the placeholder's
message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from tests.executions.conftest import steps
from tests.executions.test_functions import Worker
from tests.executions.test_seed_example import MISSING, Services
from tests.workflows.api.documents import magic_flow_user_onboarding


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


def _import_as_written(editor: APIClient) -> dict:
    response = editor.post("/api/v1/workflows/import", magic_flow_user_onboarding(), content_type="application/yaml")
    assert response.status_code == 201, response.json()
    body = response.json()
    nodes = {n["id"]: n for n in body["spec"]["spec"]["nodes"]}
    for name in MISSING:
        assert nodes[name]["type"] == "fail"
        assert nodes[name]["config"] == {"message": f"Step `{name}` is not defined in the imported file"}
    return body


def test_the_seed_as_written_runs_a_valid_user_through(dispatcher: str, editor: APIClient, services: Services,
                                                        worker: Worker) -> None:
    workflow = _import_as_written(editor)
    response = editor.post("/api/v1/executions", {
        "workflow": workflow["name"], "wait": 30,
        "input": {"email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}},
    }, format="json")
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    status = {node: step["status"] for node, step in steps(execution).items()}
    assert status == {
        "validate-user": "succeeded", "external-verification": "succeeded", "create-account": "succeeded",
        "send-welcome-email": "succeeded", "validate-user-error": "skipped", "cleanup-partial-data": "skipped",
        # The placeholders: an on_failure target and two fallbacks, none of them reached.
        "notify-validation-error": "skipped", "create-guest-account": "skipped", "skip-verification": "skipped",
    }
    assert sorted(services.paths()) == sorted([
        "/user-service/validateUserData", "/account-service/createUserAccount",
        "/verification-service/verifyUser", "/notification-service/sendWelcomeEmail"])


def test_a_run_that_reaches_a_placeholder_fails_with_its_message(dispatcher: str, editor: APIClient,
                                                                  services: Services, worker: Worker) -> None:
    """GIVEN the seed as written and a user service that keeps failing WHEN validate-user has used
    its retries THEN its on_failure step, a placeholder, runs and fails the execution saying the
    step is not defined."""
    workflow = _import_as_written(editor)
    services.down.add("/user-service/validateUserData")
    response = editor.post("/api/v1/executions", {
        "workflow": workflow["name"], "wait": 60,
        "input": {"email": "bo@example.com", "name": "Bo", "preferences": {}},
    }, format="json")
    execution = response.json()
    assert execution["status"] == "failed", execution
    assert execution["error"]["node_id"] == "notify-validation-error"
    message = execution["error"]["error"]["message"]
    assert message == "Step `notify-validation-error` is not defined in the imported file"
    by_node = steps(execution)
    assert by_node["validate-user"]["status"] == "failed"
    assert by_node["validate-user"]["attempt"] == 3  # its retry_config, used up before the failure edge
    assert by_node["notify-validation-error"]["status"] == "failed"
    assert by_node["create-account"]["status"] == "skipped"
    assert services.paths().count("/user-service/validateUserData") == 3
