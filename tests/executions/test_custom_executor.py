"""A custom node type and executor registered from Python (the example in examples/)."""

from __future__ import annotations

import examples.slack_message  # noqa: F401  (registers slack_message)
from executions.executors import get_executor
from tests.executions.conftest import Run, Store, doc
from tests.executions.servers import LocalServer


def test_a_custom_executor_runs_in_a_workflow(embedded: object, store: Store, run: Run, http_server: LocalServer
                                              ) -> None:
    assert get_executor("slack_message").queue == "io"
    store(doc("notify", f"""
  nodes:
    - id: notify
      type: slack_message
      config: {{webhook_url: "{http_server.url}/echo", text: "hi {{{{ input.who }}}}"}}
  output: "{{{{ nodes.notify.output }}}}"
"""))
    execution = run("notify", {"who": "ann"})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == {"sent": True, "status": 200}
    assert http_server.requests[-1]["body"] == {"text": "hi ann"}
