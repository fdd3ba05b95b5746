"""Each call of an http node carries ``Idempotency-Key: <execution id>:<node id>:<attempt>``: a
retry after a failure is a new call with a new key; a node's own header wins. (The redelivery of
a lost attempt keeping its key: test_recovery.py and test_worker_crash.py.)"""

from __future__ import annotations

from executions.dispatch.embedded import EmbeddedDispatcher
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def keys_sent(server: LocalServer, path: str, marker: str) -> list[str | None]:
    with server.lock:
        return [request["headers"].get("idempotency-key") for request in server.requests
                if request["path"] == path and request["query"].get("key") == marker]


def test_a_retry_after_a_failure_is_a_new_call_with_a_new_key(embedded: EmbeddedDispatcher, store: Store,
                                                              run: Run, http_server: LocalServer) -> None:
    store(doc("retried", f"""
  nodes:
    - id: call
      type: http
      config: {{method: POST, url: "{http_server.url}/flaky?fail=1&key=retried", json: {{a: 1}}}}
      retry: {{max_attempts: 3, backoff: fixed, initial_delay: 10ms, jitter: false}}
"""))
    execution = run("retried")
    assert execution["status"] == "succeeded", execution
    assert steps(execution)["call"]["attempt"] == 2
    assert keys_sent(http_server, "/flaky", "retried") == [f"{execution['id']}:call:1", f"{execution['id']}:call:2"]


def test_each_item_of_a_foreach_has_its_own_key(embedded: EmbeddedDispatcher, store: Store, run: Run,
                                                http_server: LocalServer) -> None:
    store(doc("items", f"""
  nodes:
    - id: each
      type: foreach
      config:
        items: [a, b]
        node: {{type: http, config: {{url: "{http_server.url}/echo?key=items-{{{{ item }}}}"}}}}
"""))
    execution = run("items")
    assert execution["status"] == "succeeded", execution
    assert keys_sent(http_server, "/echo", "items-a") == [f"{execution['id']}:each:1:0"]
    assert keys_sent(http_server, "/echo", "items-b") == [f"{execution['id']}:each:1:1"]


def test_the_node_s_own_idempotency_key_header_wins(embedded: EmbeddedDispatcher, store: Store, run: Run,
                                                    http_server: LocalServer) -> None:
    store(doc("own-key", f"""
  nodes:
    - id: call
      type: http
      config:
        url: "{http_server.url}/echo?key=own"
        headers: {{idempotency-key: "order-{{{{ input.order }}}}"}}
"""))
    execution = run("own-key", {"order": 42})
    assert execution["status"] == "succeeded", execution
    assert keys_sent(http_server, "/echo", "own") == ["order-42"]
