"""Canonical YAML: export → import → export is byte-stable, for any document."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.spec import dump_yaml, load_document, parse_yaml, validate_document

ids = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8).filter(lambda s: s[0] != "_" or len(s) > 1)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["on", "yes", "no", "0o17", "0x1f", "1e3", "~", "null", "True", " padded ", "a: b", "- x",
                     "{{ input.x }}", "multi\nline", "#hash", "@at", "'q'", '"dq"', "tab\there"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(min_size=1, max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> dict:
    node_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    nodes = []
    for node_id in node_ids:
        node = {"id": node_id, "type": draw(st.sampled_from(["noop", "log", "transform", "http"]))}
        if draw(st.booleans()):
            node["config"] = draw(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=3))
        if draw(st.booleans()):
            node["position"] = {"x": draw(st.integers(-500, 500)), "y": draw(st.floats(-500, 500))}
        if draw(st.booleans()):
            node["timeout"] = draw(st.sampled_from(["30s", "1m", "1h30m", 5]))
        nodes.append(node)
    edges = [
        {"from": node_ids[i], "to": node_ids[j], **({"on": "failure"} if draw(st.booleans()) else {})}
        for i in range(len(node_ids))
        for j in range(i + 1, len(node_ids))
        if draw(st.booleans())
    ]
    return {
        "spec": {"edges": edges, "nodes": nodes, "variables": draw(st.dictionaries(st.text(min_size=1), values))},
        "metadata": {"name": "generated", "tags": draw(st.lists(st.text(max_size=5), max_size=3))},
        "apiVersion": "mbflow/v1",
        "kind": "Workflow",
    }


@settings(max_examples=150, deadline=None)
@given(documents())
def test_export_import_export_is_byte_stable(document: dict) -> None:
    first = dump_yaml(document)
    loaded = load_document(first)
    assert loaded.dialect == "native"
    assert loaded.data == document
    assert dump_yaml(loaded.data) == first


@settings(max_examples=60, deadline=None)
@given(values)
def test_any_value_reads_back_as_itself(value: object) -> None:
    data, _ = parse_yaml(dump_yaml({"apiVersion": "mbflow/v1", "spec": {"variables": {"v": value}}}))
    assert data["spec"]["variables"]["v"] == value


def test_canonical_order_and_indented_lists() -> None:
    text = dump_yaml({
        "spec": {"nodes": [{"type": "noop", "id": "a", "position": {"x": 1, "y": 2}}]},
        "metadata": {"name": "x"},
        "kind": "Workflow",
        "apiVersion": "mbflow/v1",
    })
    assert text == (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: x\nspec:\n  nodes:\n"
        "    - id: a\n      type: noop\n      position:\n        x: 1\n        y: 2\n"
    )
    assert validate_document(load_document(text)).valid
