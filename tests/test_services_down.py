"""PostgreSQL or Redis going away under a real server process (uvicorn, Celery dispatcher).

The server reaches both through TCP forwarders this module controls (tests/forwarder.py), so a
"down" service is down for that process only; the machine's real services keep serving. While
one is down the API and the designer answer 503 ``service_unavailable`` with ``Retry-After``,
an execution start is whole or absent, and once the service is back the server serves again.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from executions.dispatch import use_dispatcher
from executions.dispatch.celery import configure_broker
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.engine.runner import sweep_expired_leases
from executions.models import Execution, ExecutionEvent, NodeRun
from mbflow_site.celery import app as celery_app
from tests.executions.servers import LocalServer
from tests.factories import TenantFactory, UserFactory, make_key
from tests.forwarder import Forwarder
from workflows.models import Membership, Role, Workflow, WorkflowVersion

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "down-Secret-pass-1"

pytestmark = pytest.mark.skipif(
    not (settings.IS_POSTGRES and settings.REDIS_URL) and os.environ.get("MBFLOW_REQUIRE_SERVICES") != "1",
    reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
)


@dataclass
class Server:
    url: str
    postgres: Forwarder
    redis: Forwarder
    log: Path

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(check: Callable[[], Any], timeout: float, what: str, fail: bool = True) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    if fail:
        raise AssertionError(f"not within {timeout}s: {what}")
    return None


@pytest.fixture(scope="module")
def server(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory,
           http_server: LocalServer) -> Iterator[Server]:
    """The server on the tests' own database (rows the tests make are the server's rows), with
    the default wait for a pooled connection (30 s): a down database answers within seconds all
    the same, the request checking it with a fresh connection after DB_DOWN_WAIT."""
    with django_db_blocker.unblock():
        database = connection.settings_dict
        name = database["NAME"]
    postgres = Forwarder(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    redis_url = urlparse(settings.REDIS_URL)
    redis = Forwarder(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    forwarded_redis = f"redis://127.0.0.1:{redis.port}{redis_url.path or '/0'}"
    user = f"{database['USER']}:{database.get('PASSWORD') or ''}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{user}@127.0.0.1:{postgres.port}/{name}",
        "REDIS_URL": forwarded_redis, "CELERY_BROKER_URL": forwarded_redis, "MBFLOW_DISPATCHER": "celery",
        "DEBUG": "false", "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = tmp_path_factory.mktemp("services-down") / "server.log"
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "uvicorn"), "mbflow_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited; see {log}")
            try:
                return httpx.get(url + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _until(up, 90, "the server answers /health")
        yield Server(url, postgres, redis, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        postgres.close()
        redis.close()
        configure_broker()
        celery_app.control.purge()  # the node messages this module's server published


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalServer]:
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def owner_key(transactional_db: None) -> Iterator[str]:
    tenant = TenantFactory(slug="down", name="Down")
    _, raw = make_key(tenant, Role.OWNER)
    user = UserFactory(username="downer", password=PASSWORD)
    Membership.objects.create(user=user, tenant=tenant, role=Role.OWNER)
    yield raw
    # The module's server may still be reading for a run it answered (what follows a commit); the
    # flush that empties the tables after each test takes every table's lock and deadlocked with
    # such a read once. The test ends when no other session of the database is at work.
    _until(_database_quiet, 15, "the server's sessions are idle", fail=False)


def _database_quiet() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')")
        return cursor.fetchone()[0] == 0


# Runs inside the web process as it starts (a light node): no broker involved.
LIGHT = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: shape}
spec:
  nodes:
    - {id: shape, type: transform, config: {mapping: {greeting: "Hello {{ input.name }}"}}}
"""


def brokered(http_server: LocalServer) -> str:
    """A workflow whose node a worker runs: the web process hands it to the broker (Redis)."""
    return f"""\
apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: ping}}
spec:
  nodes:
    - {{id: call, type: http, timeout: 5s, config: {{method: GET, url: "{http_server.url}/echo"}}}}
"""


def stored_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Workflow, WorkflowVersion, Execution, NodeRun, ExecutionEvent)}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "service_unavailable"


def test_while_postgres_is_down_the_api_and_designer_answer_503_and_nothing_is_half_stored(
        server: Server, owner_key: str) -> None:
    """GIVEN a stored workflow and a signed-in browser session
    WHEN the server's database connection is cut
    THEN reads, execution starts and designer pages answer 503 with Retry-After, nothing is
    stored, and once the database is back the same requests succeed."""
    api = server.client(owner_key)
    created = api.post("/api/v1/workflows", content=LIGHT, headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    browser = httpx.Client(base_url=server.url, timeout=60)
    page = browser.get("/login")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    signed_in = browser.post("/login", data={"username": "downer", "password": PASSWORD,
                                             "csrfmiddlewaretoken": token, "next": "/workflows"})
    assert signed_in.status_code == 302
    assert browser.get("/login").status_code == 302  # signed in: the page reads the session
    before = stored_counts()

    server.postgres.cut()
    try:
        assert_unavailable(api.get("/api/v1/workflows"))
        assert_unavailable(api.post("/api/v1/workflows/shape/execute", json={"input": {"name": "Ann"}}))
        assert_unavailable(api.post("/api/v1/executions", json={"workflow": "shape", "input": {}}))
        assert_unavailable(api.get("/api/v1/workflows"))  # once the pool has no connection left
        assert_unavailable(browser.get("/login"))
        assert httpx.get(server.url + "/ready", timeout=30).status_code == 503
        assert httpx.get(server.url + "/health", timeout=30).status_code == 200
    finally:
        server.postgres.restore()

    assert stored_counts() == before
    _until(lambda: api.get("/api/v1/workflows").status_code == 200, 30, "the API serves again")
    assert browser.get("/login").status_code == 302
    started = api.post("/api/v1/workflows/shape/execute?include=steps,io", json={"input": {"name": "Ann"}, "wait": 10})
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "succeeded"
    assert started.json()["steps"][0]["output"] == {"greeting": "Hello Ann"}


def test_while_postgres_is_down_health_answers_beside_requests_waiting_for_it(server: Server, owner_key: str) -> None:
    """GIVEN the server's database connection cut
    WHEN 12 API requests wait for it (three times the requests the server runs at once)
    THEN /health answers, degraded with the database down, without queueing behind them (it once
    waited for the pool's timeout of each turn's request), and each request answers 503 with
    Retry-After (not after the pool's 30 s timeout: the client gives them 20 s)."""
    api = httpx.Client(base_url=server.url, timeout=20, headers={"Authorization": f"Bearer {owner_key}"})
    assert api.get("/api/v1/workflows").status_code == 200
    tries_before = server.postgres.accepted
    server.postgres.cut()
    try:
        with ThreadPoolExecutor(12) as clients:
            waiting = [clients.submit(api.get, "/api/v1/workflows") for _ in range(12)]
            # The requests reach the database: the pool tries to connect again.
            _until(lambda: server.postgres.accepted > tries_before, 20, "the server tries the database")
            # /health keeps a check's answer for a second (the server's start asked it): it says
            # degraded from the first check after the cut, each call answered at once meanwhile.
            healths: list[httpx.Response] = []
            _until(lambda: healths.append(httpx.get(server.url + "/health", timeout=20))
                   or healths[-1].json()["status"] == "degraded", 20, "/health says the database is down")
            answers = [request.result() for request in waiting]
    finally:
        server.postgres.restore()

    assert all(health.status_code == 200 for health in healths)
    assert healths[-1].json()["checks"]["database"].startswith("down")
    for answer in answers:
        assert_unavailable(answer)
    _until(lambda: api.get("/api/v1/workflows").status_code == 200, 30, "the API serves again")
    _until(lambda: httpx.get(server.url + "/health", timeout=20).json() == {"status": "ok"}, 10, "/health is ok")


def test_while_redis_is_down_an_execution_start_is_whole_and_runs_once_it_is_back(
        server: Server, owner_key: str, http_server: LocalServer, settings: Any) -> None:
    """GIVEN a workflow whose node goes to a worker through the broker (Redis)
    WHEN the server's Redis connection is cut and the workflow is started
    THEN the start answers 201 with an execution that is stored whole (its node waiting under a
    lease) rather than a 500 after the commit; the lease sweep sends it once Redis is back
    and it succeeds, calling the target once."""
    api = server.client(owner_key)
    assert api.post("/api/v1/workflows", content=brokered(http_server),
                    headers={"Content-Type": "application/yaml"}).status_code == 201
    calls_before = http_server.hits["/echo"]

    server.redis.cut()
    try:
        response = api.post("/api/v1/workflows/ping/execute", json={"input": {}})
        waited = api.post("/api/v1/workflows/ping/execute", json={"input": {}, "wait": 3})
        assert api.get("/api/v1/workflows").status_code == 200  # what needs no Redis still works
    finally:
        server.redis.restore()

    started = []
    for answer in (response, waited):
        assert answer.status_code == 201, answer.text[:300]
        assert answer.json()["status"] == "running"
        started.append(answer.json()["id"])
    for execution_id in started:
        execution = Execution.objects.get(pk=execution_id)
        assert execution.status == "running"
        assert list(execution.events.order_by("seq").values_list("type", flat=True)) == [
            "execution.created", "execution.started", "node.started"]
        run = NodeRun.objects.get(execution_id=execution_id, node_id="call")
        assert (run.status, run.worker) == ("running", "")
        assert run.lease_until is not None

    # The lease the lost message left runs out after the node's timeout and a grace period;
    # the test moves it to now instead of waiting, then lets the lease sweep do its work.
    settings.MBFLOW_HTTP_ALLOW_HOSTS = ["127.0.0.1"]
    NodeRun.objects.filter(execution_id__in=started).update(lease_until=timezone.now())
    dispatcher = EmbeddedDispatcher(workers=2)
    use_dispatcher(dispatcher)
    try:
        assert sweep_expired_leases() == len(started)
        for execution_id in started:
            _until(lambda execution_id=execution_id: Execution.objects.get(pk=execution_id).status == "succeeded",
                   30, f"execution {execution_id} succeeds")
    finally:
        use_dispatcher(None)
        dispatcher.close()
    assert http_server.hits["/echo"] == calls_before + len(started)

    # Served again: the start hands its node to the broker (no worker here takes it; the
    # module purges the queues when it ends).
    _until(lambda: httpx.get(server.url + "/ready", timeout=10).status_code == 200, 30, "Redis is back")
    again = api.post("/api/v1/workflows/ping/execute", json={"input": {}})
    assert again.status_code == 201, again.text
