"""An expression that only reads a value by its path is read without its template: the same
value as the template gives, and the template decides whatever the quick read cannot."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.runtime import ChainableUndefined

from workflows.spec.expressions import (
    ExpressionError,
    Secret,
    SecretMisuse,
    compile_expression,
    evaluate,
    read_path,
)

CONTEXT: dict[str, Any] = {
    "input": {"v": 1, "items": [10, 20, {"deep": "x"}], "keys": "a key named keys", "0": "zero", "n": None},
    "nodes": {"fetch": {"output": {"body": {"id": 7}, "list": []}, "status": "succeeded"}},
    "upstream": [1, 2, 3],
    "secrets": {"TOKEN": Secret("TOKEN", "s3cr3t")},
}
PATHS = [
    "{{ input.v }}", "{{ input['v'] }}", "{{ input.items[2].deep }}", "{{ input.keys }}",
    "{{ input['0'] }}", "{{ input.n }}", "{{ nodes.fetch.output.body.id }}", "{{ nodes['fetch'].output.list }}",
    "{{ upstream[0] }}", "{{ upstream }}", "$.fetch.body.id", "$.input.v",
    # Not read quickly: missing keys, indexes out of range, attributes, non-dict values.
    "{{ input.missing }}", "{{ input.items[5] }}", "{{ input.v.real }}", "{{ upstream.count }}",
    "{{ missing.anything }}", "{{ input.items.0 }}",
]


def by_template(text: str, context: dict[str, Any]) -> Any:
    template = compile_expression(text).template
    scope = template.new_context(context)
    for _ in template.root_render_func(scope):
        pass
    result = scope.vars["result"]
    return None if isinstance(result, ChainableUndefined) else result


@pytest.mark.parametrize("text", PATHS)
def test_a_path_reads_what_the_template_reads(text: str) -> None:
    compiled = compile_expression(text)
    assert compiled.steps is not None and compiled.path
    assert repr(evaluate(text, CONTEXT)) == repr(by_template(text, CONTEXT))


def test_what_is_no_plain_path_goes_through_the_template() -> None:
    for text in ["{{ input.v + 1 }}", "{{ input[input.keys] }}", "{{ input.items | length }}", "{{ f(input) }}",
                 "{{ input[1.5] }}", "{{ input.items[-1] }}"]:
        assert compile_expression(text).steps is None, text
    assert evaluate("{{ input.v + 1 }}", CONTEXT) == 2


def test_the_quick_read_leaves_secrets_to_the_template() -> None:
    assert isinstance(evaluate("{{ secrets.TOKEN }}", CONTEXT), Secret)  # read whole, as the template does
    steps = compile_expression("{{ secrets.TOKEN.value }}").steps
    assert steps is not None
    assert read_path(steps, CONTEXT) is read_path(("no such name",), CONTEXT)  # not read quickly: no dict
    with pytest.raises((SecretMisuse, ExpressionError)):
        evaluate("{{ secrets.TOKEN.value }}", CONTEXT)
