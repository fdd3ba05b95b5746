"""Expression bombs against a real server process: validation never evaluates them, a run stops
them at the budget with ``expression_limit``, and the process goes on serving meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess, server_process

# Before the budget, each of these froze the web process for a minute or more, or took GBs.
VALIDATION_BOMBS = ["{{ 9**(9**8) }}", "{{ 'a' * 10**9 }}", "{{ 'x' | center(1000000000) }}",
                    "{{ '%0999999999d' % 1 }}", "{{ ((range(100000) | list) * 100000) | length }}"]
NESTED_LOOPS = ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done")
# An answer later than this means the process froze (the bombs ran for minutes before).
FROZEN = 10.0


def _document(value: str, name: str = "bomb") -> str:
    quoted = value.replace("'", "''")
    return f"""apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: {name}}}
spec:
  nodes:
    - id: boom
      type: transform
      config: {{mapping: {{value: '{quoted}'}}}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(Path(tmp_path_factory.mktemp("bombs")), MBFLOW_EXPRESSION_CPU_MS="1000") as running:
        yield running


def _while_health_answers(server: ServerProcess, request: Any) -> tuple[Any, int, float]:
    """Runs ``request`` while another thread polls /health; returns its result, how many /health
    calls were answered while it was in flight, and how long it took."""
    done = threading.Event()
    answered_during = 0

    def poll() -> None:
        nonlocal answered_during
        with httpx.Client(base_url=server.url, timeout=FROZEN) as client:
            while not done.is_set():
                response = client.get("/health")
                if response.status_code == 200 and not done.is_set():
                    answered_during += 1

    poller = threading.Thread(target=poll)
    poller.start()
    started = time.monotonic()
    try:
        result = request()
    finally:
        elapsed = time.monotonic() - started
        done.set()
        poller.join(timeout=FROZEN)
    return result, answered_during, elapsed


@pytest.mark.parametrize("bomb", VALIDATION_BOMBS)
def test_validation_answers_at_once_without_evaluating_the_bomb(server: ServerProcess, bomb: str) -> None:
    with server.client(timeout=FROZEN * 3) as client:
        response, _health, elapsed = _while_health_answers(
            server, lambda: client.post("/api/v1/workflows/validate", json={"yaml": _document(bomb)}))
    print(f"validate {bomb!r}: {elapsed * 1000:.0f} ms")
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True  # syntax is fine; the limit applies when it runs
    assert elapsed < FROZEN


def test_the_validated_bombs_left_no_memory_behind(server: ServerProcess) -> None:
    """GIVEN every validation bomb posted (the module's tests above) THEN the server never held
    more than a few hundred MB (the constant used to be built at compile time: 3.7 GB)."""
    with server.client() as client:
        for bomb in VALIDATION_BOMBS:
            assert client.post("/api/v1/workflows/validate", json={"yaml": _document(bomb)}).status_code == 200
    peak = server.peak_rss_bytes()
    print(f"server peak RSS: {peak / 2**20:.0f} MiB")
    assert peak < 600 * 2**20


@pytest.mark.parametrize("bomb", [*VALIDATION_BOMBS, NESTED_LOOPS, "{{ input.b ** input.e }}"])
def test_a_run_stops_the_bomb_at_the_budget_and_the_server_keeps_serving(server: ServerProcess, bomb: str) -> None:
    with server.client(timeout=120) as client:
        response, health, elapsed = _while_health_answers(server, lambda: client.post(
            "/api/v1/executions/adhoc", json={"yaml": _document(bomb), "input": {"b": 9, "e": 387420489},
                                              "wait": 60}))
    print(f"run {bomb[:40]!r}: {elapsed * 1000:.0f} ms, /health answered {health} times meanwhile")
    assert response.status_code in (200, 201), response.text
    execution = response.json()
    assert execution["status"] == "failed", execution
    step = next(step for step in execution["steps"] if step["node_id"] == "boom")
    assert step["error"]["code"] == "expression_limit", step["error"]
    assert step["error"]["details"]["field"] == "config.mapping.value"
    assert step["attempt"] == 1
    assert elapsed < FROZEN
    # The execution was written, so it can be read (and would have been cancellable).
    with server.client() as client:
        assert client.get(f"/api/v1/executions/{execution['id']}").json()["status"] == "failed"


def test_health_answers_while_a_loop_spends_its_whole_budget(server: ServerProcess) -> None:
    """The nested loops run for the whole CPU budget (a second) inline in the web process:
    /health is answered during it."""
    with server.client(timeout=120) as client:
        response, health, elapsed = _while_health_answers(server, lambda: client.post(
            "/api/v1/executions/adhoc", json={"yaml": _document(NESTED_LOOPS), "wait": 60}))
    print(f"nested loops: {elapsed * 1000:.0f} ms, /health answered {health} times meanwhile")
    assert response.json()["status"] == "failed"
    assert health >= 1
