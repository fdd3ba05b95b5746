"""Expressions are bounded: nothing is evaluated while compiling, every operation that could
allocate much is checked before it does, loops and calls stop at the CPU budget, and a secret
is an opaque value that flows only whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workflows.spec.expressions import (
    ExpressionError,
    ExpressionLimit,
    ExpressionTimeout,
    Limits,
    Secret,
    SecretMisuse,
    SecretText,
    budget,
    check_syntax,
    compile_expression,
    configure_limits,
    current_limits,
    evaluate,
    render_value,
    reveal,
)

CONTEXT = {"input": {"b": 9, "e": 387420489, "text": "hello world", "items": list(range(10))},
           "nodes": {"a": {"output": {"list": [{"x": 1}, {"x": 2}]}}}}

BOMBS = [
    "{{ 9**(9**8) }}",
    "{{ input.b ** input.e }}",
    "{{ 'a' * 10**9 }}",
    "{{ [1, 2] * 10**9 }}",
    "{{ 10**4000 * 10**4000 }}",
    "{{ 'x' | center(1000000000) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.zfill(10**9) }}",
    "{{ ('a\\tb' * 1000).expandtabs(10**6) }}",
    "{{ input.text | replace('o', 'x' * 500000) }}",
    "{{ ('a' * 1000).replace('a', 'b' * 5000) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%.999999999f' % 1.5 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x' | format if false else '%01000000000d' | format(1) }}",
    "{{ input.text | indent(10**8) }}",
    "{{ input.text | wordwrap(1, wrapstring='y' * 100000) }}",
    "{{ range(10**9) | list }}",
    "{{ input.items | batch(10**9, 'f') | list }}",
    "{{ input.items | slice(10**9) | list }}",
    "{{ (range(1000) | list) * 100000 }}",
    "{{ 5 | round(-1000000000) }}",
    "{{ ['x' * 900000, 'y' * 900000] | join }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
    "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ range(100000) | map('string') | map('center', 900) | join }}",
]


@pytest.fixture
def limits() -> Iterator[None]:
    before = current_limits()
    yield
    configure_limits(before)


def test_compiling_never_evaluates_constants() -> None:
    """GIVEN bombs made only of constants WHEN compiled (as validation does) THEN nothing runs:
    Jinja would fold ``9**(9**8)`` or build ``'a' * 10**9`` at compile time."""
    for bomb in BOMBS:
        assert check_syntax(bomb) is None, bomb
        compiled = compile_expression(bomb)
        assert compiled.template is not None


@pytest.mark.parametrize("bomb", BOMBS)
def test_every_bomb_is_stopped_with_expression_limit(bomb: str) -> None:
    with pytest.raises(ExpressionLimit) as raised:
        render_value(bomb, CONTEXT)
    assert raised.value.code == "expression_limit"
    assert raised.value.message


def test_the_cpu_budget_is_a_setting(limits: None) -> None:
    configure_limits(Limits(cpu_seconds=0.05))
    with pytest.raises(ExpressionLimit, match="CPU time budget of 50 ms"):
        evaluate("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", CONTEXT)


def test_the_size_limit_is_a_setting(limits: None) -> None:
    assert evaluate("'a' * 5000", CONTEXT) == "a" * 5000
    configure_limits(Limits(max_size=1000, max_total=10_000))
    with pytest.raises(ExpressionLimit, match="limit is 1,000"):
        evaluate("'a' * 5000", CONTEXT)
    with pytest.raises(ExpressionLimit, match="altogether"):
        render_value("{% for i in range(20) %}{% set x = 'a' * 900 %}{% endfor %}", CONTEXT)


def test_a_node_timeout_ends_its_expressions(limits: None) -> None:
    configure_limits(Limits(cpu_seconds=60))
    with budget(timeout=0.05), pytest.raises(ExpressionTimeout):
        evaluate("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", CONTEXT)


def test_evaluations_inside_one_budget_share_its_cpu_time(limits: None) -> None:
    configure_limits(Limits(cpu_seconds=0.2))
    loop = "{% for i in range(100000) %}{% for j in range(20) %}{% endfor %}{% endfor %}"
    with budget(), pytest.raises(ExpressionLimit):  # each alone fits; together they do not
        for _ in range(50):
            evaluate(loop, CONTEXT)


def test_statements_that_would_escape_the_counted_output_are_refused() -> None:
    for text in ["{% macro f() %}x{% endmacro %}{{ f() }}", "{% set x %}a{% endset %}{{ x }}",
                 "{% filter upper %}a{% endfilter %}", "{% for x in [1] recursive %}{{ loop([]) }}{% endfor %}",
                 "{% extends 'x' %}", "{% include 'x' %}", "{% call foo() %}{% endcall %}"]:
        assert check_syntax(text), text
    assert check_syntax("{% for x in input.items %}{% if x > 1 %}{{ x }}{% endif %}{% endfor %}") is None
    assert check_syntax("{% set n = 3 %}{% with m = 2 %}{{ n * m }}{% endwith %}") is None


def test_methods_outside_the_known_list_are_refused() -> None:
    for text in ["'x'.encode()", "'x'.translate({})", "(1).to_bytes(10**9, 'big')", "lipsum(10**6)"]:
        with pytest.raises(ExpressionError):
            evaluate(text, CONTEXT)


def test_ordinary_expressions_keep_working() -> None:
    assert evaluate("2 ** 10", CONTEXT) == 1024
    assert evaluate("'ab' * 3", CONTEXT) == "ababab"
    assert evaluate("[0] * 3", CONTEXT) == [0, 0, 0]
    assert evaluate("'%05.1f|%s' % (3.14159, 'x')", CONTEXT) == "003.1|x"
    assert evaluate("'{:>5}'.format('x')", CONTEXT) == "    x"
    assert evaluate("input.text | upper | replace('WORLD', 'there')", CONTEXT) == "HELLO there"
    assert evaluate("input.text.split(' ') | join('-')", CONTEXT) == "hello-world"
    assert evaluate("nodes.a.output.list | map(attribute='x') | sum", CONTEXT) == 3
    assert evaluate("nodes.a.output.list | selectattr('x', 'gt', 1) | list", CONTEXT) == [{"x": 2}]
    assert evaluate("input.items | batch(4) | list | length", CONTEXT) == 3
    assert evaluate("range(3) | list", CONTEXT) == [0, 1, 2]
    assert evaluate("{'b': 1, 'a': 2} | dictsort | first", CONTEXT) == ("a", 2)
    assert render_value("{% for x in input.items if x < 3 %}{{ x }},{% endfor %}", CONTEXT) == "0,1,2,"
    assert render_value("{% set ns = namespace(n=0) %}{% for x in input.items %}{% set ns.n = ns.n + x %}"
                        "{% endfor %}{{ ns.n }}", CONTEXT) == "45"
    assert evaluate("dict(a=1).items() | list", CONTEXT) == [("a", 1)]
    assert evaluate("5 | round(2)", CONTEXT) == 5


def test_results_json_cannot_hold_are_refused() -> None:
    for text in ["1e308 * 10", "(-8) ** 0.5", "'nan' | float"]:
        with pytest.raises(ExpressionError):
            evaluate(text, CONTEXT)


def test_an_error_names_where_the_expression_sits() -> None:
    with pytest.raises(ExpressionLimit) as raised:
        render_value({"mapping": {"rows": [1, "{{ 'a' * 10**9 }}"]}}, CONTEXT)
    assert raised.value.field == "mapping.rows[1]"


# ----------------------------------------------------------------------------- secrets


SECRET_CONTEXT = {**CONTEXT, "secrets": {"TOKEN": Secret("TOKEN", "tok-abc123")}}


def test_a_secret_flows_whole_and_reads_as_a_mask() -> None:
    value = evaluate("secrets.TOKEN", SECRET_CONTEXT)
    assert isinstance(value, Secret) and str(value) == "[secret]"
    assert reveal(value) == "tok-abc123"
    joined = render_value("Bearer {{ secrets.TOKEN }}", SECRET_CONTEXT)
    assert isinstance(joined, SecretText) and str(joined) == "Bearer [secret]"
    assert reveal(joined) == "Bearer tok-abc123"
    assert reveal(evaluate("'k=' ~ secrets.TOKEN ~ '&x=' ~ input.b", SECRET_CONTEXT)) == "k=tok-abc123&x=9"
    assert reveal(evaluate("'k=' + secrets.TOKEN", SECRET_CONTEXT)) == "k=tok-abc123"
    assert reveal(render_value({"h": ["{{ secrets.TOKEN | default('none') }}"]}, SECRET_CONTEXT)) == {
        "h": ["tok-abc123"]}
    assert str(render_value("{{ secrets }}", SECRET_CONTEXT)) == "{'TOKEN': [secret]}"


@pytest.mark.parametrize("text", [
    "secrets.TOKEN | b64encode", "secrets.TOKEN | upper", "secrets.TOKEN | reverse", "secrets.TOKEN | list",
    "secrets.TOKEN | length", "secrets.TOKEN[:3]", "secrets.TOKEN[0]", "secrets.TOKEN.upper()", "secrets.TOKEN * 2",
    "secrets.TOKEN == 'tok-abc123'", "'tok' in secrets.TOKEN", "secrets.TOKEN < 'u'", "'%s' % secrets.TOKEN",
    "'{}'.format(secrets.TOKEN)", "'-'.join([secrets.TOKEN])", "[secrets.TOKEN] | join",
    "{'a': secrets.TOKEN} | tojson",
    "('x' ~ secrets.TOKEN) | upper", "('x' ~ secrets.TOKEN)[:4]", "secrets.TOKEN._value", "secrets.TOKEN.name",
])
def test_nothing_can_take_a_secret_apart(text: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate(text, SECRET_CONTEXT)
    assert "tok-abc123" not in raised.value.message


def test_a_loop_over_a_secret_is_refused() -> None:
    with pytest.raises(SecretMisuse):
        render_value("{% for c in secrets.TOKEN %}{{ c }}{% endfor %}", SECRET_CONTEXT)
