"""Outbound webhooks on the scaled-out stack: a web process with the Celery dispatcher, a Celery
worker and beat as processes of their own. The worker that finishes a run records its
deliveries and sends them as Celery tasks, retried with backoff as tasks due later; a redelivery
asked of the web process goes to the worker too."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess, server_process
from tests.triggers.receiver import Receiver, verify
from tests.triggers.test_scaled_out import BIN, _services, _start, _stop
from triggers.services.deliveries import SWEEP_GRACE_SECONDS


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    if not _services():
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    folder = tmp_path_factory.mktemp("webhooks-scaled-out")
    shared = {"MBFLOW_DISPATCHER": "celery", "MBFLOW_QUEUE_PREFIX": f"out{uuid.uuid4().hex[:8]}",
              "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1", "MBFLOW_DELIVERY_RETRY_SECONDS": "1",
              "MBFLOW_SUBSCRIPTION_CACHE_SECONDS": "0"}
    with server_process(folder, **shared) as web:
        env = {**os.environ, **shared, "DATABASE_URL": web.database_url, "CELERY_BROKER_URL": os.environ["REDIS_URL"],
               "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        celery = [str(BIN / "celery"), "-A", "mbflow_site"]
        worker = _start([*celery, "worker", "-c", "4", "--pool", "threads", "--loglevel", "info", "--without-gossip",
                         "--without-mingle", "--without-heartbeat", "-n", f"webhooks-{os.getpid()}@%h"],
                        env, folder / "worker.log", b" ready.")
        try:
            beat = _start([*celery, "beat", "--loglevel", "info", "-s", str(folder / "beat-schedule")],
                          env, folder / "beat.log", b"beat: Starting")
            try:
                yield web, folder
            finally:
                _stop(beat)
        finally:
            _stop(worker)


def _settled(client: httpx.Client, count: int, timeout: float = 60.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        found = client.get("/api/v1/webhooks/deliveries").json()["results"]
        if len(found) >= count and all(d["status"] in ("succeeded", "failed") for d in found):
            return found
        assert time.monotonic() < deadline, f"deliveries did not settle: {found}"
        time.sleep(0.2)


def _handed_on(delivery: dict[str, object]) -> bool:
    """Whether its first attempt came before the sweep could have found it: it went to the
    worker's broker when recorded, not lost on the way and picked up by the sweep."""
    first = delivery["attempt_log"][0]["started_at"]  # type: ignore[index]
    waited = datetime.fromisoformat(first) - datetime.fromisoformat(str(delivery["created_at"]))
    return waited.total_seconds() < SWEEP_GRACE_SECONDS


def test_the_worker_delivers_retries_and_redelivers(stack: tuple[ServerProcess, Path]) -> None:
    web, folder = stack
    receiver = Receiver()
    try:
        with web.client() as client:
            created = client.post("/api/v1/workflows", content=(
                "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: scaled-greet}\nspec:\n"
                "  nodes: [{id: echo, type: transform, config: {mapping: {got: \"{{ input }}\"}}}]\n"
                "  output: \"{{ nodes.echo.output.got }}\"\n"), headers={"Content-Type": "application/yaml"})
            assert created.status_code == 201, created.text
            webhook = client.post("/api/v1/webhooks", json={
                "url": f"{receiver.url}/flaky?fail=2&key=scaled", "events": ["execution.succeeded"]}).json()
            started = client.post("/api/v1/workflows/scaled-greet/execute", json={"input": {"n": 3}})
            assert started.status_code in (200, 201, 202), started.text

            [delivery] = _settled(client, 1)
            assert (delivery["status"], delivery["attempts"]) == ("succeeded", 3) and _handed_on(delivery)
            calls = receiver.wait_for(3)
            assert calls[1].at - calls[0].at >= 1 and calls[2].at - calls[1].at >= 2  # 1 s, then 2 s
            assert all(verify(call.headers["x-mbflow-signature"], webhook["secret"], call.body, time.time())
                       for call in calls)
            assert json.loads(calls[0].body)["output"] == {"n": 3}

            again = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver")
            assert again.status_code == 202
            receiver.wait_for(4)
            deliveries = _settled(client, 2)
            assert {d["status"] for d in deliveries} == {"succeeded"} and all(_handed_on(d) for d in deliveries)
    finally:
        receiver.close()
    worker_log = (folder / "worker.log").read_bytes()
    assert worker_log.count(b"mbflow.deliver_webhook") >= 4
