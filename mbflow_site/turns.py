"""How many requests of a process run at once: a few, the others wait their turn.

The threads of a process share one interpreter lock. When many requests are in flight, each of
a request's database answers has to win the lock back from the others: under a burst a request
waited behind every other one at each of its round trips, and the process spent more CPU on
the switching. With a few turns, a request runs nearly to the end once it has started, and the
others queue. Measured with bench/api_load.py (200 requests/s, 2 processes), runs of 64 and of
4 turns taken one after the other, so with about as much CPU taken by the host: overall p95
41 -> 34, 87 -> 19, 20 -> 15, 564 -> 117 ms, and less server CPU per request.

A request that waits for something other than its own work - an execution started with
``wait`` - steps aside (``stepped_aside``) and lets the next one run meanwhile.

Who goes next: a request that changes nothing (a read) and a request coming back from a wait
(it has little left to do: reload and answer) go before new requests that change state (a
start, a save), each kind in arrival order; a turn given back goes straight to the next in
line. In one queue, a read waited behind every start that came before it: with 50 clients
starting executions with ``wait`` (bench/api_load.py ``--scenario starts``, 1 process) some 50
starts stood in line, a read waited 360 ms for its turn (p50; 780 ms p95) to run for 14 ms, and
a start back from its wait queued again for 370 ms after its execution had finished in 80 ms.
Measured in that scenario, rounds of the old gate and of this one (with the reads' own
threads, http_handler.py) taken in turn on a busy machine: read p95 1,516 -> 119 and 1,358 ->
123 ms with ``wait``, 2,531 -> 149 and 823 -> 169 ms without; start p95 3.1 -> 1.4 s and 4.4 ->
1.2 s (about the same starts per second). So that a stream of reads cannot hold the writes
back for ever, a waiting write is let in after at most ``OVERTAKE`` requests went ahead of it.
The mix above (200 requests/s, 2 processes, still 4 turns), 13 rounds of the old gate and of
this one in turn: server CPU per request 3.26 -> 3.39 ms (mean; higher in 10 of 13 pairs);
overall p95 swung with the load of the shared machine far more than between the two (ratio of
a pair from 0.02 to 57, median 1.3: in this mix the writes, a third, now wait for the reads).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.db import connection

# How many requests of the first kind may go ahead of the oldest waiting write.
OVERTAKE = 16

_holding = threading.local()


class Gate:
    """``turns`` turns; a request that finds none free waits in one of two queues, and a
    turn given back goes straight to the next waiter (no newcomer takes it in between)."""

    def __init__(self, turns: int, overtake: int = OVERTAKE) -> None:
        self._lock = threading.Lock()
        self._free = turns
        self._overtake = overtake
        self._first: deque[threading.Lock] = deque()  # reads, and requests back from a wait
        self._then: deque[threading.Lock] = deque()  # the others
        self._overtaken = 0  # first-kind requests let in while the oldest write waited

    def enter(self, first: bool) -> None:
        with self._lock:
            if self._free:  # turns are free only while nobody waits
                self._free -= 1
                return
            waiter = threading.Lock()
            waiter.acquire()
            (self._first if first else self._then).append(waiter)
        waiter.acquire()  # released by ``leave``, which hands this thread the turn

    def leave(self) -> None:
        with self._lock:
            if self._then and (not self._first or self._overtaken >= self._overtake):
                self._overtaken = 0
                waiter = self._then.popleft()
            elif self._first:
                self._overtaken += bool(self._then)
                waiter = self._first.popleft()
            else:
                self._free += 1
                return
        waiter.release()

    def waiting(self) -> tuple[int, int]:
        """How many wait, of each kind (first, then)."""
        with self._lock:
            return len(self._first), len(self._then)


@cache
def _gate() -> Gate:
    return Gate(settings.HTTP_ACTIVE_REQUESTS)


@contextmanager
def turn(first: bool = False) -> Iterator[None]:
    """Runs the block as one of the process's ``HTTP_ACTIVE_REQUESTS`` requests at a time;
    ``first``: a request that changes nothing, let in before those that do."""
    gate = _gate()
    gate.enter(first)
    _holding.turn = True
    try:
        yield
    finally:
        _holding.turn = False
        gate.leave()


@contextmanager
def stepped_aside() -> Iterator[None]:
    """Gives this thread's turn to the next request for the block (a wait), and takes one again
    after it, before the requests that have not started. Outside a turn (a worker, a test) it
    does nothing.

    The thread waits for its turn again without a pooled database connection: the requests
    holding the turns may be waiting for one, and once ~20 requests back from their waits held
    the whole pool while they queued for a turn, nothing moved until the pool's timeout."""
    if not getattr(_holding, "turn", False):
        yield
        return
    gate = _gate()
    _holding.turn = False
    gate.leave()
    try:
        yield
    finally:
        _give_back_connection()
        gate.enter(first=True)
        _holding.turn = True


def _give_back_connection() -> None:
    """Returns this thread's connection to the pool (PostgreSQL), unless a transaction holds it
    (as ``executions.engine.store.release_connection`` does; the next query takes one again)."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()
