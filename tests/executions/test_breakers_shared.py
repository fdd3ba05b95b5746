"""Circuit breakers shared through Redis by two real OS processes, each with its own store.

Each process's clock is set by the test (see ``breaker_process``), so no test waits for time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from tests.executions.conftest import _redis_up, _require_services

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0
POLICY = {"failure_threshold": 2, "recovery_timeout": 60, "half_open_max_calls": 3}


class BreakerProcess:
    def __init__(self, prefix: str) -> None:
        self.tenant = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.executions.breaker_process", settings.REDIS_URL, prefix],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.pid = 0

    def ready(self) -> None:
        self.pid = self.read()["pid"]

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the breaker process exited ({self.process.poll()})"
        return json.loads(line)

    def send(self, op: str, now: float, key: str = "payments", **extra: Any) -> None:
        assert self.process.stdin is not None
        command = {"op": op, "now": now, "tenant": self.tenant, "key": key, "policy": POLICY, **extra}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def ask(self, op: str, now: float, **extra: Any) -> dict[str, Any]:
        self.send(op, now, **extra)
        return self.read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def process_pair() -> Iterator[tuple[BreakerProcess, BreakerProcess]]:
    """Two processes started once for the module, sharing one key prefix in Redis."""
    if not _redis_up():
        if _require_services():
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis is not reachable")
        pytest.skip("needs Redis (REDIS_URL)")
    prefix = f"test-breakers-{uuid.uuid4().hex}"
    pair = BreakerProcess(prefix), BreakerProcess(prefix)
    for process in pair:
        process.ready()
    yield pair
    for process in pair:
        process.close()
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def processes(process_pair: tuple[BreakerProcess, BreakerProcess]) -> tuple[BreakerProcess, BreakerProcess]:
    """The two processes, both speaking for a tenant of this test's own."""
    tenant = str(uuid.uuid4())
    for process in process_pair:
        process.tenant = tenant
    return process_pair


def test_failures_recorded_by_one_process_open_the_breaker_for_the_other(
        processes: tuple[BreakerProcess, BreakerProcess]) -> None:
    a, b = processes
    assert a.pid != b.pid
    for _ in range(2):
        assert a.ask("admit", T0)["allowed"]
    assert a.ask("record", T0, ok=False) == {"moved": None}
    assert a.ask("record", T0, ok=False) == {"moved": "open"}

    assert b.ask("admit", T0 + 1) == {"allowed": False, "state": "open", "retry_at": T0 + 60, "changed": None}
    assert b.ask("admit", T0 + 60) == {"allowed": True, "state": "half_open", "retry_at": None,
                                       "changed": "half_open"}
    assert a.ask("admit", T0 + 60)["allowed"]
    assert a.ask("admit", T0 + 60)["allowed"]  # the third probe in flight
    assert b.ask("admit", T0 + 61) == {"allowed": False, "state": "half_open", "retry_at": T0 + 120,
                                       "changed": None}
    assert b.ask("record", T0 + 61, ok=True) == {"moved": None}
    assert a.ask("record", T0 + 61, ok=True) == {"moved": None}
    assert a.ask("record", T0 + 62, ok=True) == {"moved": "closed"}
    assert b.ask("admit", T0 + 63) == {"allowed": True, "state": "closed", "retry_at": None, "changed": None}


def test_a_failed_probe_in_one_process_reopens_the_breaker_for_both(
        processes: tuple[BreakerProcess, BreakerProcess]) -> None:
    a, b = processes
    for _ in range(2):
        a.ask("record", T0, ok=False)
    assert b.ask("admit", T0 + 60)["changed"] == "half_open"
    assert a.ask("admit", T0 + 60)["allowed"]
    assert b.ask("record", T0 + 61, ok=False) == {"moved": "open"}
    assert a.ask("record", T0 + 61, ok=True) == {"moved": None}  # a probe's late success changes nothing
    assert a.ask("admit", T0 + 62)["retry_at"] == T0 + 121


@pytest.mark.parametrize("round_", range(3))
def test_half_open_probes_are_limited_across_both_processes(
        processes: tuple[BreakerProcess, BreakerProcess], round_: int) -> None:
    """GIVEN an open breaker whose recovery timeout has passed
    WHEN two processes admit from 8 threads each, 25 times a thread, at the same moment
    THEN exactly half_open_max_calls (3) calls in all are let through."""
    a, b = processes
    for _ in range(2):
        a.ask("record", T0, ok=False)
    barrier = f"test-breakers-barrier-{uuid.uuid4().hex}"
    burst = {"barrier": barrier, "processes": 2, "threads": 8, "calls": 25}
    a.send("burst", T0 + 60, **burst)
    b.send("burst", T0 + 60, **burst)
    allowed = a.read()["allowed"] + b.read()["allowed"]
    redis.Redis.from_url(settings.REDIS_URL).delete(barrier, f"{barrier}:go")
    assert allowed == POLICY["half_open_max_calls"]
