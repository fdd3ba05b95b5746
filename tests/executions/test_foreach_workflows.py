"""foreach over a sub-workflow: a child execution per item, at most ``concurrency`` running,
results in the items' order; a failed child fails the foreach naming its item."""

from __future__ import annotations

import uuid

from executions.models import Execution
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def test_each_item_runs_the_workflow_as_a_child_a_few_at_a_time(dispatcher: str, store: Store, run: Run,
                                                                http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("double", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/inflight?key={key}&ms=150&until_peak=2"}}}}
    - {{id: twice, type: transform, config: {{mapping: {{v: "{{{{ input.n * 2 }}}}"}}}}}}
  edges:
    - {{from: call, to: twice}}
  output: {{v: "{{{{ nodes.twice.output.v }}}}"}}
"""))
    store(doc("fan", """
  nodes:
    - id: each
      type: foreach
      config: {items: "{{ input.numbers }}", workflow: double, input: {n: "{{ item }}"}, concurrency: 2}
"""))
    execution = run("fan", {"numbers": [1, 2, 3, 4, 5]}, wait=60)
    assert execution["status"] == "succeeded", execution["error"]
    assert steps(execution)["each"]["output"] == [{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}, {"v": 10}]
    assert http_server.peak[key] == 2
    children = Execution.objects.filter(parent_id=execution["id"])
    assert children.count() == 5 and {child.status for child in children} == {"succeeded"}


def test_a_failed_child_fails_the_foreach_naming_its_item(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("picky", """
  nodes:
    - {id: check, type: transform, config: {mapping: {v: "{{ 10 / input.item }}"}}}
"""))
    store(doc("fan-fail", """
  nodes:
    - id: each
      type: foreach
      config: {items: [5, 0, 2], workflow: picky, concurrency: 1}
"""))
    execution = run("fan-fail", wait=60)
    assert execution["status"] == "failed"
    error = steps(execution)["each"]["error"]
    assert error["message"].startswith("item 1: the sub-workflow failed")
    assert error["details"]["index"] == 1
