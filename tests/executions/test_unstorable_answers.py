"""A remote server's answer that no database can store as it is (NUL, a lone surrogate,
Infinity) is stored with those replaced, instead of failing the step that records it."""

from __future__ import annotations

from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def test_an_unstorable_answer_is_stored_with_replacements(dispatcher: str, store: Store, run: Run,
                                                          http_server: LocalServer) -> None:
    store(doc("unstorable", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/unstorable"}}}}
"""))
    execution = run("unstorable")
    assert execution["status"] == "succeeded", execution["error"]
    assert steps(execution)["call"]["output"]["body"] == {"s": "a\ufffdb\ufffdc", "n": None}
