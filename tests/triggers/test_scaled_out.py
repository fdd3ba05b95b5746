"""Triggers on the scaled-out stack: a web process (Celery dispatcher, no tick of its own), a
Celery worker and Celery beat as separate processes, PostgreSQL and Redis. Beat sends the
schedule tick, the worker fires the due triggers and runs the nodes; webhooks and events start
runs that the worker runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess, server_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _services() -> bool:
    return bool(os.environ.get("REDIS_URL")) and os.environ.get("DATABASE_URL", "").startswith(
        ("postgres://", "postgresql://"))


def _start(command: list[str], env: dict[str, str], log: Path, ready: bytes) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while ready not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{command[3]} did not start; see {log}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    if not _services():
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    folder = tmp_path_factory.mktemp("scaled-out")
    shared = {"MBFLOW_DISPATCHER": "celery", "MBFLOW_QUEUE_PREFIX": f"trg{uuid.uuid4().hex[:8]}"}
    with server_process(folder, **shared) as web:
        env = {**os.environ, **shared, "DATABASE_URL": web.database_url, "CELERY_BROKER_URL": os.environ["REDIS_URL"],
               "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        celery = [str(BIN / "celery"), "-A", "mbflow_site"]
        worker = _start([*celery, "worker", "-c", "4", "--pool", "threads", "--loglevel", "info", "--without-gossip",
                         "--without-mingle", "--without-heartbeat", "-n", f"triggers-{os.getpid()}@%h"],
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


def _create(client: httpx.Client, name: str, triggers: str) -> dict[str, object]:
    document = (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n"
                f"  nodes: [{{id: echo, type: transform, config: {{mapping: {{got: \"{{{{ input }}}}\"}}}}}}]\n"
                f"  output: \"{{{{ nodes.echo.output.got }}}}\"\n  triggers:\n{triggers}")
    created = client.post("/api/v1/workflows", content=document, headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    return created.json()


def _runs(client: httpx.Client, name: str) -> list[dict[str, object]]:
    return client.get(f"/api/v1/executions?workflow={name}&page_size=100").json()["results"]


def test_beat_ticks_and_the_worker_runs_schedules_webhooks_and_events(stack: tuple[ServerProcess, Path]) -> None:
    web, folder = stack
    with web.client() as client:
        made = _create(client, "scaled-every-second", "    - {type: interval, every: 1s}\n")
        _create(client, "scaled-hook", "    - {type: webhook, mode: sync}\n    - {type: event, event: ping}\n")
        deadline = time.monotonic() + 60
        while len([r for r in _runs(client, "scaled-every-second") if r["status"] == "succeeded"]) < 3:
            assert time.monotonic() < deadline, "beat and the worker did not fire three due times in 60 s"
            time.sleep(0.25)
        client.patch(f"/api/v1/workflows/{made['id']}", json={"active": False})
        runs = _runs(client, "scaled-every-second")
        due_times = [run["trigger"]["due_at"] for run in runs]  # type: ignore[index]
        assert len(due_times) == len(set(due_times))

        hook = client.get("/api/v1/workflows/scaled-hook/triggers").json()["results"][0]
        answer = httpx.post(hook["webhook"]["url"], json={"n": 7}, timeout=60)
        assert (answer.status_code, answer.json()) == (200, {"n": 7})  # the worker ran it; sync waited
        event = client.post("/api/v1/events", json={"type": "ping", "data": {"m": 1}}).json()
        [started] = event["executions"]
        deadline = time.monotonic() + 30
        while client.get(f"/api/v1/executions/{started['execution']}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline, "the event's run did not finish"
            time.sleep(0.1)
    assert b"mbflow.tick_schedules" in (folder / "worker.log").read_bytes()
    assert b"Schedule tick every" not in (folder / "server.log").read_bytes()  # the web process does not tick
