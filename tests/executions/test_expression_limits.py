"""The runtime side of expression budgets: a node whose expression goes over its budget fails
once with ``expression_limit`` naming the field (no retry, no redelivery), the worker that
evaluated it goes on working, and a light node's timeout ends its expressions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from executions.models import ExecutionEvent
from tests.executions.conftest import Run, Store, doc, steps
from workflows.spec.expressions import Limits, configure_limits, current_limits

LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def test_a_bomb_on_a_worker_fails_the_node_once_and_the_worker_keeps_working(dispatcher: str, store: Store,
                                                                              run: Run) -> None:
    """GIVEN a foreach (run by a worker) whose item expression is a power bomb WHEN it runs
    THEN the node fails at once with expression_limit, is not retried nor requeued as if its
    worker had died, and the same worker then runs another execution to the end."""
    store(doc("worker-bomb", """
  nodes:
    - id: each
      type: foreach
      retry: {max_attempts: 3, initial_delay: 0.1s}
      config:
        items: "{{ input.items }}"
        node: {type: transform, config: {mapping: {value: "{{ item ** input.e }}"}}}
"""))
    failed = run("worker-bomb", {"items": [9], "e": 387420489})
    assert failed["status"] == "failed"
    node = steps(failed)["each"]
    assert node["status"] == "failed" and node["attempt"] == 1
    assert node["error"]["code"] == "expression_limit", node["error"]
    assert "config.mapping.value" in node["error"]["message"]
    types = list(ExecutionEvent.objects.filter(execution_id=failed["id"]).values_list("type", flat=True))
    assert "node.requeued" not in types and "node.retrying" not in types
    ok = run("worker-bomb", {"items": [2, 3], "e": 3})
    assert ok["status"] == "succeeded", ok["error"]
    assert steps(ok)["each"]["output"] == [{"value": 8}, {"value": 27}]


@pytest.fixture
def generous_cpu() -> Iterator[None]:
    before = current_limits()
    configure_limits(Limits(cpu_seconds=120))
    yield
    configure_limits(before)


def test_a_light_node_running_inline_obeys_its_timeout(embedded: Any, store: Store, run: Run,
                                                       generous_cpu: None) -> None:
    """GIVEN a CPU budget of two minutes and a transform with ``timeout: 300ms`` whose loops
    would run for hours WHEN it runs inline THEN it times out after its timeout, and its
    ``timeout_action`` applies."""
    store(doc("slow-inline", f"""
  nodes:
    - id: loops
      type: transform
      timeout: 300ms
      config: {{mapping: {{value: "{LOOPS}"}}}}
    - id: tolerant
      type: transform
      timeout: 300ms
      timeout_action: ignore
      config: {{mapping: {{value: "{LOOPS}"}}}}
"""))
    execution = run("slow-inline", wait=60)
    assert execution["status"] == "failed"
    by_node = steps(execution)
    assert by_node["loops"]["status"] == "timed_out"
    assert by_node["loops"]["error"]["code"] == "timeout"
    assert "config.mapping.value" in by_node["loops"]["error"]["message"]


def test_an_ignored_timeout_lets_the_run_go_on(embedded: Any, store: Store, run: Run, generous_cpu: None) -> None:
    store(doc("slow-ignored", f"""
  nodes:
    - id: tolerant
      type: transform
      timeout: 300ms
      timeout_action: ignore
      config: {{mapping: {{value: "{LOOPS}"}}}}
    - {{id: after, type: transform, config: {{mapping: {{done: true}}}}}}
  edges:
    - {{from: tolerant, to: after}}
"""))
    execution = run("slow-ignored", wait=60)
    assert execution["status"] == "succeeded", execution["error"]
    assert steps(execution)["after"]["output"] == {"done": True}


def test_variables_over_budget_fail_the_execution_cleanly(embedded: Any, store: Store, run: Run) -> None:
    store(doc("bad-vars", """
  variables: {huge: "{{ 'a' * 10**9 }}"}
  nodes:
    - {id: one, type: transform, config: {mapping: {v: "{{ vars.huge }}"}}}
"""))
    execution = run("bad-vars")
    assert execution["status"] == "failed"
    assert execution["error"]["code"] == "expression_limit"
    assert "variables.huge" in execution["error"]["message"]


def test_a_fallback_output_over_budget_fails_the_node(embedded: Any, store: Store, run: Run) -> None:
    store(doc("bad-fallback", """
  nodes:
    - id: one
      type: fail
      fallback_output: {v: "{{ 'a' * 10**9 }}"}
      config: {message: nope}
"""))
    execution = run("bad-fallback")
    assert execution["status"] == "failed"
    node = steps(execution)["one"]
    assert node["status"] == "failed" and node["error"]["code"] == "expression_limit"
