"""mbflow.Worker serving the Magic Flow seed's function steps end to end, against a live server
with its in-process dispatcher and with a real Celery worker: typed handlers, retryable and
permanent failures, and the CLI's `mbflow worker module:worker` stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import mbflow
from mbflow import Client, PermanentError, RetryableError, Worker
from mbflow.models import FunctionTask
from tests.executions.test_seed_example import seed_with_supplied_steps
from tests.sdk.conftest import ROOT
from tests.server_process import ServerProcess


class Preferences(BaseModel):
    newsletter: bool = False


class UserData(BaseModel):
    email: str
    name: str
    preferences: Preferences


class ValidationIn(BaseModel):
    user_data: UserData


class Validation(BaseModel):
    valid: bool
    errors: list[str]


class Account(BaseModel):
    user_id: str
    status: str


class Welcome(BaseModel):
    user_id: str
    email: str
    name: str


class Seed:
    """The seed's services as one worker: every function its steps call, with typed input."""

    def __init__(self, client: Client) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.verification_down = False
        self.reject_users = False
        self.lock = threading.Lock()
        self.worker = Worker(client, executor="user-service", concurrency=4, poll_wait=2)
        w = self.worker

        @w.function("validateUserData")
        def validate(data: ValidationIn, task: FunctionTask) -> Validation:
            self.record("validateUserData", data)
            if self.reject_users:
                raise PermanentError("The user service refuses this user", code="refused", details={"why": "test"})
            valid = "@" in data.user_data.email
            return Validation(valid=valid, errors=[] if valid else [f"{data.user_data.email!r} is not an address"])

        @w.function("createUserAccount", executor="account-service")
        def create(data: UserData) -> Account:
            self.record("createUserAccount", data)
            return Account(user_id="u-" + data.email.split("@")[0], status="created")

        @w.function("createGuestAccount", executor="account-service")
        def guest(data: dict[str, Any]) -> dict[str, Any]:
            self.record("createGuestAccount", data)
            return {"user_id": "guest", "status": "created"}

        @w.function("verifyUser", executor="verification-service")
        def verify(data: Any) -> dict[str, bool]:
            self.record("verifyUser", data)
            if self.verification_down:
                raise RetryableError("verification is down", code="unavailable")
            return {"verified": True}

        @w.function("skipVerification", executor="verification-service")
        def skip(data: Any) -> dict[str, bool]:
            self.record("skipVerification", data)
            return {"verified": False}

        @w.function("sendWelcomeEmail", executor="notification-service")
        async def welcome(data: Welcome) -> dict[str, Any]:
            self.record("sendWelcomeEmail", data)
            return {"sent": True, "to": data.email, "user_id": data.user_id}

        @w.function("notifyValidationError", executor="notification-service")
        def notify(data: dict[str, Any]) -> dict[str, bool]:
            self.record("notifyValidationError", data)
            return {"sent": True}

        @w.function("cleanup")
        def cleanup(data: Any) -> dict[str, bool]:
            self.record("cleanup", data)
            return {"cleaned": True}

        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()

    def record(self, name: str, data: Any) -> None:
        with self.lock:
            self.calls.append((name, data))

    def called(self) -> list[str]:
        with self.lock:
            return [name for name, _ in self.calls]

    def close(self) -> None:
        self.worker.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def seeded(any_server: ServerProcess) -> Iterator[tuple[Client, Seed]]:
    with Client(any_server.url, any_server.key) as client:
        try:
            client.workflows.import_(seed_with_supplied_steps())
        except mbflow.Conflict:  # imported by an earlier test on this server
            client.workflows.update("user-onboarding", seed_with_supplied_steps())
        seed = Seed(client)
        try:
            yield client, seed
        finally:
            seed.close()


def statuses(execution: mbflow.Execution) -> dict[str, str]:
    return {step.node_id: step.status for step in execution.steps}


def test_the_seed_runs_end_to_end_with_the_sdk_worker_serving_its_steps(seeded: tuple[Client, Seed]) -> None:
    client, seed = seeded
    execution = client.executions.start("user-onboarding", {
        "email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}}, wait=60)
    assert execution.status == "succeeded", execution.error
    assert statuses(execution) == {
        "validate-user": "succeeded", "external-verification": "succeeded", "create-account": "succeeded",
        "send-welcome-email": "succeeded", "notify-validation-error": "skipped", "validate-user-error": "skipped",
        "cleanup-partial-data": "skipped", "create-guest-account": "skipped", "skip-verification": "skipped",
    }
    assert sorted(seed.called()) == ["createUserAccount", "sendWelcomeEmail", "validateUserData", "verifyUser"]
    # Typed input: the task's JSON became the handler's model; the output went back as JSON.
    validated = next(data for name, data in seed.calls if name == "validateUserData")
    assert validated == ValidationIn(user_data=UserData(email="ada@example.com", name="Ada",
                                                        preferences=Preferences(newsletter=True)))
    assert execution.step("validate-user").output == {"validation_result": True, "validation_errors": []}
    assert execution.step("send-welcome-email").output == {"sent": True, "to": "ada@example.com", "user_id": "u-ada"}
    # The worker counts a task once the server has taken its result, which may be after the run
    # it finished has ended: waited for, not read at once.
    deadline = time.monotonic() + 30
    while seed.worker.completed < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seed.worker.completed >= 4


def test_the_seed_returns_its_validation_error(seeded: tuple[Client, Seed]) -> None:
    client, _seed = seeded
    execution = client.executions.start("user-onboarding", {"email": "nobody", "name": "Bo", "preferences": {}},
                                        wait=60)
    assert execution.status == "failed"
    assert execution.error["node_id"] == "validate-user-error"
    assert execution.error["error"]["details"] == ["'nobody' is not an address"]
    assert execution.step("create-account").status == "skipped"


def test_a_retryable_failure_is_retried_then_the_fallback_serves(seeded: tuple[Client, Seed]) -> None:
    client, seed = seeded
    seed.verification_down = True
    execution = client.executions.start("user-onboarding", {"email": "cy@example.com", "name": "Cy",
                                                            "preferences": {}}, wait=90)
    assert execution.status == "succeeded", execution.error
    verification = execution.step("external-verification")
    assert verification.attempt == 3 and verification.error["code"] == "unavailable"
    assert verification.error["replaced_by"] == "skip-verification"
    assert seed.called().count("verifyUser") == 3
    assert execution.step("skip-verification").status == "succeeded"


def test_a_permanent_failure_is_not_retried(seeded: tuple[Client, Seed]) -> None:
    client, seed = seeded
    seed.reject_users = True
    execution = client.executions.start("user-onboarding", {"email": "di@example.com", "name": "Di",
                                                            "preferences": {}}, wait=60)
    assert execution.finished
    validate = execution.step("validate-user")
    assert validate.status == "failed" and validate.attempt == 1
    assert validate.error["code"] == "refused" and validate.error["details"] == {"why": "test"}
    assert execution.step("notify-validation-error").status == "succeeded"  # its failure edge
    assert seed.called().count("validateUserData") == 1


WORKER_MODULE = '''\
import os, time
import mbflow

client = mbflow.Client()
worker = mbflow.Worker(client, executor="billing", poll_wait=1, shutdown_timeout=30)
started = os.environ["STARTED_FILE"]

@worker.function("charge")
def charge(data: dict) -> dict:
    open(started, "w").write("started")
    time.sleep(1.5)  # still running when SIGTERM comes: the worker finishes it
    return {"id": "r-" + str(data["amount"])}
'''

ONE_STEP = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME}
spec:
  nodes:
    - id: charge
      type: function
      timeout: 1m
      config:
        executor: billing
        function: charge
        input: {amount: "{{ input.amount }}"}
        output: {receipt: "{{ response.id }}"}
  output: "{{ nodes.charge.output }}"
"""


@pytest.mark.parametrize("own_client", [True, False], ids=["its-own-client", "the-commands-server"])
def test_mbflow_worker_runs_a_module_worker_and_finishes_its_task_on_sigterm(own_client: bool, server: ServerProcess,
                                                                             tmp_path: Path) -> None:
    """GIVEN `mbflow worker module:worker` running a task WHEN it gets SIGTERM THEN it finishes
    the task (the execution succeeds), takes no other, and exits 0. A module whose Worker has no
    client (as `run --local --worker` takes it) is served on the server the command names."""
    module = WORKER_MODULE if own_client else \
        WORKER_MODULE.replace("client = mbflow.Client()\n", "").replace("mbflow.Worker(client, ", "mbflow.Worker(")
    (tmp_path / "billing_worker.py").write_text(module)
    started = tmp_path / "started"
    env = {**os.environ, "STARTED_FILE": str(started), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
           "MBFLOW_CONFIG": "/nonexistent.toml"}
    for name in ("DJANGO_SETTINGS_MODULE", "MBFLOW_URL", "MBFLOW_API_KEY", "MBFLOW_PROFILE"):
        env.pop(name, None)
    if own_client:
        env.update({"MBFLOW_URL": server.url, "MBFLOW_API_KEY": server.key})
        where: list[str] = []
    else:
        where = ["--url", server.url, "--api-key", server.key]
    name = f"charge-once-{uuid.uuid4().hex[:6]}"
    with Client(server.url, server.key) as client:
        client.workflows.create(ONE_STEP.replace("NAME", name))
        execution = client.executions.start(name, {"amount": 5})
        process = subprocess.Popen([str(Path(sys.executable).parent / "mbflow"), *where, "worker",
                                    "billing_worker:worker"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not started.exists():
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the worker never took the task"
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        done = client.executions.wait(execution.id, timeout=60)
        assert done.status == "succeeded" and done.output == {"receipt": "r-5"}


def test_a_worker_runs_up_to_its_concurrency_at_once(server: ServerProcess) -> None:
    """GIVEN a worker of concurrency 3 whose handler waits until 3 calls are in it together
    WHEN 3 runs start THEN all 3 succeed on their first attempt (they ran side by side)."""
    together = threading.Barrier(3, timeout=30)
    with Client(server.url, server.key) as client:
        client.workflows.create(ONE_STEP.replace("NAME", "charge-three").replace("billing", "billing-3"))
        worker = Worker(client, executor="billing-3", concurrency=3, poll_wait=1)

        @worker.function("charge")
        def charge(data: dict[str, Any]) -> dict[str, Any]:
            together.wait()
            return {"id": f"r-{data['amount']}"}

        serving = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
        serving.start()
        try:
            started = [client.executions.start("charge-three", {"amount": n}) for n in range(3)]
            done = [client.executions.wait(execution.id, timeout=60) for execution in started]
        finally:
            worker.stop()
            serving.join(30)
    assert [(e.status, e.output, e.step("charge").attempt) for e in done] == [
        ("succeeded", {"receipt": f"r-{n}"}, 1) for n in range(3)]


def test_a_task_still_running_at_shutdown_is_given_back_as_retryable(server: ServerProcess) -> None:
    """GIVEN a handler that does not finish WHEN the worker stops with a short shutdown_timeout
    THEN the task is reported as a retryable `worker_shutdown` failure (the node has no retries
    left, so it fails saying so) and run() returns."""
    release = threading.Event()
    entered = threading.Event()
    with Client(server.url, server.key) as client:
        client.workflows.create(ONE_STEP.replace("NAME", "charge-stuck").replace("billing", "billing-stuck"))
        worker = Worker(client, executor="billing-stuck", poll_wait=1, shutdown_timeout=0.5)

        @worker.function("charge")
        def charge(data: dict[str, Any]) -> dict[str, Any]:
            entered.set()
            release.wait(60)
            return {"id": "late"}

        serving = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
        serving.start()
        try:
            execution = client.executions.start("charge-stuck", {"amount": 1})
            assert entered.wait(60), "the worker never took the task"
            worker.stop()
            serving.join(30)
            assert not serving.is_alive()
            done = client.executions.wait(execution.id, timeout=60)
        finally:
            release.set()
    assert done.status == "failed"
    assert done.step("charge").error["code"] == "worker_shutdown"
