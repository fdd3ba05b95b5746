"""Large documents take rapidyaml's fast path: the same data as the event walk, or the event walk.

`fast_parse` must give exactly what `parse_yaml` gives, or None (then the event walk reads the
text and names the line of any error). Marks of a document read the fast way are read from its
text when an error or a warning needs them.
"""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.spec import SpecSyntaxError, dump_yaml, load_document, parse_yaml, validate_document
from workflows.spec.loader import FAST_PATH_MIN_BYTES, fast_parse


def _same(fast: object, slow: object) -> bool:
    if isinstance(fast, float) and isinstance(slow, float) and math.isnan(fast) and math.isnan(slow):
        return True
    if type(fast) is not type(slow):
        return False
    if isinstance(fast, dict):
        return list(fast) == list(slow) and all(_same(fast[key], slow[key]) for key in fast)  # type: ignore[index]
    if isinstance(fast, list):
        return len(fast) == len(slow) and all(_same(a, b) for a, b in zip(fast, slow, strict=True))  # type: ignore[arg-type]
    return fast == slow


def _agrees(text: str) -> None:
    fast = fast_parse(text)
    try:
        slow = parse_yaml(text)[0]
    except SpecSyntaxError:
        assert fast is None, text
        return
    assert fast is None or _same(fast, slow), (text, fast, slow)


TRICKY = [
    "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "no", "on", "off",
    "0", "-0", "+0", "00", "0123", "+12", "-12", "12", "1.5", "1.", ".5", "-.5", "+.5", "1e5", "1E+5", "1e-5",
    "1e400", "0x1F", "0X1F", "0o17", "0b101", ".inf", ".Inf", "-.INF", "+.inf", ".nan", ".NaN", "nan", "inf",
    "1_000", "1:30", "2024-01-01", "12e", "0x", "3.14.15", "'quoted'", '"dq \\t \\u00e9"', '"\\x01"', "a #c",
    "[1, {a: b}]", "{}", "[]", "|\n  a\n  b\n", ">-\n  f\n  g\n", "|+\n  kept\n\n", "!!str 3", "! 12", "&a 1",
    "*a", "https://x.example/?a=1&b=2", "{{ a * b }}", "x: y", "-", "? k", "'it''s'", "''", '""',
]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_scalars_read_the_same_both_ways(value: str) -> None:
    _agrees(f"a: 1\nk: {value}\nz: end\n")
    _agrees(f"list:\n  - {value}\n  - after\n")
    _agrees(f"{value}: v\n")


def test_what_the_fast_path_leaves_to_the_event_walk() -> None:
    for text in ("a: 1\na: 2\n", "x: !!str 12\n", "k: &a [1]\nj: *a\n", "--- \na: 1\n", "%YAML 1.2\n---\na: 1\n",
                 "? a\n: b\n", ": x\n", "- 1\n- 2\n", "a:\n\tb: 1\n", "k: 0123\n", "k: ~\n",
                 "apiVersion: workflow.magic-flow.io/v1\nkind: Workflow\n", "nodes: []\nedges: []\n", "a: [1,\n"):
        assert fast_parse(text) is None, text


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False), st.sampled_from(TRICKY),
    st.text(alphabet=st.sampled_from(list("aZ09 ~!&*#:-'\"\\\n\r\t{}[],.?%|>é\u2028\x85")), max_size=12),
)
documents = st.dictionaries(
    st.text(alphabet="abc~!&0 -:'\"", min_size=0, max_size=4),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(alphabet="abcxyz01 ~:", min_size=0, max_size=4), inner, max_size=4), max_leaves=20),
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from([None, False, True]))
def test_random_documents_read_the_same_both_ways(data: dict, flow: bool | None) -> None:
    _agrees(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False))


def _large_workflow(nodes: int = 600) -> dict:
    spec_nodes = [{"id": "n0", "type": "http", "config": {"url": "https://api.example.com/items"}}]
    spec_nodes += [{"id": f"n{i}", "type": "transform",
                    "config": {"mapping": {"v": f"{{{{ nodes.n{i - 1}.output.v }}}}"}}} for i in range(1, nodes)]
    edges = [{"from": f"n{i - 1}", "to": f"n{i}"} for i in range(1, nodes)]
    return {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "large"},
            "spec": {"nodes": spec_nodes, "edges": edges}}


def test_a_large_document_is_read_the_fast_way_and_its_errors_keep_their_lines() -> None:
    document = _large_workflow()
    document["spec"]["nodes"][450]["config"]["mapping"]["v"] = "{{ nodes.missing.output }}"
    text = dump_yaml(document)
    assert len(text) >= FAST_PATH_MIN_BYTES
    assert fast_parse(text) is not None
    loaded = load_document(text)
    assert loaded.data == parse_yaml(text)[0]
    report = validate_document(loaded)
    errors = [error for error in report.errors if error.node_id == "n450"]
    assert errors, report.errors
    line = text.splitlines().index("    - id: n450") + 1
    assert errors[0].line is not None and line <= errors[0].line <= line + 4
    assert loaded.marks[("spec", "nodes", 450, "id")] == (line, 7)


@pytest.mark.parametrize(("change", "code"), [
    (lambda text: text.replace("    - id: n300\n", "    - id: n300\n      id: again\n"), "duplicate_key"),
    (lambda text: text.replace("    - id: n300\n", "    - id: [n300\n"), "yaml_syntax"),
])
def test_a_broken_large_document_names_its_line(change, code: str) -> None:
    text = change(dump_yaml(_large_workflow()))
    with pytest.raises(SpecSyntaxError) as caught:
        load_document(text)
    line = next(number for number, row in enumerate(text.splitlines(), 1) if "n300" in row and "id" in row)
    assert caught.value.code == code
    assert caught.value.line is not None and line <= caught.value.line <= line + 2
