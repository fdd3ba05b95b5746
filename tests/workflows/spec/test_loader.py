"""Reading YAML: marks, the 1.2 core schema, and the limits that protect the server."""

from __future__ import annotations

import pytest

from workflows.spec import SpecSyntaxError, load_document, parse_yaml
from workflows.spec.loader import MAX_DEPTH


def test_marks_point_at_keys_and_items() -> None:
    data, marks = parse_yaml("a:\n  b: 1\n  list:\n    - x\n    - {c: 2}\n")
    assert data == {"a": {"b": 1, "list": ["x", {"c": 2}]}}
    assert marks[("a", "b")] == (2, 3)
    assert marks[("a", "list", 0)] == (4, 7)
    assert marks[("a", "list", 1, "c")] == (5, 8)


def test_core_schema_keeps_on_yes_and_no_as_text() -> None:
    data, _ = parse_yaml("on: yes\nno: off\nn: 0o17\nh: 0x1F\nf: 1.5e3\nt: true\nz: ~\nq: '12'\n")
    assert data == {"on": "yes", "no": "off", "n": 15, "h": 31, "f": 1500.0, "t": True, "z": None, "q": "12"}


def test_duplicate_keys_are_refused_with_their_line() -> None:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("a: 1\nb: 2\na: 3\n")
    assert caught.value.code == "duplicate_key" and caught.value.line == 3


def test_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("a: [1, 2\nb: 3\n")
    assert caught.value.code == "yaml_syntax"
    assert caught.value.line is not None and caught.value.line >= 2


def test_a_billion_laughs_stops_at_the_expansion_limit() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("\n".join(lines) + "\n")
    assert caught.value.code == "alias_expansion_too_large"
    assert caught.value.line is not None


def test_small_aliases_expand_to_copies() -> None:
    data, _ = parse_yaml("base: &b {x: 1}\nother: *b\n")
    assert data["other"] == {"x": 1}
    data["other"]["x"] = 2
    assert data["base"]["x"] == 1


def test_deep_nesting_is_refused_at_its_line() -> None:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert caught.value.code == "nesting_too_deep"
    assert caught.value.line == 1 and caught.value.column is not None
    assert str(MAX_DEPTH) in caught.value.message


def test_deep_block_nesting_stops_at_the_first_level_too_many() -> None:
    text = "".join("  " * depth + f"k{depth}:\n" for depth in range(100)) + "  " * 100 + "leaf: 1\n"
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml(text)
    assert caught.value.code == "nesting_too_deep"
    assert caught.value.line == MAX_DEPTH + 1


def test_unsupported_tags_are_refused() -> None:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("a: !!python/object:os.system ls\n")
    assert caught.value.code == "unsupported_tag"


def test_a_document_must_be_one_mapping() -> None:
    cases = (("- a\n- b\n", "not_a_mapping"), ("", "not_a_mapping"), ("a: 1\n---\nb: 2\n", "multiple_documents"))
    for text, code in cases:
        with pytest.raises(SpecSyntaxError) as caught:
            load_document(text)
        assert caught.value.code == code


def test_too_large_documents_are_refused_before_parsing() -> None:
    with pytest.raises(SpecSyntaxError) as caught:
        parse_yaml("a: '" + "x" * (6 * 1024 * 1024) + "'\n")
    assert caught.value.code == "document_too_large"


def test_keys_and_short_texts_are_shared_between_items() -> None:
    """Equal keys and ids are one object: less memory, and looking them up compares identity."""
    data, _ = parse_yaml("nodes:\n  - {id: fetch, type: http}\n  - {id: send, type: http}\nedges:\n"
                         "  - {from: fetch, to: send}\n")
    first, second = data["nodes"]
    assert next(iter(first)) is next(iter(second))
    assert first["type"] is second["type"] and data["edges"][0]["from"] is first["id"]
