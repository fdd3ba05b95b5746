"""``manage.py mbflow_consume`` as a process of its own beside a real server: a message is
acknowledged only once its run is committed, so a consumer killed while taking one leaves it to
the next, which starts the run once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.server_process import ServerProcess, server_process
from tests.triggers.rabbit import Broker, require_rabbitmq, unique_topology
from triggers.consumer import Topology

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_rabbitmq()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        pytest.skip("needs PostgreSQL (DATABASE_URL): the test holds a row lock the consumer waits for")
    with server_process(tmp_path_factory.mktemp("consume")) as web:
        yield web


def _consume(web: ServerProcess, topology: Topology, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": web.database_url, "MBFLOW_DISPATCHER": "embedded",
           "MBFLOW_EVENTS_BROKER_URL": require_rabbitmq(), "MBFLOW_EVENTS_EXCHANGE": topology.exchange,
           "MBFLOW_EVENTS_QUEUE": topology.queue, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CELERY_BROKER_URL", None)
    with log.open("ab") as output:
        return subprocess.Popen([str(BIN / "python"), str(ROOT / "manage.py"), "mbflow_consume"], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def _runs(client: httpx.Client, name: str) -> list[dict[str, object]]:
    return client.get(f"/api/v1/executions?workflow={name}").json()["results"]


def _waiting_on_a_lock(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query LIKE '%triggers_receivedevent%' AND pid <> pg_backend_pid()").fetchone()
    return bool(row and row[0])


def test_a_consumer_killed_before_its_commit_leaves_the_message_to_the_next_one(
        server: ServerProcess, tmp_path: Path) -> None:
    """GIVEN a consumer taking an event whose insert waits on a row lock the test holds
    WHEN the consumer is killed there, and another one starts once the lock is gone
    THEN the message was back in the queue, and the run starts once."""
    topology = unique_topology()
    publisher = Broker(require_rabbitmq(), topology)
    log = tmp_path / "consume.log"
    with server.client() as client:
        created = client.post("/api/v1/workflows", content=(
            "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: on-signup}\nspec:\n"
            "  nodes: [{id: echo, type: transform, config: {mapping: {got: \"{{ input }}\"}}}]\n"
            "  triggers: [{type: event, event: user.signed_up}]\n"), headers={"Content-Type": "application/yaml"})
        assert created.status_code == 201, created.text
        tenant = client.get("/api/v1/me").json()["tenant"]["id"]
        consumer = _consume(server, topology, log)
        try:
            with psycopg.connect(server.database_url, autocommit=True) as watcher, \
                    psycopg.connect(server.database_url) as holder:
                # The same event id, inserted and not committed: the consumer's insert waits.
                holder.execute("INSERT INTO triggers_receivedevent (tenant_id, event_id, type, received_at, "
                               "executions) VALUES (%s, 'signup-1', 'user.signed_up', now(), '[]')", [tenant])
                publisher.wait_for(topology.queue, consumers=1, timeout=60)
                publisher.publish({"id": "signup-1", "data": {"user": 7}}, "demo.user.signed_up")
                deadline = time.monotonic() + 30
                while not _waiting_on_a_lock(watcher):
                    assert time.monotonic() < deadline, f"the consumer never took the message; see {log}"
                    time.sleep(0.05)
                consumer.send_signal(signal.SIGKILL)
                consumer.wait(10)
                publisher.wait_for(topology.queue, ready=1, consumers=0)  # not acknowledged: back in the queue
                holder.rollback()
            assert _runs(client, "on-signup") == []
            consumer = _consume(server, topology, log)
            deadline = time.monotonic() + 60
            while not (runs := _runs(client, "on-signup")) or runs[0]["status"] != "succeeded":
                assert time.monotonic() < deadline, f"the second consumer did not start the run; see {log}"
                time.sleep(0.1)
            publisher.wait_for(topology.queue, ready=0)
            # Delivered once more (say, by a publisher that retried): the event id starts nothing new.
            publisher.publish({"id": "signup-1", "data": {"user": 7}}, "demo.user.signed_up")
            deadline = time.monotonic() + 30
            while b"seen before" not in log.read_bytes():
                assert time.monotonic() < deadline, f"the duplicate was not taken; see {log}"
                time.sleep(0.05)
            [run] = _runs(client, "on-signup")
            assert run["trigger"]["event"]["id"] == "signup-1"  # type: ignore[index]
            consumer.send_signal(signal.SIGTERM)
            assert consumer.wait(30) == 0
            assert b"Stopped: 2 message(s) taken, 0 dead-lettered." in log.read_bytes()
        finally:
            if consumer.poll() is None:
                consumer.kill()
            publisher.delete()
