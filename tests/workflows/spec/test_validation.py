"""Validation: every kind of problem, with its code, node or edge, and YAML line."""

from __future__ import annotations

from workflows.spec import load_document, validate_document

HEAD = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: demo\nspec:\n"


def problems(body: str) -> list[tuple[str, str | None, int | None, int | None]]:
    report = validate_document(load_document(HEAD + body))
    return [(i.code, i.node_id, i.edge, i.line) for i in report.errors]


def test_a_good_document_is_valid_and_parsed() -> None:
    report = validate_document(load_document(HEAD + """\
  input_schema: {type: object}
  nodes:
    - id: fetch
      type: http
      config: {url: "https://example.com/{{ input.id }}", timeout: 10s}
      retry: {max_attempts: 3, backoff: exponential, initial_delay: 1s}
      timeout: 1m
    - id: route
      type: switch
      config: {value: "{{ nodes.fetch.output.status }}", cases: [{equals: 200, output: ok}], default: other}
    - {id: done, type: log, config: {message: "{{ nodes.fetch.output.body }}"}}
    - {id: other, type: noop}
  edges:
    - {from: fetch, to: route}
    - {from: route, to: done, port: ok}
    - {from: route, to: other, port: other}
  output: {status: "{{ nodes.fetch.output.status }}"}
"""))
    assert report.valid, report.errors
    assert report.spec is not None and report.spec.node_map["fetch"].timeout == 60.0
    assert report.spec.node_map["fetch"].retry.delay_before(3) == 2.0


def test_unknown_fields_and_wrong_types_point_at_their_line() -> None:
    found = problems("  nodes:\n    - id: a\n      type: noop\n      colour: red\n    - id: b\n      type: noop\n"
                     "      timeout: soon\n")
    assert ("unknown_field", "a", None, 9) in found
    assert ("invalid_value", "b", None, 12) in found


def test_unknown_type_and_bad_config() -> None:
    found = problems("  nodes:\n    - {id: a, type: htp}\n    - id: b\n      type: http\n      config:\n"
                     "        url: x\n        method: FETCH\n        extra: 1\n    - {id: c, type: http, config: {}}\n")
    assert ("unknown_node_type", "a", None, 7) in found
    assert ("invalid_config", "b", None, 12) in found
    assert ("invalid_config", "b", None, 13) in found
    assert ("invalid_config", "c", None, 14) in found


def test_an_expression_where_a_typed_value_is_expected_is_left_for_run_time() -> None:
    assert problems("  nodes:\n    - {id: a, type: delay, config: {duration: '{{ input.wait }}'}}\n") == []


def test_duplicates_dangling_edges_and_unknown_references() -> None:
    found = problems("""\
  nodes:
    - {id: a, type: noop, fallback: ghost}
    - {id: a, type: noop}
    - {id: b, type: log, config: {message: "{{ nodes.nobody.output }}"}}
  edges:
    - {from: a, to: b}
    - {from: b, to: missing}
  compensation: [{node: phantom, when_failed: a}]
""")
    assert ("duplicate_node_id", "a", None, 8) in found
    assert ("unknown_node_reference", "a", None, 7) in found
    assert ("unknown_node_reference", "b", None, 9) in found
    assert ("dangling_edge", "b", 1, 12) in found
    assert ("unknown_node_reference", None, None, 13) in found


def test_a_cycle_is_named_with_its_path() -> None:
    report = validate_document(load_document(HEAD + """\
  nodes:
    - {id: start, type: noop}
    - {id: b, type: noop}
    - {id: c, type: noop}
    - {id: after, type: noop}
  edges:
    - {from: start, to: b}
    - {from: b, to: c}
    - {from: c, to: b}
    - {from: c, to: after}
"""))
    codes = [(i.code, i.node_id, i.line) for i in report.errors]
    assert ("cycle", "b", 8) in codes
    assert "b → c → b" in report.errors[[c[0] for c in codes].index("cycle")].message
    assert not any(code == "unreachable_node" for code, _, _ in codes)


def test_a_pure_cycle_leaves_what_follows_it_unreachable() -> None:
    found = problems("""\
  nodes:
    - {id: a, type: noop}
    - {id: b, type: noop}
    - {id: tail, type: noop}
  edges:
    - {from: a, to: b}
    - {from: b, to: a}
    - {from: b, to: tail}
""")
    assert ("unreachable_node", "tail", None, 9) in found
    assert any(code == "cycle" for code, *_ in found)


def test_reading_a_node_that_does_not_run_before() -> None:
    found = problems("""\
  nodes:
    - {id: a, type: noop}
    - {id: b, type: noop}
    - id: c
      type: log
      config: {message: "{{ nodes.b.output }} {{ nodes.a.output }}"}
  edges:
    - {from: a, to: c}
""")
    assert found == [("reference_not_upstream", "c", None, 11)]


def test_expression_syntax_and_ports() -> None:
    found = problems("""\
  nodes:
    - {id: a, type: condition, config: {expression: "{{ input.x > }}"}}
    - {id: b, type: noop}
  edges:
    - {from: a, to: b, port: maybe}
""")
    assert ("expression_syntax", "a", None, 7) in found
    assert ("unknown_port", "a", 0, 10) in found


def test_fallback_nodes_may_read_what_their_primary_reads() -> None:
    assert problems("""\
  nodes:
    - {id: a, type: noop}
    - {id: b, type: http, config: {url: "https://x"}, fallback: guest}
    - {id: guest, type: log, config: {message: "{{ nodes.a.output }}"}}
  edges:
    - {from: a, to: b}
""") == []


def test_compensation_that_is_not_a_list_is_a_schema_error_not_a_crash() -> None:
    found = problems("  nodes:\n    - {id: a, type: noop}\n  compensation: true\n")
    assert found == [("invalid_value", None, None, 8)]


def test_an_edge_end_that_is_a_list_is_a_schema_error_not_a_crash() -> None:
    found = problems("  nodes:\n    - {id: a, type: noop}\n    - {id: b, type: noop}\n  edges:\n"
                     "    - {from: [a], to: b}\n")
    assert found == [("invalid_value", None, 0, 10)]
