"""Django's ASGI handler run the way a threaded WSGI server runs it: one thread hop per request.

Every view and middleware of the site is synchronous. Django's own ASGI handler crosses from the
event loop into a thread three times per request (the ``request_started`` signal, the middleware
chain, ``response.close``) and starts a new thread for each request (``ThreadSensitiveContext``).
This handler reads the body on the event loop, then runs the whole synchronous part - signals,
middleware, view, rendering, ``request_finished`` - in one call on a pool of reused threads (reads
on a pool of their own), and sends the finished response from the event loop. The request's
database connection goes back to the pool before the response is sent, as the last thing its
thread does.

``/health`` is answered here, outside the request gate, on threads of its own
(mbflow_site/health.py): it must answer while every turn is held by requests that wait for a
database that is down.

Streaming responses keep Django's own path, in a thread of their own: an async iterator (the
server-sent events) is sent part by part as it comes, and the stream stops when the client goes
away. (Django collects a sync iterator whole before sending it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections, connection
from django.http import HttpResponseBase, JsonResponse
from django.urls import set_script_prefix

from mbflow_site import health
from mbflow_site.turns import turn

# After this many requests, what the process built to serve its first ones (lazy imports, URL
# and plan caches, queries compiled once: some 45,000 objects) is frozen out of the cyclic
# collector's full passes, as asgi.py does with what loading the site made (figures there).
FREEZE_AFTER = 1000
# Methods that change nothing (RFC 9110's safe methods).
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# The longest /health waits for its checks (each connects with DB_CONNECT_TIMEOUT) before it
# answers that they did not answer.
HEALTH_WAIT = 2 * settings.DB_CONNECT_TIMEOUT + 1


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self.threads = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="mbflow-http")
        # Reads have threads of their own: a request waiting for its execution holds a thread,
        # and a read must not wait for one behind starts that wait (threads start when needed).
        self.read_threads = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="mbflow-read")
        self.health_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mbflow-health")
        self.served = itertools.count(1)
        self.fail_fast_pool: Any = None  # the pool made to fail fast, once a request has made it

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        if scope["path"] == "/health" and scope["method"] in ("GET", "HEAD"):
            await self.send_response(await self.health(), send)
            return
        if next(self.served) == FREEZE_AFTER:
            gc.freeze()
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            respond = functools.partial(contextvars.copy_context().run, self.respond, scope, body_file)
            threads = self.read_threads if scope["method"] in READS else self.threads
            response = await asyncio.get_running_loop().run_in_executor(threads, respond)
            if response.streaming:
                await self.stream(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    async def health(self) -> JsonResponse:
        """/health, from its own threads and cheap checks, never behind the gate."""
        checking = asyncio.get_running_loop().run_in_executor(self.health_threads, health.health_body)
        try:
            body = await asyncio.wait_for(checking, HEALTH_WAIT)
        except TimeoutError:
            body = {"status": "degraded", "checks": {"database": f"no answer within {HEALTH_WAIT}s"}}
        return JsonResponse(body)

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The synchronous part of one request, in one thread: what a WSGI server would call.
        A read goes before the requests that change state (mbflow_site/turns.py)."""
        if settings.IS_POSTGRES and connection.pool is not self.fail_fast_pool:
            # Not when the handler is made: the pool is made from the settings of that moment.
            self.fail_fast_pool = health.fail_fast_while_the_database_is_down(connection.pool)
        with turn(first=scope["method"] in READS):
            return self._respond(scope, body_file)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
        if response.streaming:
            # The stream's chunks are made in another thread: give this one's connection back now.
            close_old_connections()
        else:
            response.close()  # request_finished: the connection goes back to the pool
        return response

    async def stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        async with ThreadSensitiveContext():
            sending = asyncio.create_task(self.send_response(response, send))
            listening = asyncio.create_task(self.listen_for_disconnect(receive))
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
            for task in (listening, sending):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
            await sync_to_async(response.close)()
