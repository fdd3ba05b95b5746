"""/health, /ready, and what a web process knows of its database being down.

``/health`` says the process is alive: 200 whatever the backing services do (a liveness probe
must not restart a web process because PostgreSQL is down), with ``status: degraded`` and the
service that is down. It is answered by the HTTP handler outside the request gate, on a thread
of its own (mbflow_site/http_handler.py): while the database is down the requests holding the
gate's turns each wait for a connection, and /health queued behind them. Its checks connect
afresh with a short timeout (``DB_CONNECT_TIMEOUT``), one check at a time, the answer kept for
a second, so a burst of probes makes one connection.

A web process's request that has waited ``DB_DOWN_WAIT`` seconds for a pooled connection
checks the database the same way: when it is down the request answers 503
``service_unavailable`` with ``Retry-After`` at once, instead of holding a turn for the whole
``DB_POOL_TIMEOUT`` while the requests behind it queue; when it answers (the pool is only busy)
the request waits on. The pool keeps reconnecting meanwhile.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from psycopg_pool import PoolTimeout

# How long a check's answer is kept: probes and requests within it share one connection attempt.
CHECK_EVERY = 1.0


class _Checks:
    """The backing services' state, each checked at most once a ``CHECK_EVERY``, one check of a
    service at a time."""

    def __init__(self) -> None:
        self._locks = {"database": threading.Lock(), "redis": threading.Lock()}
        self._answers: dict[str, tuple[float, str]] = {}

    def of(self, service: str) -> str:
        """"ok", or "down: <why>"."""
        with self._locks[service]:
            checked_at, answer = self._answers.get(service, (-CHECK_EVERY, ""))
            if time.monotonic() - checked_at >= CHECK_EVERY:
                answer = _check_database() if service == "database" else _check_redis()
                self._answers[service] = (time.monotonic(), answer)
            return answer

    def current(self) -> dict[str, str]:
        services = ["database", "redis"] if settings.REDIS_URL else ["database"]
        return {service: self.of(service) for service in services}


CHECKS = _Checks()


def _check_database() -> str:
    """A fresh connection, not a pooled one: the pool's waiters are what /health must not queue
    behind. "ok", or "down" with why."""
    try:
        if not settings.IS_POSTGRES:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return "ok"
        params = {**connection.get_connection_params(), "connect_timeout": settings.DB_CONNECT_TIMEOUT}
        with psycopg.connect(**params) as fresh:
            fresh.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means down
        return f"down: {exc.__class__.__name__}"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.DB_CONNECT_TIMEOUT,
                                      socket_connect_timeout=settings.DB_CONNECT_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"


def health_body() -> dict[str, Any]:
    """The body of /health: ``{"status": "ok"}``, or ``degraded`` with the checks when a backing
    service is down."""
    checks = CHECKS.current()
    if all(value == "ok" for value in checks.values()):
        return {"status": "ok"}
    return {"status": "degraded", "checks": checks}


def health(request: HttpRequest) -> JsonResponse:
    """The view, for callers of the URL conf (tests' clients); servers answer it in the handler."""
    return JsonResponse(health_body())


def ready(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


def fail_fast_while_the_database_is_down(pool: Any) -> Any:
    """Makes ``pool`` (the web process's psycopg pool) give up on a connection after
    ``DB_DOWN_WAIT`` seconds when a fresh connection fails too (the database is down), instead of
    after the pool's whole timeout; when the database answers (the pool is only busy) the request
    waits the rest of that timeout. One fresh connection a second at most checks it."""
    getconn = pool.getconn

    def getconn_or_fail_fast(timeout: float | None = None) -> Any:
        total = pool.timeout if timeout is None else timeout
        first = min(total, settings.DB_DOWN_WAIT)
        try:
            return getconn(first)
        except PoolTimeout:
            if total <= first or CHECKS.of("database") != "ok":
                raise
        return getconn(total - first)

    pool.getconn = getconn_or_fail_fast
    return pool
