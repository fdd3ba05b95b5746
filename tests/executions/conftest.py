"""Fixtures of the runtime tests: workflows stored through the API, both dispatchers, a real
Celery worker, and local HTTP servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from executions import tasks
from executions.dispatch import use_dispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from tests.executions.servers import LocalServer

ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    if not settings.REDIS_URL:
        return False
    parsed = urlparse(settings.REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _require_services() -> bool:
    return os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None,
                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    """On SQLite, a file test database: the engine's threads need real locking (WAL and busy
    waits), which the shared-cache in-memory database does not give (it fails at once)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _allow_local_http(settings: Any) -> None:
    settings.MBFLOW_HTTP_ALLOW_HOSTS = ["127.0.0.1"]


WORKER_THREADS, WORKER_POOL = 8, 4


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes] | None]:
    """A real worker process on the test database, started once per session."""
    if not _redis_up() or not settings.IS_POSTGRES:
        if _require_services():
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing for the Celery tests")
        yield None
        return
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
    db = settings.DATABASES["default"]
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{host}/{name}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": settings.REDIS_URL,
           "MBFLOW_DISPATCHER": "celery", "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1",
           # Fewer pooled connections than threads, as on a busy worker: a node must not
           # hold one while it waits for its remote call.
           "DB_MAX_CONNECTIONS": str(WORKER_POOL)}
    from executions.dispatch.celery import configure_broker
    from mbflow_site.celery import app

    configure_broker()
    app.control.purge()
    log = open(Path(tempfile.gettempdir()) / f"mbflow-celery-worker-{os.getpid()}.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "mbflow_site", "worker",
         "-c", str(WORKER_THREADS), "--pool", "threads", "--loglevel", "warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-n", WORKER_NAME],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited; see {log.name}")
        if app.control.ping(timeout=0.5):
            break
    else:
        worker.terminate()
        raise RuntimeError("the Celery worker did not start within 30s")
    # Its timer pump works for the Celery tests only (``dispatcher``): the embedded ones share
    # the database, and their timers are their own dispatcher's.
    timer_pump(on=False)
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
    log.close()


# The session's worker, by name: control commands go to it alone and return with its reply.
WORKER_NAME = f"test-{os.getpid()}@{socket.gethostname()}"


def timer_pump(*, on: bool) -> None:
    """Resumes or pauses the test worker's timer pump (executions.dispatch.timers). Without
    ``limit`` a broadcast waits its whole ``timeout`` for more replies: 10 s per Celery test."""
    from mbflow_site.celery import app

    replies = app.control.broadcast("mbflow_timer_pump", arguments={"on": on}, reply=True, timeout=5,
                                    destination=[WORKER_NAME], limit=1)
    assert replies, "the Celery worker did not answer the timer pump command"


@pytest.fixture(params=["embedded", "celery"])
def dispatcher(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[str]:
    """Runs the test once with the in-process dispatcher and once with a real Celery worker."""
    if request.param == "embedded":
        embedded = EmbeddedDispatcher(workers=16)
        use_dispatcher(embedded)
        yield "embedded"
        use_dispatcher(None)
        embedded.close()
        return
    worker = request.getfixturevalue("celery_worker")
    if worker is None:
        pytest.skip("Celery tests need Redis (REDIS_URL) and PostgreSQL")
    from executions.dispatch.celery import CeleryDispatcher

    use_dispatcher(CeleryDispatcher())
    timer_pump(on=True)
    yield "celery"
    timer_pump(on=False)
    use_dispatcher(None)


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The node tasks this process sends to the broker, ``[args, kwargs]`` each (sent on, as
    recorded): ``run_node`` for a node alone, ``run_nodes`` for nodes started together."""
    sent: list[Any] = []

    def recorder(task: Any) -> Any:
        send = task.apply_async

        def record(args: Any = None, kwargs: Any = None, **options: Any) -> Any:
            sent.append([args, kwargs])
            return send(args, kwargs, **options)

        return record

    monkeypatch.setattr(tasks.run_node, "apply_async", recorder(tasks.run_node))
    monkeypatch.setattr(tasks.run_nodes, "apply_async", recorder(tasks.run_nodes))
    return sent


@pytest.fixture
def embedded(transactional_db: None) -> Iterator[EmbeddedDispatcher]:
    dispatcher = EmbeddedDispatcher(workers=8)
    use_dispatcher(dispatcher)
    yield dispatcher
    use_dispatcher(None)
    dispatcher.close()


Store = Callable[[str], dict[str, Any]]


@pytest.fixture
def store(editor: APIClient) -> Store:
    """Saves a workflow document through the API and returns the workflow."""

    def save(yaml_text: str) -> dict[str, Any]:
        response = editor.post("/api/v1/workflows", {"yaml": yaml_text}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return save


Run = Callable[..., dict[str, Any]]


@pytest.fixture
def run(editor: APIClient) -> Run:
    """Starts a workflow with ``wait`` and returns the execution as the API shows it."""

    def start(workflow: str, data: Any = None, wait: float = 20, expect: int | None = None,
              **extra: Any) -> dict[str, Any]:
        response = editor.post("/api/v1/executions", {"workflow": workflow, "input": data or {}, "wait": wait,
                                                      **extra}, format="json")
        if expect is not None:
            assert response.status_code == expect, response.json()
        return response.json()

    return start


def steps(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["node_id"]: step for step in execution["steps"]}


def doc(name: str, body: str) -> str:
    """A native document around an indented ``spec`` body."""
    return f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: {name}\nspec:\n{body}"


def pass_on_sqlite(tmp_path: Path, *tests: str) -> str:
    """Runs these tests (``file.py::name``, in this folder) again in a pytest of their own on a
    new SQLite database, the embedded default of ``make run``; its output, once they passed."""
    here = Path(__file__).resolve().parent
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}", "REDIS_URL": "",
           "CELERY_BROKER_URL": "", "MBFLOW_REQUIRE_SERVICES": "0"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:xdist",
               *(str(here / test) for test in tests)]
    result = subprocess.run(command, cwd=here.parents[1], env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(tests)} passed" in result.stdout, result.stdout[-2000:]
    return result.stdout
