"""A Celery worker killed with SIGKILL in the middle of its nodes' remote calls: real worker
processes and Celery beat on PostgreSQL and Redis, and a real local target that holds each call
until the test releases it.

Each test runs its own processes on queues of their own (``MBFLOW_QUEUE_PREFIX``), apart from
the session's worker. They wait for states, never for set times; the recovery figure is printed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from executions.dispatch import use_dispatcher
from executions.dispatch.celery import CeleryDispatcher
from executions.models import Execution, NodeRun
from mbflow_site import celery as celery_site
from tests.executions.conftest import ROOT, Store, doc
from tests.executions.holding import HoldingServer

HOST = socket.gethostname()


def _services_up() -> bool:
    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Polls ``check`` until it returns something true; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


class Cluster:
    """Celery workers and beat of one test, on their own queues of the test database."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.prefix = f"mbflow-crash-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp
        db = settings.DATABASES["default"]
        url = (f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
               f"{db['PORT'] or 5432}/{connection.settings_dict['NAME']}")
        self.env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": settings.REDIS_URL,
                    "MBFLOW_DISPATCHER": "celery", "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1",
                    "MBFLOW_QUEUE_PREFIX": self.prefix, "DB_MAX_CONNECTIONS": "6", "PYTHONUNBUFFERED": "1",
                    **env}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.redis = redis.Redis.from_url(settings.REDIS_URL)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "mbflow_site", *args],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes[name] = process
        return process

    def start_worker(self, name: str, threads: int) -> None:
        self._spawn(name, "worker", "--pool", "threads", "-c", str(threads), "--loglevel", "warning",
                    "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h")

    def start_beat(self) -> None:
        self._spawn("beat", "beat", "--loglevel", "warning", "-s", str(self.tmp / "beat-schedule"))

    def wait_ready(self, *names: str) -> None:
        destinations = [f"{name}@{HOST}" for name in names]

        def answered() -> bool:
            for name in names:
                if self.processes[name].poll() is not None:
                    pytest.fail(f"{name} exited; see {self.tmp / (name + '.log')}")
            replies = celery_site.app.control.ping(destination=destinations, timeout=0.5)
            return len(replies) == len(names)

        wait_for(answered, 60, f"the workers {names} to answer a ping")

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def unacked(self) -> dict[bytes, list[Any]]:
        """Messages of this cluster's queues taken by a worker and not acknowledged: the args of
        each (``[execution id, node id, attempt]``) by delivery tag."""
        found: dict[bytes, list[Any]] = {}
        for tag, raw in self.redis.hgetall("unacked").items():
            message, _exchange, routing_key = json.loads(raw)
            if str(routing_key).startswith(self.prefix):
                found[tag] = json.loads(base64.b64decode(message["body"]))[0]
        return found

    def queued(self) -> int:
        return sum(int(self.redis.llen(key)) for key in self.redis.scan_iter(match=f"{self.prefix}.*"))

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for tag in self.unacked():
            self.redis.hdel("unacked", tag)
            self.redis.zrem("unacked_index", tag)
        for key in self.redis.scan_iter(match=f"*{self.prefix}*"):  # its queues, and kombu's bindings
            self.redis.delete(key)


ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def cluster(transactional_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClusterFactory]:
    """Starts a cluster (``cluster(**env)``) and sends this process's work to its queues."""
    if not _services_up():
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing for the crash tests")
        pytest.skip("the crash tests need PostgreSQL and Redis")
    made: list[Cluster] = []

    def make(**env: str) -> Cluster:
        made.append(Cluster(tmp_path, env))
        for kind in list(celery_site.QUEUES):
            monkeypatch.setitem(celery_site.QUEUES, kind, f"{made[-1].prefix}.{kind}")
        return made[-1]

    use_dispatcher(CeleryDispatcher())
    try:
        yield make
    finally:
        use_dispatcher(None)
        for one in made:
            one.close()


@pytest.fixture
def target() -> Iterator[HoldingServer]:
    server = HoldingServer()
    yield server
    server.close()


def a_call_held_by(target: HoldingServer) -> str:
    """One http node calling ``target``, which holds the call until released."""
    return doc("crash", f"""
  nodes:
    - {{id: call, type: http, config: {{method: POST, url: "{target.url}/work?execution={{{{ execution.id }}}}",
        json: {{order: "{{{{ input.order }}}}"}}}}}}
  output: "{{{{ nodes.call.output.status }}}}"
""")


def start_executions(editor: Any, count: int) -> list[str]:
    ids = []
    for order in range(count):
        response = editor.post("/api/v1/executions", {"workflow": "crash", "input": {"order": order}}, format="json")
        assert response.status_code == 201, response.json()
        ids.append(str(response.json()["id"]))
    return ids


def held_by(name_pid: int, ids: list[str]) -> set[str]:
    """The executions whose node the worker process ``name_pid`` claimed."""
    runs = NodeRun.objects.filter(execution_id__in=ids, node_id="call", worker__startswith=f"{HOST}:{name_pid}:")
    return {str(execution_id) for execution_id in runs.values_list("execution_id", flat=True)}


def all_finished(ids: list[str]) -> bool:
    return Execution.objects.filter(pk__in=ids, finished_at__isnull=False).count() == len(ids)


def test_the_executions_of_a_killed_worker_all_finish_once_its_lease_runs_out(
        cluster: ClusterFactory, store: Store, editor: Any, target: HoldingServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN two workers (default lease and sweep) running 50 executions, each holding its one
    remote call open at the target
    WHEN one worker is killed with SIGKILL and the target answers
    THEN all 50 succeed, nothing is left running, and the killed worker's calls were made
    again with the same Idempotency-Key."""
    crash = cluster()
    crash.start_worker("alpha", 30)
    crash.start_worker("beta", 30)
    crash.start_beat()
    crash.wait_ready("alpha", "beta")
    store(a_call_held_by(target))
    ids = start_executions(editor, 50)
    assert target.wait_until(lambda calls: len(calls) == 50, 120), f"{len(target.calls)} of 50 calls arrived"
    victim = max(("alpha", "beta"), key=lambda name: len(held_by(crash.pid(name), ids)))
    lost = held_by(crash.pid(victim), ids)
    assert lost, "the killed worker holds nodes in the middle of their call"

    crash.kill(victim)
    killed_at = timezone.now()
    target.released.set()
    wait_for(lambda: all_finished(ids), 180, "all 50 executions to finish")

    executions = Execution.objects.filter(pk__in=ids)
    assert sorted(set(executions.values_list("status", flat=True))) == ["succeeded"]
    assert not NodeRun.objects.filter(execution_id__in=ids).exclude(status="succeeded").exists()
    keys = target.keys_by_execution()
    twice = {execution_id for execution_id, sent in keys.items() if len(sent) == 2}
    assert twice == lost
    assert all(sent == [f"{execution_id}:call:1"] * len(sent) for execution_id, sent in keys.items())
    attempts = dict(NodeRun.objects.filter(execution_id__in=ids).values_list("execution_id", "attempt"))
    assert {str(execution_id) for execution_id, attempt in attempts.items() if attempt == 2} == lost
    recovered = max(executions.values_list("finished_at", flat=True)) - killed_at
    noticed = min(NodeRun.objects.filter(execution_id__in=ids, attempt=2).values_list("started_at", flat=True)) \
        - killed_at
    with capsys.disabled():
        print(f"\n[worker crash] SIGKILL of a worker with {len(lost)} of 50 executions in flight "
              f"(lease {settings.MBFLOW_LEASE_SECONDS}s, sweep every {settings.MBFLOW_LEASE_SWEEP_SECONDS}s): "
              f"first node re-run {noticed.total_seconds():.1f}s after the kill, all 50 finished after "
              f"{recovered.total_seconds():.1f}s; {len(twice)} executions reached the target twice, "
              f"each time with one Idempotency-Key")


def test_the_message_of_a_killed_worker_delivered_again_after_the_visibility_timeout_runs_nothing(
        cluster: ClusterFactory, store: Store, editor: Any, target: HoldingServer) -> None:
    """GIVEN a short lease, sweep and visibility timeout, and a worker killed with its nodes'
    calls in flight, whose nodes another worker ran again to success
    WHEN the broker delivers the killed worker's unacknowledged messages again
    THEN the survivor takes them and runs nothing: each call was made twice, not three times."""
    visibility = 20
    crash = cluster(MBFLOW_LEASE_SECONDS="3", MBFLOW_LEASE_SWEEP_SECONDS="1",
                    MBFLOW_BROKER_VISIBILITY_TIMEOUT=str(visibility))
    crash.start_worker("alpha", 4)
    crash.start_worker("beta", 4)
    crash.start_beat()
    crash.wait_ready("alpha", "beta")
    store(a_call_held_by(target))
    ids = start_executions(editor, 6)
    assert target.wait_until(lambda calls: len(calls) == 6, 60), f"{len(target.calls)} of 6 calls arrived"
    victim = max(("alpha", "beta"), key=lambda name: len(held_by(crash.pid(name), ids)))
    lost = held_by(crash.pid(victim), ids)
    assert lost

    crash.kill(victim)
    target.released.set()
    wait_for(lambda: all_finished(ids), 60, "the executions to finish")
    stale = [args for args in crash.unacked().values() if args[:1] and args[0] in lost]
    assert sorted(args[0] for args in stale) == sorted(lost), \
        "the killed worker's messages came back before its nodes ran again: no late delivery to test"
    assert all(args[1:] == ["call", 1] for args in stale)

    # After the visibility timeout the survivor takes them back from Redis and acknowledges them.
    wait_for(lambda: not crash.unacked() and crash.queued() == 0, visibility + 60,
             "the killed worker's messages to be delivered again and acknowledged")
    keys = target.keys_by_execution()
    assert {execution_id for execution_id, sent in keys.items() if len(sent) == 2} == lost
    assert all(len(sent) <= 2 for sent in keys.values())
    assert sorted(set(Execution.objects.filter(pk__in=ids).values_list("status", flat=True))) == ["succeeded"]
    for execution in Execution.objects.filter(pk__in=lost):
        assert list(execution.events.filter(type="node.started").values_list("payload__attempt", flat=True)) == [1, 2]
