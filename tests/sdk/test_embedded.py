"""mbflow.embedded.run: a workflow in a process of its own, with no server, database file or
broker, on the same engine and executors, answering the same Execution shape as the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mbflow
import mbflow.embedded
from mbflow import Client
from tests.executions.servers import LocalServer
from tests.sdk.conftest import hello
from tests.server_process import ServerProcess
from tests.workflows.api.documents import CYCLE, magic_flow_user_onboarding

ROOT = Path(__file__).resolve().parents[2]

BRANCHES = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: branches}
spec:
  input_schema: {type: object, required: [n], properties: {n: {type: integer}}}
  nodes:
    - {id: start, type: transform, config: {mapping: {n: "{{ input.n }}"}}}
    - {id: call, type: http, config: {method: POST, url: "URL/echo", json: {n: "{{ nodes.start.output.n }}"}}}
    - {id: wait, type: delay, config: {duration: 200ms}}
    - {id: double, type: transform, config: {mapping: {m: "{{ nodes.start.output.n * 2 }}"}}}
    - id: join
      type: transform
      config:
        mapping:
          echoed: "{{ nodes.call.output.body.body.n }}"
          doubled: "{{ nodes.double.output.m }}"
  edges:
    - {from: start, to: call}
    - {from: start, to: wait}
    - {from: wait, to: double}
    - {from: call, to: join}
    - {from: double, to: join}
  output: "{{ nodes.join.output }}"
"""

SCRIPT = """\
import json, sys
import mbflow, mbflow.embedded
document, data = sys.argv[1], json.loads(sys.argv[2])
seen = []
try:
    execution = mbflow.embedded.run(document, data, timeout=60, on_event=seen.append)
except mbflow.ApiError as exc:
    print(json.dumps({"raised": type(exc).__name__, "code": exc.code, "errors": exc.errors}))
else:
    with open("events.json", "w") as events:
        json.dump([event.model_dump(mode="json") for event in seen], events)
    print(json.dumps(execution.model_dump(mode="json")))
"""


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


def run_alone(folder: Path, document: str, data: Any, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Runs SCRIPT in a fresh process in ``folder``: no DJANGO_SETTINGS_MODULE, the tests'
    environment otherwise (which names PostgreSQL and Redis: embedded mode ignores them) less
    the variables named in ``without``."""
    (folder / "run.py").write_text(SCRIPT)
    (folder / "workflow.yaml").write_text(document)
    environment = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", *without)}
    environment.update({"PYTHONPATH": str(ROOT), "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1"})
    done = subprocess.run([sys.executable, "run.py", "workflow.yaml", json.dumps(data)], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and " ERROR " not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_workflow_runs_in_process_with_parallel_branches_http_and_a_delay(
        tmp_path: Path, http_server: LocalServer) -> None:
    before = set(ROOT.glob("*.sqlite3*"))
    execution = run_alone(tmp_path, BRANCHES.replace("URL", http_server.url), {"n": 21})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == {"echoed": 21, "doubled": 42}
    steps = {step["node_id"]: step["status"] for step in execution["steps"]}
    assert steps == {"start": "succeeded", "call": "succeeded", "wait": "succeeded", "double": "succeeded",
                     "join": "succeeded"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.json", "run.py", "workflow.yaml"]  # no database
    assert set(ROOT.glob("*.sqlite3*")) == before
    # on_event saw the run's log as it was written, every event once, in order.
    events = json.loads((tmp_path / "events.json").read_text())
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "execution.created" and events[-1]["type"] == "execution.succeeded"
    assert {"node.scheduled", "node.started"} <= {event["type"] for event in events if event["node_id"] == "wait"}


def test_its_answer_has_the_shape_of_the_servers(tmp_path: Path, server: ServerProcess) -> None:
    document = hello("shape")
    embedded = run_alone(tmp_path, document, {"name": "Ada"},
                         without=("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"))
    with Client(server.url, server.key) as client:
        remote = client.executions.start_adhoc(document, {"name": "Ada"}, wait=30)
    assert set(embedded) == set(remote.model_dump(mode="json"))
    assert embedded["status"] == remote.status == "succeeded"
    assert embedded["output"] == remote.output == {"greeting": "Hello Ada"}
    assert [(s["node_id"], s["status"]) for s in embedded["steps"]] == [(s.node_id, s.status) for s in remote.steps]


def test_a_failing_run_and_an_invalid_document(tmp_path: Path) -> None:
    failing = ("apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: boom}\nspec:\n  nodes:\n"
               "    - {id: boom, type: fail, config: {message: Boom}}\n")
    execution = run_alone(tmp_path, failing, {})
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "boom" and execution["error"]["error"]["message"] == "Boom"
    refused = run_alone(tmp_path, CYCLE, {})
    assert refused["raised"] == "InvalidWorkflow" and any(e["code"] == "cycle" and e["line"] for e in refused["errors"])
    bad_input = run_alone(tmp_path, BRANCHES, {"n": "x"})
    assert bad_input["raised"] == "ValidationError" and bad_input["code"] == "invalid_input"


WORKER_SCRIPT = """\
import json
import mbflow, mbflow.embedded

worker = mbflow.Worker(executor="user-service")

@worker.function("validateUserData")
def validate(data: dict) -> dict:
    return {"valid": True, "errors": []}

@worker.function("createUserAccount", executor="account-service")
def create(data: dict) -> dict:
    return {"user_id": "u-" + data["name"].lower(), "status": "created"}

@worker.function("verifyUser", executor="verification-service")
def verify(data: dict) -> dict:
    raise mbflow.PermanentError("no verification here", code="unsupported")

@worker.function("sendWelcomeEmail", executor="notification-service")
def welcome(data: dict) -> dict:
    return {"sent": True, "user_id": data["user_id"]}

execution = mbflow.embedded.run("workflow.yaml", {"email": "ada@example.com", "name": "Ada", "preferences": {}},
                                worker=worker, timeout=60)
print(json.dumps(execution.model_dump(mode="json")))
"""


def test_a_worker_serves_function_steps_in_process(tmp_path: Path) -> None:
    """GIVEN the Magic Flow seed as written and a Worker whose verifyUser fails permanently
    WHEN it runs embedded THEN the steps are served in process, the failure goes to the
    placeholder fallback the seed names but never defines (which fails too), and the step's
    `always` edge still sends the welcome email."""
    (tmp_path / "workflow.yaml").write_text(magic_flow_user_onboarding())
    (tmp_path / "run.py").write_text(WORKER_SCRIPT)
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, env={**environment, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout.strip().splitlines()[-1])
    steps = {step["node_id"]: step for step in execution["steps"]}
    assert steps["validate-user"]["output"] == {"validation_result": True, "validation_errors": []}
    assert steps["create-account"]["output"] == {"user_id": "u-ada", "status": "created"}
    assert steps["external-verification"]["attempt"] == 1  # permanent: not retried
    assert steps["external-verification"]["error"]["code"] == "unsupported"
    assert steps["external-verification"]["status"] == "failed"
    assert "not defined" in steps["external-verification"]["error"]["fallback_error"]["message"]
    assert steps["skip-verification"]["status"] == "failed"  # the placeholder
    assert steps["send-welcome-email"]["output"] == {"sent": True, "user_id": "u-ada"}
    assert execution["status"] == "succeeded"  # the failure was handled by its edge


def test_a_process_that_has_django_settings_already_is_told_to_use_its_own() -> None:
    with pytest.raises(mbflow.MBFlowError, match="process of its own"):
        mbflow.embedded.run(BRANCHES, {"n": 1})


def test_validate_convert_and_canonical_need_no_django_setup() -> None:
    report = mbflow.embedded.validate(CYCLE)
    assert not report.valid and report.errors[0].line
    native = mbflow.embedded.convert(magic_flow_user_onboarding())
    assert native.startswith("apiVersion: mbflow/v1")
    assert mbflow.embedded.canonical(native) == native
