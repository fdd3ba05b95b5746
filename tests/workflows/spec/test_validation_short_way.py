"""The short way through validation: the quick schema check, blocks of nodes, the graph's order.

Each test states a case where the short way could answer differently from the part-by-part checks
or from a plain walk of the graph; validation must report exactly the same problems either way.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.spec import (
    NodeConfig,
    dump_yaml,
    load_document,
    load_document_object,
    node_type,
    validate_document,
    validation,
)
from workflows.spec.document_check import edges_to_check


def document(nodes: list[Any], edges: list[Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "demo"},
            "spec": {"nodes": nodes, "edges": edges, **spec}}


def problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [issue.to_dict() for issue in validate_document(load_document(dump_yaml(data))).errors]


def part_by_part(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems found when the quick check is not trusted."""
    with mock.patch.object(validation, "nodes_hold", lambda nodes: False):
        return problems(data)


def chain(size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes n0 → n1 → ... each reading its parent."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "http", "config": {"url": "https://x"}}]
    nodes += [{"id": f"n{i}", "type": "transform", "config": {"mapping": {"v": f"{{{{ nodes.n{i - 1}.output }}}}"}}}
              for i in range(1, size)]
    return nodes, [{"from": f"n{i - 1}", "to": f"n{i}"} for i in range(1, size)]


NODE_KEYS = ["id", "type", "config", "name", "when", "timeout", "retry", "fallback", "fallback_output", "colour"]
CONFIG_KEYS = ["url", "method", "json", "mapping", "duration", "cases", "auth", "timeout", "extra"]
EDGE_KEYS = ["from", "to", "on", "port", "condition", "weight"]
VALUES = [None, 1, -1, 2.5, True, "x", "bad id!", "30s", "soon", "POST", "FETCH", "{{ input.x }}",
          "{{ nodes.n1.output }}", "{{ broken ) }}", "$.n0.body", [], {}, [1], {"k": "{{ nodes.n2.output }}"},
          {"type": "bearer"}, [{"output": "a"}], "n0", "n2", "ghost", "delay", "noop", "switch"]


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    nodes, edges = chain(4)
    nodes[2] = {"id": "n2", "type": "delay", "config": {"duration": "{{ input.wait }}"}}
    nodes[3]["when"] = "{{ nodes.n1.output.ok }}"
    edges.append({"from": "n0", "to": "n3", "condition": "{{ output == 1 }}"})
    data = document(nodes, edges)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["node", "config", "edge", "spec"]))
        value = draw(st.sampled_from(VALUES))
        if where == "node":
            nodes[draw(st.integers(0, 3))][draw(st.sampled_from(NODE_KEYS))] = value
        elif where == "config":
            config = nodes[draw(st.integers(0, 3))].setdefault("config", {})
            if isinstance(config, dict):
                config[draw(st.sampled_from(CONFIG_KEYS))] = value
        elif where == "edge":
            edges[draw(st.integers(0, len(edges) - 1))][draw(st.sampled_from(EDGE_KEYS))] = value
        else:
            data["spec"][draw(st.sampled_from(["variables", "output", "compensation", "timeout", "bogus"]))] = value
    return data


@settings(max_examples=300, deadline=None)
@given(mutated_documents())
def test_the_quick_check_reports_exactly_what_the_part_by_part_checks_report(data: dict[str, Any]) -> None:
    assert problems(data) == part_by_part(data)


def test_a_config_expression_where_a_value_is_typed_takes_the_short_way() -> None:
    """GIVEN delay durations written as expressions WHEN validated THEN the quick check alone accepts them."""
    nodes = [{"id": "a", "type": "delay", "config": {"duration": "{{ input.wait }}"}},
             {"id": "b", "type": "webhook_response", "config": {"status": "{{ input.status }}"}}]
    with mock.patch.object(validation, "_check_schema", side_effect=AssertionError("part by part")):
        report = validate_document(load_document_object(document(nodes, [{"from": "a", "to": "b"}])))
    assert report.valid and report.data is not None


def test_an_expression_deep_in_a_typed_config_is_still_left_for_run_time() -> None:
    nodes = [{"id": "a", "type": "llm", "config": {"model": "m", "messages": [{"role": "{{ input.role }}",
                                                                               "content": "hi"}]}}]
    assert problems(document(nodes, [])) == []


def test_only_edges_with_more_than_their_ends_are_schema_checked() -> None:
    edges = [{"from": "a", "to": "b"}, {"from": "a", "to": "b", "port": "x"}, {"from": "a"}, "a → b",
             {"from": "a", "to": 3}]
    sources = [edge.get("from") if isinstance(edge, dict) else None for edge in edges]
    targets = [edge.get("to") if isinstance(edge, dict) else None for edge in edges]
    assert edges_to_check(edges, sources, targets) == [1, 2, 3, 4]
    assert edges_to_check(edges[:1] * 3, sources[:1] * 3, targets[:1] * 3) == []


def test_problems_past_the_first_block_of_nodes_point_at_their_nodes() -> None:
    """GIVEN 1,300 nodes (three blocks) with problems in the later blocks WHEN validated THEN each is found
    where it was written, in the usual order."""
    nodes, edges = chain(1300)
    nodes[700] = {"id": "n700", "type": "htp"}
    nodes[1100]["config"] = {"mapping": {"v": "{{ nodes.n1200.output }}"}}
    nodes[1250]["id"] = "n3"
    edges[900]["to"] = "ghost"
    edges[1201]["port"] = "nope"
    found = problems(document(nodes, edges))
    assert [(e["code"], e["node_id"], e["edge"], e["line"]) for e in found] == [
        ("unknown_node_type", "n700", None, 3507),
        ("duplicate_node_id", "n3", None, 6253),
        ("dangling_edge", "n900", 900, 8305),
        ("unknown_port", "n1201", 1201, 8908),
        ("dangling_edge", "n1249", 1249, 9004),  # n1250 is now a second n3
        ("dangling_edge", "n1251", 1250, 9005),
        ("unknown_node_reference", "n1251", None, 6262),
        ("reference_not_upstream", "n901", None, 4512),  # n900 → n901 goes elsewhere
        ("reference_not_upstream", "n1100", None, 5507),
        ("reference_not_upstream", "n3", None, 6257),  # the second n3 reads as the first one
    ]
    assert found == part_by_part(document(nodes, edges))


def test_nodes_listed_against_the_flow_are_ordered_by_their_edges() -> None:
    """GIVEN nodes listed from last to first WHEN they read an ancestor, a sibling or a child THEN only the
    ancestor is upstream."""
    nodes = [
        {"id": "leaf", "type": "log", "config": {"message": "{{ nodes.root.output }} {{ nodes.side.output }}"}},
        {"id": "side", "type": "log", "config": {"message": "{{ nodes.middle.output }}"}},
        {"id": "middle", "type": "log", "config": {"message": "{{ nodes.leaf.output }}"}},
        {"id": "root", "type": "noop"},
    ]
    edges = [{"from": "root", "to": "middle"}, {"from": "middle", "to": "leaf"}, {"from": "root", "to": "side"}]
    found = {(e["node_id"], e["message"].split("`")[3]) for e in problems(document(nodes, edges))}
    assert found == {("leaf", "side"), ("side", "middle"), ("middle", "leaf")}


def test_a_far_ancestor_is_upstream_and_a_later_node_is_not() -> None:
    nodes, edges = chain(6)
    nodes[5]["config"] = {"mapping": {"v": "{{ nodes.n1.output }}", "w": "{{ nodes.n5.output }}"}}
    nodes[2]["config"] = {"mapping": {"v": "{{ nodes.n4.output }}"}}
    found = [(e["code"], e["node_id"], e["path"][-1]) for e in problems(document(nodes, edges))]
    assert found == [("reference_not_upstream", "n2", "v"), ("reference_not_upstream", "n5", "w")]


def test_a_node_type_registered_after_a_validation_is_checked() -> None:
    nodes = [{"id": "a", "type": "test_late_type", "config": {"channel": "x"}}]
    assert [e["code"] for e in problems(document(nodes, []))] == ["unknown_node_type"]

    @node_type("test_late_type", title="Late", category="Test")
    class LateConfig(NodeConfig):
        channel: str
        text: str

    assert [e["code"] for e in problems(document(nodes, []))] == ["invalid_config"]
    nodes[0]["config"]["text"] = "hello"
    assert problems(document(nodes, [])) == []


def test_a_document_with_more_expressions_than_the_cache_holds_is_read_without_it() -> None:
    nodes, edges = chain(6)
    nodes[4]["config"] = {"mapping": {"v": "{{ nodes.n5.output }}", "w": "{{ nodes.ghost.output }}"}}
    expected = [("unknown_node_reference", "n4"), ("reference_not_upstream", "n4")]
    with mock.patch.object(validation, "_CACHED_TEXTS", 2):
        assert [(e["code"], e["node_id"]) for e in problems(document(nodes, edges))] == expected
    assert [(e["code"], e["node_id"]) for e in problems(document(nodes, edges))] == expected
