"""How many malloc arenas a process's threads share: two, as MALLOC_ARENA_MAX=2 would say.

glibc gives each new thread that allocates an arena of its own, up to eight per core, and an
arena keeps what was freed in it for the next allocation of that arena.
A server's threads each take large buffers in turn (the JSON of a step's rows, a response, a
database answer), so each arena grows to the peak of its own threads and stays there. Python's
own allocator serves the small objects; these large ones are where the process grew under
load. Measured on the web process, chains of 10, 40 and 160 nodes started by 20 clients through
the API and the webhook (1,800 calls): 134 MB idle, then 160 MB with glibc's default and 150 MB
with two arenas, with the same executions per second. The threads run Python under one
interpreter lock, so they seldom allocate at the same time and two arenas cost no waiting.

Called once when a process starts, before it starts its threads (the server's ASGI module, the
Celery app). A ``MALLOC_ARENA_MAX`` of the environment wins (glibc read it at start), and
elsewhere than glibc (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import platform

ARENAS = 2
M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Caps this process's malloc arenas at ``arenas``; False where it does not apply."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    process = ctypes.CDLL(None)  # the symbols the process has loaded, glibc's among them
    return bool(process.mallopt(M_ARENA_MAX, arenas))
