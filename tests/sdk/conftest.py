"""Fixtures of the SDK and CLI tests: a real MBFlow server process (PostgreSQL when
``DATABASE_URL`` names it, the embedded dispatcher unless a test asks for Celery), reached over
HTTP only, as a program using the SDK reaches it."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from mbflow import Client
from tests.server_process import BIN, ROOT, ServerProcess, server_process


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("sdk-server"), MBFLOW_HTTP_ALLOW_HOSTS="127.0.0.1") as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url, server.key) as sdk:
        yield sdk


def hello(name: str, greeting: str = "Hello") -> str:
    return f"""\
apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: {name}, title: Greeter}}
spec:
  input_schema: {{type: object, required: [name], properties: {{name: {{type: string}}}}}}
  nodes:
    - id: shape
      type: transform
      config:
        mapping:
          greeting: "{greeting} {{{{ input.name }}}}"
  output: "{{{{ nodes.shape.output }}}}"
"""


def slow(name: str, seconds: str = "1s") -> str:
    """Two nodes around a delay: long enough to watch it run."""
    return f"""\
apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: {name}}}
spec:
  nodes:
    - {{id: first, type: transform, config: {{mapping: {{n: 1}}}}}}
    - {{id: pause, type: delay, config: {{duration: {seconds}}}}}
    - {{id: last, type: transform, config: {{mapping: {{done: true}}}}}}
  edges:
    - {{from: first, to: pause}}
    - {{from: pause, to: last}}
  output: "{{{{ nodes.last.output }}}}"
"""


def _redis_and_postgres() -> bool:
    database = os.environ.get("DATABASE_URL", "")
    return bool(os.environ.get("REDIS_URL")) and database.startswith(("postgres://", "postgresql://"))


@pytest.fixture(scope="package")
def celery_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose nodes run on a real Celery worker process (Redis broker, PostgreSQL), on
    queues of its own."""
    if not _redis_and_postgres():
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    folder = tmp_path_factory.mktemp("sdk-celery")
    broker = {"CELERY_BROKER_URL": os.environ["REDIS_URL"], "MBFLOW_QUEUE_PREFIX": f"sdk{uuid.uuid4().hex[:8]}",
              "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1"}
    with server_process(folder, MBFLOW_DISPATCHER="celery", **broker) as running:
        env = {**os.environ, **broker, "DATABASE_URL": running.database_url, "MBFLOW_DISPATCHER": "celery",
               "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = folder / "celery.log"
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [str(BIN / "celery"), "-A", "mbflow_site", "worker", "-c", "4", "--pool", "threads", "--loglevel",
                 "info", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n",
                 f"sdk-{os.getpid()}@%h"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while b" ready." not in log.read_bytes():
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start; see {log}")
                time.sleep(0.2)
            yield running
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.fixture(params=["embedded", "celery"])
def any_server(request: pytest.FixtureRequest) -> ServerProcess:
    """The test runs against the server with its in-process dispatcher, then with Celery."""
    return request.getfixturevalue("server" if request.param == "embedded" else "celery_server")
