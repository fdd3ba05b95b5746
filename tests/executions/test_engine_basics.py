"""Wave scheduling, routing and failure semantics, under both dispatchers."""

from __future__ import annotations

from typing import Any

from tests.executions.conftest import Run, Store, doc, steps

CHAIN = doc("chain", """
  nodes:
    - {id: a, type: transform, config: {mapping: {n: "{{ input.n + 1 }}"}}}
    - {id: b, type: transform, config: {mapping: {n: "{{ nodes.a.output.n * 2 }}"}}}
    - {id: c, type: transform, config: {mapping: {n: "{{ upstream.n + 1 }}", name: "{{ vars.who }}"}}}
  variables: {who: world}
  edges:
    - {from: a, to: b}
    - {from: b, to: c}
  output: {result: "{{ nodes.c.output.n }}", greeting: "hello {{ vars.who }}"}
""")


def test_it_runs_a_chain_and_renders_the_output(dispatcher: str, store: Store, run: Run) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1}, expect=200)
    assert execution["status"] == "succeeded", (execution["error"], execution["steps"])
    assert execution["output"] == {"result": 5, "greeting": "hello world"}
    assert execution["completed_steps"] == execution["total_steps"] == 3
    assert [s["status"] for s in execution["steps"]] == ["succeeded"] * 3
    assert steps(execution)["c"]["output"] == {"n": 5, "name": "world"}


ROUTING = doc("routing", """
  nodes:
    - id: plan
      type: switch
      config: {value: "{{ input.plan }}", cases: [{equals: pro, output: pro}, {equals: free, output: free}],
               default: other}
    - {id: pro, type: transform, config: {mapping: {tier: pro}}}
    - {id: free, type: transform, config: {mapping: {tier: free}}}
    - {id: other, type: transform, config: {mapping: {tier: other}}}
    - {id: adult, type: condition, config: {expression: "input.age >= 18"}}
    - {id: grown, type: noop}
    - {id: young, type: noop}
    - {id: join, type: merge, config: {strategy: object}}
  edges:
    - {from: plan, to: pro, port: pro}
    - {from: plan, to: free, port: free}
    - {from: plan, to: other, port: other}
    - {from: pro, to: join}
    - {from: free, to: join}
    - {from: other, to: join}
    - {from: adult, to: grown, port: "true"}
    - {from: adult, to: young, port: "false"}
  output: {tier: "{{ nodes.join.output.tier }}", adult: "{{ nodes.adult.output }}"}
""")


def test_switch_and_condition_route_and_untaken_paths_are_skipped(dispatcher: str, store: Store, run: Run) -> None:
    store(ROUTING)
    execution = run("routing", {"plan": "free", "age": 12})
    by_node = steps(execution)
    assert execution["status"] == "succeeded", (execution["error"], execution["steps"])
    assert execution["output"] == {"tier": "free", "adult": False}
    assert by_node["plan"]["output"] == "free"
    assert {n: by_node[n]["status"] for n in ("pro", "free", "other", "grown", "young", "join")} == {
        "pro": "skipped", "free": "succeeded", "other": "skipped",
        "grown": "skipped", "young": "succeeded", "join": "succeeded",
    }
    unknown = run("routing", {"plan": "gold", "age": 40})
    assert unknown["output"] == {"tier": "other", "adult": True}


def test_a_failure_without_a_failure_edge_fails_the_execution(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("fails", """
  nodes:
    - {id: start, type: noop}
    - {id: boom, type: fail, config: {message: "no {{ input.thing }}"}}
    - {id: after, type: noop}
  edges:
    - {from: start, to: boom}
    - {from: boom, to: after}
"""))
    execution = run("fails", {"thing": "luck"})
    by_node = steps(execution)
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "boom"
    assert "no luck" in execution["error"]["message"]
    assert by_node["boom"]["status"] == "failed"
    assert by_node["boom"]["error"]["message"] == "no luck"
    assert by_node["after"]["status"] == "cancelled"


def test_a_failure_edge_handles_the_failure(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("handled", """
  nodes:
    - {id: boom, type: fail, config: {message: broken}}
    - {id: happy, type: transform, config: {mapping: {path: happy}}}
    - {id: recover, type: transform, config: {mapping: {recovered: "{{ nodes.boom.error.message }}"}}}
  edges:
    - {from: boom, to: happy}
    - {from: boom, to: recover, on: failure}
  output: "{{ nodes.recover.output }}"
"""))
    execution = run("handled")
    assert execution["status"] == "succeeded", (execution["error"], execution["steps"])
    assert execution["output"] == {"recovered": "broken"}
    assert steps(execution)["happy"]["status"] == "skipped"


def test_when_false_skips_the_node_and_its_descendants(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("guarded", """
  nodes:
    - {id: gate, type: transform, when: "{{ input.go }}", config: {mapping: {went: true}}}
    - {id: next, type: noop}
    - {id: other, type: transform, config: {mapping: {x: 1}}}
  edges:
    - {from: gate, to: next}
"""))
    by_node = steps(run("guarded", {"go": False}))
    assert by_node["gate"]["status"] == "skipped"
    assert by_node["next"]["status"] == "skipped"
    assert by_node["other"]["status"] == "succeeded"
    assert steps(run("guarded", {"go": True}))["next"]["status"] == "succeeded"


def test_edge_conditions_see_the_source_output(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("conditional", """
  nodes:
    - {id: score, type: transform, config: {mapping: {value: "{{ input.value }}"}}}
    - {id: high, type: noop}
    - {id: low, type: noop}
  edges:
    - {from: score, to: high, condition: "{{ output.value > 10 }}"}
    - {from: score, to: low, condition: "output.value <= 10"}
"""))
    by_node: dict[str, Any] = steps(run("conditional", {"value": 50}))
    assert (by_node["high"]["status"], by_node["low"]["status"]) == ("succeeded", "skipped")
    assert by_node["high"]["output"] == {"value": 50}
