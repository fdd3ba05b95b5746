"""How many requests of a process run at once: a few, the others wait their turn in order.

The threads of a process share one interpreter lock. When many requests are in flight, each of
a request's database answers has to win the lock back from the others: under a burst a request
waited behind every other one at each of its round trips, and the process spent more CPU on
the switching. With a few turns, a request runs nearly to the end once it has started, and the
others queue in arrival order. Measured with bench/api_load.py (200 requests/s, 2 processes),
runs of 64 and of 4 turns taken one after the other, so with about as much CPU taken by the
host: overall p95 41 -> 34, 87 -> 19, 20 -> 15, 564 -> 117 ms, and less server CPU per request.

A request that waits for something other than its own work - an execution started with
``wait`` - steps aside (``stepped_aside``) and lets the next one run meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from django.conf import settings

_holding = threading.local()


@cache
def _turns() -> threading.Semaphore:
    return threading.Semaphore(settings.HTTP_ACTIVE_REQUESTS)


@contextmanager
def turn() -> Iterator[None]:
    """Runs the block as one of the process's ``HTTP_ACTIVE_REQUESTS`` requests at a time."""
    turns = _turns()
    turns.acquire()
    _holding.turn = True
    try:
        yield
    finally:
        _holding.turn = False
        turns.release()


@contextmanager
def stepped_aside() -> Iterator[None]:
    """Gives this thread's turn to the next request for the block (a wait), and takes one again
    after it. Outside a turn (a worker, a test) it does nothing."""
    if not getattr(_holding, "turn", False):
        yield
        return
    turns = _turns()
    _holding.turn = False
    turns.release()
    try:
        yield
    finally:
        turns.acquire()
        _holding.turn = True
