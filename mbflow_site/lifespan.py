"""The ASGI lifespan of a server process, as Django signals.

A server that speaks the lifespan protocol (uvicorn) says when it has started and when it is
stopping; apps connect to ``server_started`` / ``server_stopping`` to run what belongs to a
server process only (the embedded schedule tick). Tests that call the application directly
send no lifespan, so nothing starts there.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.dispatch import Signal

server_started = Signal()
server_stopping = Signal()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application of the lifespan scope: sends the signals, answers the server."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await sync_to_async(server_started.send, thread_sensitive=False)(sender=None)
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await sync_to_async(server_stopping.send, thread_sensitive=False)(sender=None)
            await send({"type": "lifespan.shutdown.complete"})
            return
