"""How many server-sent event streams this process is sending now (for the metrics): counted
by the stream view (``executions.live.sse``), read by the process's snapshot without loading the
API's views."""

from __future__ import annotations

import threading

_open = 0
_open_lock = threading.Lock()


def open_streams() -> int:
    return _open


def opened(change: int) -> None:
    global _open
    with _open_lock:
        _open += change
