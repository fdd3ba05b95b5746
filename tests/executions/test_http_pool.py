"""The http node's shared connection pool under 100 concurrent calls (executions/executors/http.py).

httpcore's pool could close a connection it had just handed to a request: the request's thread
then met a closed socket ([Errno 9] Bad file descriptor) or waited on it for its whole timeout.
Here 100 threads call one local server, a few rounds; every call succeeds and the pool never
closes a connection while a request holds it (before the fix: some 15% of its closes did, and
about one call in 4,000 failed).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from executions.executors import NodeContext, get_executor
from executions.executors import http as http_executor
from tests.executions.servers import LocalServer

CLIENTS, CALLS, ROUNDS = 100, 600, 3


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the pool's closes, and those of a connection a request in the pool holds."""
    pool = http_executor._TRANSPORT._pool
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    close_connections = pool._close_connections

    def counted(closing: list[Any]) -> None:
        with pool._optional_thread_lock:
            held = {id(request.connection) for request in pool._requests if request.connection is not None}
        with lock:
            seen["closed"] += len(closing)
            seen["held"] += sum(id(connection) in held for connection in closing)
        close_connections(closing)

    monkeypatch.setattr(pool, "_close_connections", counted)
    return seen


def test_100_concurrent_calls_all_succeed_and_no_connection_in_use_is_closed(
        http_server: LocalServer, closes: Counter[str]) -> None:
    """GIVEN the http node's one pooled client, shared by every thread of the process
    WHEN 100 threads call a local server at once, 600 calls a round, 3 rounds
    THEN every call answers 200 with its own answer, and the pool closed no connection a request held."""
    executor = get_executor("http")

    def call(index: int) -> str:
        ctx = NodeContext(execution_id="e", tenant_id="t", node_id=f"n{index}", attempt=1, timeout=30,
                          expressions={"input": {}}, inputs={})
        try:
            result = executor.run({"method": "GET", "url": f"{http_server.url}/echo", "query": {"i": str(index)}}, ctx)
        except Exception as exc:  # the failure itself is what the test reports
            return f"{type(exc).__name__}: {exc}"
        return "ok" if result["status"] == 200 and result["body"]["query"] == {"i": str(index)} else repr(result)

    with ThreadPoolExecutor(CLIENTS) as threads:
        for _ in range(ROUNDS):
            outcomes = Counter(threads.map(call, range(CALLS)))
            assert outcomes == {"ok": CALLS}, outcomes.most_common(5)
    assert closes["held"] == 0, closes
