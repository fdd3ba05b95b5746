"""Retries: 429 and 503 are tried again after ``Retry-After``; a stream whose connection breaks
resumes from the last event it delivered. Against a real server whose database is cut (503),
a local server that answers 429, and a cut connection between the SDK and the server."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

import mbflow
from mbflow import Client, RetryPolicy
from mbflow.errors import ApiError
from mbflow.transport import Call
from tests.forwarder import Forwarder
from tests.sdk.conftest import slow
from tests.server_process import ServerProcess, server_process

PAGE = {"count": 0, "next": None, "previous": None, "results": []}


class Busy:
    """A local HTTP server answering 429 (``Retry-After`` as given) ``refusals`` times, then an
    empty page; it records when each request came."""

    def __init__(self, refusals: int, retry_after: str) -> None:
        self.refusals, self.retry_after = refusals, retry_after
        self.arrivals: list[float] = []
        busy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                busy.arrivals.append(time.monotonic())
                refused = len(busy.arrivals) <= busy.refusals
                body = json.dumps({"error": {"code": "throttled", "message": "Slow down.", "details": {}}}
                                  if refused else PAGE).encode()
                self.send_response(429 if refused else 200)
                if refused:
                    self.send_header("Retry-After", busy.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def busy() -> Iterator[Busy]:
    server = Busy(2, "1")
    yield server
    server.close()


def test_a_429_is_tried_again_no_sooner_than_retry_after(busy: Busy) -> None:
    with Client(busy.url, "key", retry=RetryPolicy(attempts=3)) as client:
        page = client.workflows.list()
    assert page.count == 0
    assert len(busy.arrivals) == 3
    gaps = [later - earlier for earlier, later in zip(busy.arrivals, busy.arrivals[1:], strict=False)]
    assert all(gap >= 1.0 for gap in gaps), gaps


def test_retry_after_as_an_http_date_is_honoured() -> None:
    server = Busy(1, format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True))
    try:
        with Client(server.url, "key") as client:
            client.workflows.list()
        assert len(server.arrivals) == 2
        assert server.arrivals[1] - server.arrivals[0] >= 1.0  # the date has whole seconds
    finally:
        server.close()


def test_when_the_tries_run_out_or_the_wait_is_too_long_the_429_is_raised() -> None:
    server = Busy(5, "120")
    try:
        with Client(server.url, "key", retry=RetryPolicy(attempts=4, max_delay=30)) as client, \
                pytest.raises(mbflow.RateLimited) as limited:
            client.workflows.list()
        assert limited.value.retry_after == 120 and limited.value.code == "throttled"
        assert len(server.arrivals) == 1  # asked to wait longer than allowed: not tried early
    finally:
        server.close()


class Watching(RetryPolicy):
    """A retry policy that also tells the test when the client got an error answer."""

    def __init__(self, seen: list[ApiError], got_one: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        object.__setattr__(self, "seen", seen)
        object.__setattr__(self, "got_one", got_one)

    def after_error(self, call: Call[Any], attempt: int, error: ApiError) -> float | None:
        self.seen.append(error)  # type: ignore[attr-defined]
        self.got_one.set()  # type: ignore[attr-defined]
        return super().after_error(call, attempt, error)


@pytest.fixture(scope="module")
def server_with_a_cuttable_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess,
                                                                                                Forwarder]]:
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    parsed = urlparse(given)
    name = f"mbflow_sdk_{uuid.uuid4().hex[:10]}"
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    forwarder = Forwarder(parsed.hostname or "127.0.0.1", parsed.port or 5432)
    netloc = f"{parsed.username or 'postgres'}{':' + parsed.password if parsed.password else ''}@127.0.0.1:" \
             f"{forwarder.port}"
    try:
        with server_process(Path(tmp_path_factory.mktemp("sdk-cut")), DB_POOL_TIMEOUT="1",
                            DATABASE_URL=urlunparse(parsed._replace(netloc=netloc, path=f"/{name}"))) as server:
            yield server, forwarder
    finally:
        forwarder.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_503_while_the_database_is_down_is_retried_until_it_is_back(
        server_with_a_cuttable_database: tuple[ServerProcess, Forwarder]) -> None:
    """GIVEN the server's database cut WHEN the SDK lists workflows THEN it gets 503 with
    Retry-After, waits that long, and its next try, once the database is back, succeeds."""
    server, database = server_with_a_cuttable_database
    seen: list[ApiError] = []
    got_one = threading.Event()
    answer: list[Any] = []
    database.cut()
    try:
        with Client(server.url, server.key, retry=Watching(seen, got_one, attempts=6, max_delay=10)) as client:
            caller = threading.Thread(target=lambda: answer.append(client.workflows.list()))
            caller.start()
            assert got_one.wait(60), "the server never answered"
            database.restore()
            caller.join(60)
    finally:
        database.restore()
    assert answer and answer[0].count >= 0, "the call did not succeed after the database came back"
    assert seen and all(isinstance(error, mbflow.ServiceUnavailable) for error in seen)
    assert seen[0].retry_after == 5 and seen[0].code == "service_unavailable"


def test_without_retries_the_503_is_raised_with_its_envelope(
        server_with_a_cuttable_database: tuple[ServerProcess, Forwarder]) -> None:
    server, database = server_with_a_cuttable_database
    database.cut()
    try:
        with Client(server.url, server.key, retry=RetryPolicy(attempts=1)) as client, \
                pytest.raises(mbflow.ServiceUnavailable) as down:
            client.workflows.list()
    finally:
        database.restore()
    assert down.value.status == 503 and down.value.retry_after == 5


def test_a_stream_cut_in_the_middle_resumes_from_its_last_event(server: ServerProcess) -> None:
    """GIVEN a run streamed through a connection the test can cut WHEN the connection is cut
    after the first events THEN the stream reconnects from the last seq: every event once, in order."""
    host = urlparse(server.url)
    line = Forwarder(host.hostname or "127.0.0.1", host.port or 80)
    name = f"slow-{uuid.uuid4().hex[:8]}"
    try:
        with Client(f"http://127.0.0.1:{line.port}", server.key,
                    retry=RetryPolicy(attempts=20, backoff=0.05, max_delay=0.5)) as client:
            client.workflows.create(slow(name, "2s"))
            execution = client.executions.start(name)
            seqs: list[int] = []
            types: list[str] = []
            for event in execution.stream():
                seqs.append(event.seq)
                types.append(event.type)
                if len(seqs) == 2:
                    line.cut()
                    line.restore()
            assert line.accepted >= 2  # it did connect again
            assert seqs == list(range(1, len(seqs) + 1))
            assert types[-1] == "execution.succeeded"
    finally:
        line.close()
