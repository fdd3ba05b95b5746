"""A process runs a few requests at once; one waiting for an execution lets the others run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from mbflow_site import turns
from mbflow_site.asgi import application
from mbflow_site.http_handler import ThreadedASGIHandler
from tests.test_http_handler import FLOW, _close_thread_connections, call, key  # noqa: F401
from workflows.models import Tenant


@pytest.fixture
def active(settings: Any) -> Iterator[Any]:
    """Sets HTTP_ACTIVE_REQUESTS for the test (the gate is made from it on first use)."""
    turns._gate.cache_clear()
    yield settings
    turns._gate.cache_clear()


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


def _queued(gate: turns.Gate, name: str, first: bool, order: list[str], waiting: tuple[int, int]) -> threading.Thread:
    """A request ``name`` that enters ``gate`` and notes its turn; returned once it waits as
    ``waiting`` says (so that requests queue in the order the test makes them)."""

    def request() -> None:
        gate.enter(first)
        order.append(name)
        gate.leave()

    thread = threading.Thread(target=request)
    thread.start()
    deadline = time.monotonic() + 5
    while gate.waiting() != waiting:
        assert time.monotonic() < deadline, f"{name} did not queue: {gate.waiting()}"
        time.sleep(0.001)
    return thread


def test_stepping_aside_outside_a_turn_gives_nothing_away(active: Any) -> None:
    active.HTTP_ACTIVE_REQUESTS = 1
    with turns.stepped_aside():  # a worker thread, say: it holds no turn
        pass
    gate, order = turns._gate(), []
    gate.enter(first=False)
    other = _queued(gate, "other", False, order, (0, 1))  # still one turn, not two: it waits
    gate.leave()
    other.join(5)
    assert order == ["other"]


def test_a_read_goes_before_the_writes_that_came_before_it() -> None:
    """GIVEN the one turn taken and two writes waiting WHEN a read comes and the turn is given
    back THEN the read runs first, then the writes in the order they came."""
    gate, order = turns.Gate(1), []
    gate.enter(first=False)
    threads = [_queued(gate, "write 1", False, order, (0, 1)), _queued(gate, "write 2", False, order, (0, 2)),
               _queued(gate, "read", True, order, (1, 2))]
    gate.leave()
    for thread in threads:
        thread.join(5)
    assert order == ["read", "write 1", "write 2"]


def test_a_request_back_from_its_wait_goes_before_new_writes(active: Any) -> None:
    """GIVEN a request that stepped aside, its turn taken by another and a new write waiting
    WHEN its wait ends and the turn is given back THEN it finishes before the new write starts."""
    active.HTTP_ACTIVE_REQUESTS = 1
    gate, order, aside, done = turns._gate(), [], threading.Event(), threading.Event()

    def waiting() -> None:
        with turns.turn():
            with turns.stepped_aside():
                aside.set()
                assert done.wait(5)
            order.append("back from its wait")

    first = threading.Thread(target=waiting)
    first.start()
    assert aside.wait(5)
    gate.enter(first=False)  # the turn it gave away
    write = _queued(gate, "new write", False, order, (0, 1))
    done.set()
    deadline = time.monotonic() + 5
    while gate.waiting() != (1, 1):  # back from its wait, it queues after the write came
        assert time.monotonic() < deadline, gate.waiting()
        time.sleep(0.001)
    gate.leave()
    first.join(5)
    write.join(5)
    assert order == ["back from its wait", "new write"]


@pytest.mark.django_db(transaction=True)
def test_a_request_back_from_its_wait_waits_for_its_turn_without_a_database_connection(active: Any) -> None:
    """GIVEN a request that stepped aside and read the database during its wait (a status check)
    WHEN it waits for its turn again THEN its connection is back in the pool, for the requests
    holding the turns (else these wait for the pool and those for a turn, until the pool's timeout)."""
    if not settings.IS_POSTGRES:
        pytest.skip("only a pool of connections runs out")
    active.HTTP_ACTIVE_REQUESTS = 1
    gate, held, aside, back = turns._gate(), [], threading.Event(), threading.Event()

    def waiting() -> None:
        with turns.turn(), turns.stepped_aside():
            Tenant.objects.count()  # a status check: takes a connection from the pool
            held.append(connections["default"])
            aside.set()
            assert back.wait(5)

    thread = threading.Thread(target=waiting)
    thread.start()
    assert aside.wait(5)
    gate.enter(first=False)  # the turn it gave away
    back.set()
    deadline = time.monotonic() + 5
    while gate.waiting() != (1, 0):  # back from its wait, it queues for a turn
        assert time.monotonic() < deadline, gate.waiting()
        time.sleep(0.001)
    given_back = held[0].connection is None
    gate.leave()
    thread.join(5)
    assert given_back


def test_a_stream_of_reads_lets_a_waiting_write_in_after_a_few() -> None:
    gate, order = turns.Gate(1, overtake=2), []
    gate.enter(first=False)
    threads = [_queued(gate, "write", False, order, (0, 1))]
    threads += [_queued(gate, f"read {i}", True, order, (i, 1)) for i in range(1, 5)]
    gate.leave()
    for thread in threads:
        thread.join(5)
    assert order == ["read 1", "read 2", "write", "read 3", "read 4"]


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


@pytest.mark.django_db(transaction=True)
async def test_a_read_is_answered_while_a_start_that_waits_holds_every_thread_of_the_writes(
    key: str, active: Any, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """GIVEN one thread for requests that change state, held by a start waiting for an approval
    WHEN reads come THEN they are answered from threads of their own while the start waits."""
    active.HTTP_THREADS = 1
    active.HTTP_ACTIVE_REQUESTS = 1
    monkeypatch.setitem(application.application_mapping, "http", ThreadedASGIHandler())
    held = FLOW.replace("handler-flow", "held-flow").replace(
        "  nodes:\n", "  nodes:\n    - {id: ask, type: approval, config: {message: Go?}}\n") + \
        "  edges:\n    - {from: ask, to: a}\n"
    status, _, body = await call("POST", "/api/v1/workflows", key, held.encode(),
                                 headers=((b"content-type", b"application/yaml"),))
    assert status == 201, body
    waiting = asyncio.ensure_future(call("POST", "/api/v1/executions", key, json.dumps(
        {"workflow": "held-flow", "input": {"n": 3}, "wait": 5}).encode(),
        headers=((b"content-type", b"application/json"),)))
    listed: list[dict[str, Any]] = []
    while not listed:  # each read is answered while the start holds the one thread, until it shows
        status, _, body = await call("GET", "/api/v1/executions", key, query="workflow=held-flow&status=running")
        assert status == 200 and not waiting.done(), body
        listed = json.loads(body)["results"]
        await asyncio.sleep(0.01)
    status, _, body = await waiting  # answered after its 5 s, the execution still waiting
    assert status == 201 and json.loads(body)["status"] == "running", body
    status, _, body = await call("POST", f"/api/v1/executions/{listed[0]['id']}/cancel", key)
    assert status == 200, body
