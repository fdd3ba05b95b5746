"""A webhook's token (its credential) is not written by uvicorn's access log: the filter the
triggers app adds masks it in the request line and keeps the arguments uvicorn's formatter reads."""

from __future__ import annotations

import io
import logging

from uvicorn.logging import AccessFormatter

from triggers.logs import ACCESS_LOGGER, RedactHookTokens

TOKEN = "k-RUQE4cAfGKix3ymiPfnqVyPFQQyof72brIZ-tJi2U"


def test_the_access_log_shows_a_hook_call_without_its_token() -> None:
    access = logging.getLogger(ACCESS_LOGGER)
    assert any(isinstance(existing, RedactHookTokens) for existing in access.filters)  # added by the app
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    access.addHandler(handler)
    level, propagate = access.level, access.propagate
    access.setLevel(logging.INFO)
    access.propagate = False
    try:
        # As uvicorn's HTTP protocols log each request.
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", f"/hooks/{TOKEN}?x=1", "1.1", 202)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/triggers", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
        access.propagate = propagate
    lines = stream.getvalue().splitlines()
    assert lines == [
        '127.0.0.1:5000 - "POST /hooks/[REDACTED]?x=1 HTTP/1.1" 202 Accepted',
        '127.0.0.1:5000 - "GET /api/v1/triggers HTTP/1.1" 200 OK',
    ]
