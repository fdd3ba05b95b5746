"""Expressions: native results, mixed text, $.paths, sandboxing, references."""

from __future__ import annotations

import pytest

from workflows.spec.expressions import (
    ExpressionError,
    check_syntax,
    compile_expression,
    evaluate,
    path_to_jinja,
    referenced_nodes,
    render_value,
)

CONTEXT = {
    "input": {"email": "a@b.c", "n": 3},
    "nodes": {"fetch": {"output": {"items": [1, 2, 3], "user": {"id": 7}}}, "my-step": {"output": {"ok": True}}},
    "vars": {"greeting": "Hi"},
}


def test_a_single_expression_yields_the_native_value() -> None:
    assert render_value("{{ nodes.fetch.output.items }}", CONTEXT) == [1, 2, 3]
    assert render_value("{{ input.n * 2 }}", CONTEXT) == 6
    assert render_value("{{ nodes['my-step'].output.ok }}", CONTEXT) is True


def test_mixed_text_yields_a_string_and_values_are_walked() -> None:
    rendered = render_value({"a": "{{ vars.greeting }}, {{ input.email }}!", "b": [1, "{{ input.n }}"]}, CONTEXT)
    assert rendered == {"a": "Hi, a@b.c!", "b": [1, 3]}


def test_dollar_paths_read_nodes_or_context_names() -> None:
    assert path_to_jinja("fetch.user.id") == "nodes['fetch'].output.user.id"
    assert path_to_jinja("input.email") == "input.email"
    assert render_value("$.fetch.user.id", CONTEXT) == 7
    assert render_value("$.my-step.ok", CONTEXT) is True


def test_missing_values_are_none_and_default_works() -> None:
    assert evaluate("nodes.nothing.output.x", CONTEXT) is None
    assert evaluate("input.missing | default('anon')", CONTEXT) == "anon"


def test_filters_and_functions() -> None:
    assert evaluate("{'a': 1} | tojson", CONTEXT) == '{"a": 1}'
    assert evaluate("'aGk=' | b64decode", CONTEXT) == "hi"
    assert evaluate("nodes.fetch.output | jmespath('items[1]')", CONTEXT) == 2
    assert evaluate("'2026-01-01T00:00:00+00:00' | add_days(1)", CONTEXT).startswith("2026-01-02")
    assert isinstance(evaluate("now()", CONTEXT), str)
    assert evaluate("add_hours('2026-01-01T00:00:00+00:00', 2)", CONTEXT).startswith("2026-01-01T02:00")
    assert evaluate("'2026-01-01T00:00:00+00:00' | add_hours(-1)", CONTEXT).startswith("2025-12-31T23:00")
    assert evaluate("add_hours(1) > now()", CONTEXT) is True  # the function form counts from now
    assert evaluate("add_days(-1) < now()", CONTEXT) is True


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(ExpressionError):
        evaluate("input.__class__.__mro__[1].__subclasses__()", CONTEXT)
    with pytest.raises(ExpressionError):
        evaluate("vars.update({'x': 1})", CONTEXT)


def test_syntax_errors_and_references() -> None:
    assert check_syntax("{{ input. }}") is not None
    assert check_syntax("{{ input.x }}") is None
    assert referenced_nodes("{{ nodes.a.output.x + nodes['b-c'].output.y }} and {{ input.z }}") == {"a", "b-c"}
    assert referenced_nodes("$.fetch.user") == {"fetch"}


def test_compilation_is_cached() -> None:
    assert compile_expression("{{ input.n + 1 }}") is compile_expression("{{ input.n + 1 }}")
