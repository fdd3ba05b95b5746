"""A process runs a few requests at once; one waiting for an execution lets the others run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mbflow_site import turns
from tests.test_http_handler import FLOW, _close_thread_connections, call, key  # noqa: F401


@pytest.fixture
def active(settings: Any) -> Iterator[Any]:
    """Sets HTTP_ACTIVE_REQUESTS for the test (the semaphore is made from it on first use)."""
    turns._turns.cache_clear()
    yield settings
    turns._turns.cache_clear()


def test_no_more_than_the_set_number_of_requests_run_at_once(active: Any) -> None:
    active.HTTP_ACTIVE_REQUESTS = 2
    running, most, lock = 0, 0, threading.Lock()

    def request() -> None:
        nonlocal running, most
        with turns.turn():
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 2 and running == 0


def test_a_request_that_steps_aside_lets_the_next_one_run_and_gets_a_turn_back(active: Any) -> None:
    active.HTTP_ACTIVE_REQUESTS = 1
    answered = threading.Event()
    order: list[str] = []

    def waiting() -> None:
        with turns.turn():
            with turns.stepped_aside():
                order.append("waiting")
                assert answered.wait(5)  # only the other request, in the one turn, sets it
            order.append("back")

    def other() -> None:
        with turns.turn():
            order.append("other")
            answered.set()

    first = threading.Thread(target=waiting)
    first.start()
    while not order:
        time.sleep(0.001)
    second = threading.Thread(target=other)
    second.start()
    first.join(10)
    second.join(10)
    assert order == ["waiting", "other", "back"]


def test_stepping_aside_outside_a_turn_gives_nothing_away(active: Any) -> None:
    active.HTTP_ACTIVE_REQUESTS = 1
    with turns.stepped_aside():  # a worker thread, say: it holds no turn
        pass
    taken = [turns._turns().acquire(blocking=False), turns._turns().acquire(blocking=False)]
    assert taken == [True, False]  # still one turn, not two


@pytest.mark.django_db(transaction=True)
async def test_an_api_request_is_answered_while_another_waits_for_its_execution(
    key: str, active: Any  # noqa: F811
) -> None:
    active.HTTP_ACTIVE_REQUESTS = 1
    slow = FLOW.replace("handler-flow", "slow-flow").replace(
        "  nodes:\n", "  nodes:\n    - {id: pause, type: delay, config: {duration: 2s}}\n") + \
        "  edges:\n    - {from: pause, to: a}\n"
    status, _, body = await call("POST", "/api/v1/workflows", key, slow.encode(),
                                 headers=((b"content-type", b"application/yaml"),))
    assert status == 201, body
    begun = time.monotonic()
    waiting = asyncio.ensure_future(call("POST", "/api/v1/executions", key, json.dumps(
        {"workflow": "slow-flow", "input": {"n": 3}, "wait": 20}).encode(),
        headers=((b"content-type", b"application/json"),)))
    await asyncio.sleep(0.5)
    status, _, body = await call("GET", "/api/v1/workflows/slow-flow", key)
    answered_after = time.monotonic() - begun
    assert status == 200 and json.loads(body)["name"] == "slow-flow"
    assert not waiting.done() and answered_after < 1.9  # in the one turn, before the delay ended
    status, _, body = await waiting
    assert status == 200 and json.loads(body)["status"] == "succeeded", body
