"""A process of its own with its own ``RedisBreakerStore``, driven by JSON lines on stdin, one
JSON answer a line on stdout: the two-process breaker tests start two of these.

``python -m tests.executions.breaker_process <redis url> <prefix>``; each command carries the
time its process's clock shows (``now``), so the tests say every time explicitly. ``burst`` waits
at a Redis barrier for the other process, then admits from several threads at once.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

import redis

from executions.stores.breakers import RedisBreakerStore
from workflows.spec.models import CircuitBreaker


def burst(store: RedisBreakerStore, client: Any, command: dict[str, Any], policy: CircuitBreaker) -> int:
    barrier, go = command["barrier"], f"{command['barrier']}:go"
    if client.incr(barrier) == command["processes"]:
        client.rpush(go, *["go"] * command["processes"])
    if client.blpop([go], timeout=30) is None:
        raise RuntimeError("the other process never reached the barrier")
    allowed: list[bool] = []
    start = threading.Barrier(command["threads"])

    def admit_many() -> None:
        start.wait()
        for _ in range(command["calls"]):
            allowed.append(store.admit(command["tenant"], command["key"], policy).allowed)

    threads = [threading.Thread(target=admit_many) for _ in range(command["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return allowed.count(True)


def main() -> None:
    url, prefix = sys.argv[1], sys.argv[2]
    clock = {"now": 0.0}
    store = RedisBreakerStore(url, prefix=prefix, clock=lambda: clock["now"])
    client = redis.Redis.from_url(url)
    print(json.dumps({"pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        clock["now"] = command["now"]
        policy = CircuitBreaker.model_validate(command["policy"])
        tenant, key = command["tenant"], command["key"]
        answer: dict[str, Any]
        if command["op"] == "admit":
            admission = store.admit(tenant, key, policy)
            answer = {"allowed": admission.allowed, "state": admission.state, "retry_at": admission.retry_at,
                      "changed": admission.changed}
        elif command["op"] == "record":
            answer = {"moved": store.record(tenant, key, policy, command["ok"])}
        else:
            answer = {"allowed": burst(store, client, command, policy)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
