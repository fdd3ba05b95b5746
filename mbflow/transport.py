"""How a request travels: the base URL and key, the error envelope turned into exceptions, and
retries with backoff on 429 and 503 that honour ``Retry-After``.

The sync and async clients share everything here but the sending itself: ``RetryPolicy``
decides, for each failed try, whether and after how long to try again.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx

from mbflow.errors import ApiError, TransportError, error_for

T = TypeVar("T")
API_PREFIX = "/api/v1"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API request and how to read its answer."""

    method: str
    path: str  # below /api/v1
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: str | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Seconds the server may take on purpose (a ``wait`` or a long poll), added to the timeout.
    extra_time: float = 0.0
    # Safe to send again after a broken connection (an idempotency key makes a start so).
    idempotent: bool = False

    def request_kwargs(self, timeout: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (self.params or {}).items() if v is not None},
                                  "headers": dict(self.headers), "timeout": timeout + self.extra_time}
        if self.content is not None:
            kwargs["content"] = self.content
        elif self.json is not None:
            kwargs["json"] = self.json
        return kwargs

    @property
    def safe_to_repeat(self) -> bool:
        return self.idempotent or self.method in IDEMPOTENT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Tries a request up to ``attempts`` times in all when the server answers 429 or 503 (it
    did nothing: docs/api.md) or cannot be reached. It waits what ``Retry-After`` says, else
    ``backoff`` seconds doubled each try with full jitter, never more than ``max_delay``; an
    answer asking for a longer wait than ``max_delay`` is raised at once rather than retried
    early. A connection that broke after the request was sent is tried again only for a
    request that is safe to repeat."""

    attempts: int = 4
    backoff: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = frozenset({429, 503})

    def after_error(self, call: Call[Any], attempt: int, error: ApiError) -> float | None:
        """Seconds to wait before trying again, or None to raise ``error``."""
        if error.status not in self.statuses or attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        return self._backoff(attempt)

    def after_failure(self, call: Call[Any], attempt: int, exc: httpx.TransportError) -> float | None:
        if attempt >= self.attempts:
            return None
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if not never_sent and not call.safe_to_repeat:
            return None
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.backoff * 2 ** (attempt - 1)))


NO_RETRIES = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_error(response: httpx.Response) -> None:
    """Raises the envelope of an answer of 400 or more as its ``ApiError``."""
    if response.status_code < 400:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    raise error_for(response.status_code, body, retry_after_seconds(response.headers.get("Retry-After")))


def api_base(url: str) -> str:
    """The server's address as given (``http://host:8181`` or ``.../api/v1``) → its API base."""
    url = url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "mbflow-python"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def unreachable(url: str, exc: httpx.TransportError) -> TransportError:
    return TransportError(f"Could not reach the MBFlow server at {url}: {type(exc).__name__}: {exc}")
