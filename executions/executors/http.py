from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable
from http.cookiejar import CookieJar
from typing import Any

import httpcore
import httpx
from httpcore._sync.interfaces import ConnectionInterface

from executions.executors.base import Executor, NodeContext, NodeTimeout, PermanentError, RetryableError
from executions.executors.registry import executor
from executions.executors.ssrf import allowed_addresses, check_host
from workflows.spec.durations import parse_duration
from workflows.spec.expressions import reveal

# Each node's request is recorded in the execution's events; httpx's own line per request
# would only repeat it in the logs (and cost time on the hot path).
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_TIMEOUT = 30.0
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


class _NoCookieJar(CookieJar):
    """Keeps no cookie. The client below serves every node of every tenant: a cookie one
    response set must never ride along on another node's request (a node that needs a cookie
    sends it in its headers)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass

    def set_cookie(self, cookie: Any) -> None:
        pass


class _CheckedBackend(httpcore.SyncBackend):
    """Opens a connection only to an address the SSRF guard checked, resolved once: the name is
    not resolved again by the socket (TLS still verifies the certificate for the name)."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = allowed_addresses(host, port)
        if addresses is None:  # allowed by name
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"No address to connect to for {host}.")


class _Pool(httpcore.ConnectionPool):
    """httpcore's pool (1.0.x), less a race that closed connections in use (httpcore's own
    issue encode/httpcore#1110, open at 1.0.9; this overrides its private
    ``_assign_requests_to_connections``, hence the pin of httpcore to 1.0.x in pyproject.toml).

    httpcore hands a pooled connection to a waiting request under the pool's lock, but the
    connection stays idle until the request's own thread starts sending on it. Meanwhile another
    thread's pass over the pool (every request start and end makes one) could take it for a
    surplus idle connection - its count of idle connections counted every connection, so past
    ``max_keepalive_connections`` connections in the pool every idle one was surplus - or for an
    expired one, and close it outside the lock: when the request's thread had started on it by
    then, its send or receive met a closed socket (``[Errno 9] Bad file descriptor``), or it
    waited on the closed socket for its whole timeout. Under 100 concurrent calls to one local
    server (tests/executions/test_http_pool.py) some 15% of the closes hit a connection handed to
    a request and about one call in 4,000 failed so. Here a connection handed to a request that
    has not given it back is never closed nor handed to a second one, and only idle connections
    count as idle. HTTP/1.1 only (the transport does not enable HTTP/2, whose connections serve
    several requests at once)."""

    def _assign_requests_to_connections(self) -> list[ConnectionInterface]:
        closing: list[ConnectionInterface] = []
        taken = {id(request.connection) for request in self._requests if request.connection is not None}
        idle = sum(1 for connection in self._connections if id(connection) not in taken and connection.is_idle())
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif id(connection) in taken:
                continue
            elif connection.has_expired() or (connection.is_idle() and idle > self._max_keepalive_connections):
                idle -= connection.is_idle()
                self._connections.remove(connection)
                closing.append(connection)
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            free = [connection for connection in self._connections if id(connection) not in taken]
            available = [connection for connection in free
                         if connection.can_handle_request(origin) and connection.is_available()]
            if available:
                connection = available[0]
            elif len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
            elif idle_ones := [connection for connection in free if connection.is_idle()]:
                self._connections.remove(idle_ones[0])
                closing.append(idle_ones[0])
                connection = self.create_connection(origin)
                self._connections.append(connection)
            else:
                continue  # waits for a connection to come back
            pool_request.assign_to_connection(connection)
            taken.add(id(connection))
        return closing


_TRANSPORT = httpx.HTTPTransport(retries=0, limits=_LIMITS)
# httpx takes no network backend of its own choosing, nor a pool class; its pool is replaced by
# one of the same settings that connects through the guard.
_TRANSPORT._pool = _Pool(
    ssl_context=_TRANSPORT._pool._ssl_context, max_connections=_LIMITS.max_connections,
    max_keepalive_connections=_LIMITS.max_keepalive_connections, keepalive_expiry=_LIMITS.keepalive_expiry,
    retries=0, network_backend=_CheckedBackend(),
)

# One pooled client for every outbound call of this process (http and llm nodes): it keeps
# connections alive and builds its TLS context once, not per call.
CLIENT = httpx.Client(transport=_TRANSPORT, cookies=_NoCookieJar())


# Headers an attempt's outbound calls carry for whoever traces runs: the W3C ``traceparent`` of
# the attempt's span. ``monitoring.tracing`` wires it while tracing is on; otherwise none is sent.
TraceHeaders = Callable[[NodeContext], dict[str, str]]
_trace_headers: TraceHeaders | None = None


def wire_trace_headers(source: TraceHeaders | None) -> None:
    global _trace_headers
    _trace_headers = source


def trace_headers(ctx: NodeContext) -> dict[str, str]:
    return _trace_headers(ctx) if _trace_headers is not None else {}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def _guard(request: httpx.Request) -> None:
    url = request.url
    check_host(url.host, url.port or (443 if url.scheme == "https" else 80))


def _auth_headers(auth: dict[str, Any] | None) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    if not auth:
        return {}, None
    kind = auth.get("type")
    if kind == "bearer":
        return {"Authorization": f"Bearer {auth['token']}"}, None
    if kind == "basic":
        return {}, httpx.BasicAuth(str(auth["username"]), str(auth["password"]))
    if kind == "header":
        return {str(auth["name"]): str(auth["value"])}, None
    raise PermanentError(f"Unknown auth type {kind!r}.", code="invalid_config")


def _read_limited(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PermanentError(f"The response is {declared} bytes; the limit is {limit}.", code="response_too_large")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise PermanentError(f"The response is over the {limit}-byte limit.", code="response_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(content: bytes, content_type: str, mode: str) -> Any:
    if mode == "binary":
        return {"base64": base64.b64encode(content).decode(), "size": len(content)}
    if mode == "json" or (mode == "auto" and "json" in content_type):
        if not content:
            return None
        try:
            return httpx.Response(200, content=content).json()
        except ValueError:
            if mode == "json":
                raise PermanentError("The response is not valid JSON.", code="invalid_json") from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        if mode == "text":
            return content.decode("utf-8", "replace")
        return {"base64": base64.b64encode(content).decode(), "size": len(content)}


def _with_query(url: str, query: Any) -> httpx.URL:
    """The URL with ``query`` added to the parameters it already has (httpx's ``params`` would
    replace them)."""
    parsed = httpx.URL(url)
    return parsed.copy_merge_params(query) if query else parsed


def _timeout(config: dict[str, Any], ctx: NodeContext) -> float:
    own = config.get("timeout")
    limit = parse_duration(own) if own is not None else DEFAULT_TIMEOUT
    return min(limit, ctx.remaining(limit))


@executor("http")
class HttpExecutor(Executor):
    stateless = True

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        # Messages quote the URL as written, a secret in it as [secret]; the request gets the
        # real values, and nothing the node returns or raises quotes them.
        shown = str(config.get("url"))
        config = reveal(config)
        url = config.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PermanentError(f"`url` must be an http(s) URL, got {shown!r}.", code="invalid_config")
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        auth_headers, basic = _auth_headers(config.get("auth"))
        headers.update(auth_headers)
        if not any(name.lower() == "idempotency-key" for name in headers):  # the node's own wins
            headers["Idempotency-Key"] = ctx.idempotency_key
        for name, value in trace_headers(ctx).items():
            if not any(own.lower() == name for own in headers):
                headers[name] = value
        kwargs: dict[str, Any] = {}
        if config.get("json") is not None:
            kwargs["json"] = config["json"]
        elif config.get("form") is not None:
            kwargs["data"] = config["form"]
        elif config.get("body") is not None:
            body = config["body"]
            kwargs["content"] = body if isinstance(body, str | bytes) else httpx.Response(200, json=body).content
        timeout = _timeout(config, ctx)
        expected = config.get("expected_status")
        limit = int(config.get("max_response_bytes") or 10 * 1024 * 1024)
        try:
            request = CLIENT.build_request(
                config.get("method", "GET"), _with_query(url, config.get("query")), headers=headers,
                timeout=httpx.Timeout(timeout), **kwargs,
            )
            return self._send(request, basic, bool(config.get("follow_redirects")), expected, limit,
                              config.get("response", "auto"), shown)
        except httpx.TimeoutException:
            raise NodeTimeout(f"HTTP request to {shown} timed out after {timeout:g}s.") from None
        except httpx.InvalidURL:
            raise PermanentError(f"Invalid URL: {shown}", code="invalid_config") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"HTTP request to {shown} failed: {exc}", code="connection_error") from None

    def _send(self, request: httpx.Request, basic: httpx.BasicAuth | None, follow: bool,
              expected: list[int] | None, limit: int, mode: str, shown: str) -> dict[str, Any]:
        origin = _origin(request.url)
        for _hop in range(10):
            _guard(request)  # checked again on every redirect hop
            # Credentials go to the origin they were given for only (httpx drops the
            # Authorization header of a redirect to another origin; basic auth is re-applied
            # by ``send`` itself, so it is left out there).
            response = CLIENT.send(request, auth=basic if _origin(request.url) == origin else None, stream=True)
            try:
                if follow and response.is_redirect and response.next_request is not None:
                    request = response.next_request
                    continue
                content = _read_limited(response, limit)
            finally:
                response.close()
            return _result(response, content, expected, mode, shown if not _hop else f"{shown} (redirected)")
        raise PermanentError("Too many redirects.", code="too_many_redirects")


def _result(response: httpx.Response, content: bytes, expected: list[int] | None, mode: str,
            shown: str) -> dict[str, Any]:
    body = parse_body(content, response.headers.get("content-type", ""), mode)
    status = response.status_code
    ok = status in expected if expected else 200 <= status < 300
    if not ok:
        details = {"status": status, "body": body if len(content) <= 4096 else str(body)[:4096]}
        message = f"HTTP {status} from {shown}"
        if status in RETRYABLE_STATUS or status >= 500:
            raise RetryableError(message, details=details, code="http_status")
        raise PermanentError(message, details=details, code="http_status")
    return {"status": status, "headers": dict(response.headers), "body": body}
