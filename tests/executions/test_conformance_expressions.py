"""Conformance of expressions: every function, filter and test the reference names (MBFlow's
own and Jinja's built-ins, which the sandbox keeps), the names an expression reads, the
statements allowed and refused, and the methods of values, each evaluated in a running workflow.

Each expression is a node of its own (a failure is routed aside, so one broken filter does not
hide the others); the names that read other nodes sit in a second workflow with the edges that
make those nodes upstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.executions.conformance import Harness, Scenario, Seen, cases, doc, group, missing, observe, steps
from tests.executions.test_conformance_node_types import check_function_output
from tests.executions.test_conformance_node_types import function as function_node

INPUT = {"n": 5, "obj": {"a": 1}, "people": [{"name": "ann", "team": "a", "admin": True},
                                            {"name": "bob", "team": "b", "admin": False}]}
Expect = Any  # the value, or a predicate over it

# name → (expression, what it yields)
EXPRESSIONS: dict[str, tuple[str, Expect]] = {
    # MBFlow's functions, and the Jinja globals the sandbox keeps
    "function.now()": ("{{ now() }}", lambda v: abs(datetime.fromisoformat(v) - datetime.now(UTC)) < timedelta(
        seconds=60)),
    "function.range()": ("{{ range(3) | list }}", [0, 1, 2]),
    "function.dict()": ("{{ dict(a=1, b='x') }}", {"a": 1, "b": "x"}),
    "function.namespace()": ("{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i"
                             " %}{% endfor %}{{ ns.total }}", "6"),
    "function.add_hours()": ("{{ add_hours(2) }}", lambda v: abs(datetime.fromisoformat(v) - datetime.now(UTC)
                                                                 - timedelta(hours=2)) < timedelta(seconds=60)),
    "function.add_days()": ("{{ add_days(1) }}", lambda v: abs(datetime.fromisoformat(v) - datetime.now(UTC)
                                                               - timedelta(days=1)) < timedelta(seconds=60)),
    "function.cycler()": ("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}", "aba"),
    "function.joiner()": ("{% set j = joiner('-') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}", "1-2-3"),
    # MBFlow's filters
    "filter.tojson": ("{{ {'a': [1, 2]} | tojson }}", '{"a": [1, 2]}'),
    "filter.fromjson": ("{{ '{\"a\": [1, 2]}' | fromjson }}", {"a": [1, 2]}),
    "filter.b64encode": ("{{ 'hi there' | b64encode }}", "aGkgdGhlcmU="),
    "filter.b64decode": ("{{ 'aGkgdGhlcmU=' | b64decode }}", "hi there"),
    "filter.add_hours": ("{{ '2024-01-01T00:00:00+00:00' | add_hours(2) }}", "2024-01-01T02:00:00+00:00"),
    "filter.add_days": ("{{ '2024-01-01T00:00:00+00:00' | add_days(2) }}", "2024-01-03T00:00:00+00:00"),
    "filter.jmespath": ("{{ input.people | jmespath('[?admin].name') }}", ["ann"]),
    # Jinja's filters
    "filter.abs": ("{{ -3 | abs }}", 3),
    "filter.attr": ("{{ (input.obj | attr('get'))('a') }}", 1),  # an attribute, never an item (as in Jinja)
    "filter.batch": ("{{ [1, 2, 3, 4, 5] | batch(2) | list }}", [[1, 2], [3, 4], [5]]),
    "filter.capitalize": ("{{ 'hello world' | capitalize }}", "Hello world"),
    "filter.center": ("{{ 'ab' | center(6) }}", "  ab  "),
    "filter.count": ("{{ [1, 2, 3] | count }}", 3),
    "filter.d": ("{{ input.missing | d('fallback') }}", "fallback"),
    "filter.default": ("{{ input.missing | default('fallback') }}", "fallback"),
    "filter.dictsort": ("{{ {'b': 1, 'a': 2} | dictsort }}", [["a", 2], ["b", 1]]),
    "filter.e": ("{{ '<a>' | e }}", "&lt;a&gt;"),
    "filter.escape": ("{{ '<a>' | escape }}", "&lt;a&gt;"),
    "filter.filesizeformat": ("{{ 1000000 | filesizeformat }}", "1.0 MB"),
    "filter.first": ("{{ [4, 5] | first }}", 4),
    "filter.float": ("{{ '2.5' | float }}", 2.5),
    "filter.forceescape": ("{{ '<b>' | forceescape }}", "&lt;b&gt;"),
    "filter.format": ("{{ '%s-%d' | format('a', 3) }}", "a-3"),
    "filter.groupby": ("{{ input.people | groupby('team') | map(attribute='grouper') | list }}", ["a", "b"]),
    "filter.indent": ("{{ 'a\\nb' | indent(2) }}", "a\n  b"),
    "filter.int": ("{{ '42' | int }}", 42),
    "filter.items": ("{{ {'a': 1} | items | list }}", [["a", 1]]),
    "filter.join": ("{{ ['a', 'b'] | join('-') }}", "a-b"),
    "filter.last": ("{{ [4, 5] | last }}", 5),
    "filter.length": ("{{ 'abc' | length }}", 3),
    "filter.list": ("{{ 'ab' | list }}", ["a", "b"]),
    "filter.lower": ("{{ 'AB' | lower }}", "ab"),
    "filter.map": ("{{ [1, 2] | map('string') | list }}", ["1", "2"]),
    "filter.max": ("{{ [3, 1, 2] | max }}", 3),
    "filter.min": ("{{ [3, 1, 2] | min }}", 1),
    "filter.pprint": ("{{ {'a': 1} | pprint }}", "{'a': 1}"),
    "filter.random": ("{{ [1, 2, 3] | random }}", lambda v: v in (1, 2, 3)),
    "filter.reject": ("{{ [1, 2, 3, 4] | reject('odd') | list }}", [2, 4]),
    "filter.rejectattr": ("{{ input.people | rejectattr('admin') | map(attribute='name') | list }}", ["bob"]),
    "filter.replace": ("{{ 'aXbX' | replace('X', '-') }}", "a-b-"),
    "filter.reverse": ("{{ [1, 2, 3] | reverse | list }}", [3, 2, 1]),
    "filter.round": ("{{ 2.567 | round(1) }}", 2.6),
    "filter.safe": ("{{ '<b>' | safe }}", "<b>"),
    "filter.select": ("{{ [1, 2, 3, 4] | select('even') | list }}", [2, 4]),
    "filter.selectattr": ("{{ input.people | selectattr('admin') | map(attribute='name') | list }}", ["ann"]),
    "filter.slice": ("{{ [1, 2, 3, 4] | slice(2) | list }}", [[1, 2], [3, 4]]),
    "filter.sort": ("{{ [3, 1, 2] | sort }}", [1, 2, 3]),
    "filter.string": ("{{ 12 | string }}", "12"),
    "filter.striptags": ("{{ '<p>hi <b>you</b></p>' | striptags }}", "hi you"),
    "filter.sum": ("{{ [1, 2, 3] | sum }}", 6),
    "filter.title": ("{{ 'hello world' | title }}", "Hello World"),
    "filter.trim": ("{{ '  x  ' | trim }}", "x"),
    "filter.truncate": ("{{ 'hello world foo' | truncate(9, True, '...', 0) }}", "hello ..."),
    "filter.unique": ("{{ [1, 1, 2] | unique | list }}", [1, 2]),
    "filter.upper": ("{{ 'ab' | upper }}", "AB"),
    "filter.urlencode": ("{{ {'a': 'x y/z'} | urlencode }}", "a=x+y%2Fz"),
    "filter.urlize": ("{{ 'see http://x.io now' | urlize }}", lambda v: '<a href="http://x.io"' in v),
    "filter.wordcount": ("{{ 'a b c' | wordcount }}", 3),
    "filter.wordwrap": ("{{ 'aaa bbb' | wordwrap(3) }}", "aaa\nbbb"),
    "filter.xmlattr": ("{{ {'a': 1} | xmlattr }}", ' a="1"'),
    # Jinja's tests: each true of one value and false of another
    "test.boolean": ("{{ [true is boolean, 1 is boolean] }}", [True, False]),
    "test.callable": ("{{ [dict is callable, 1 is callable] }}", [True, False]),
    "test.defined": ("{{ [input.n is defined, input.nothing is defined] }}", [True, False]),
    "test.divisibleby": ("{{ [6 is divisibleby 3, 7 is divisibleby 3] }}", [True, False]),
    "test.eq": ("{{ [1 is eq 1, 1 is eq 2] }}", [True, False]),
    "test.equalto": ("{{ [1 is equalto 1, 1 is equalto 2] }}", [True, False]),
    "test.escaped": ("{{ [('<b>' | e) is escaped, '<b>' is escaped] }}", [True, False]),
    "test.even": ("{{ [2 is even, 3 is even] }}", [True, False]),
    "test.false": ("{{ [false is false, 0 is false] }}", [True, False]),
    "test.filter": ("{{ ['upper' is filter, 'nope' is filter] }}", [True, False]),
    "test.float": ("{{ [1.5 is float, 1 is float] }}", [True, False]),
    "test.ge": ("{{ [3 is ge 3, 2 is ge 3] }}", [True, False]),
    "test.greaterthan": ("{{ [4 is greaterthan 3, 3 is greaterthan 3] }}", [True, False]),
    "test.gt": ("{{ [4 is gt 3, 3 is gt 3] }}", [True, False]),
    "test.in": ("{{ ['a' is in 'abc', 'z' is in 'abc'] }}", [True, False]),
    "test.integer": ("{{ [1 is integer, 1.5 is integer] }}", [True, False]),
    "test.iterable": ("{{ [[1] is iterable, 1 is iterable] }}", [True, False]),
    "test.le": ("{{ [3 is le 3, 4 is le 3] }}", [True, False]),
    "test.lessthan": ("{{ [2 is lessthan 3, 3 is lessthan 3] }}", [True, False]),
    "test.lower": ("{{ ['ab' is lower, 'Ab' is lower] }}", [True, False]),
    "test.lt": ("{{ [2 is lt 3, 3 is lt 3] }}", [True, False]),
    "test.mapping": ("{{ [input.obj is mapping, [] is mapping] }}", [True, False]),
    "test.ne": ("{{ [1 is ne 2, 1 is ne 1] }}", [True, False]),
    "test.none": ("{{ [none is none, 0 is none] }}", [True, False]),
    "test.number": ("{{ [1 is number, 'a' is number] }}", [True, False]),
    "test.odd": ("{{ [3 is odd, 2 is odd] }}", [True, False]),
    "test.sameas": ("{{ [true is sameas true, [] is sameas []] }}", [True, False]),
    "test.sequence": ("{{ [[1] is sequence, 1 is sequence] }}", [True, False]),
    "test.string": ("{{ ['a' is string, 1 is string] }}", [True, False]),
    "test.test": ("{{ ['odd' is test, 'nope' is test] }}", [True, False]),
    "test.true": ("{{ [true is true, 1 is true] }}", [True, False]),
    "test.undefined": ("{{ [input.nothing is undefined, input.n is undefined] }}", [True, False]),
    "test.upper": ("{{ ['AB' is upper, 'Ab' is upper] }}", [True, False]),
    "test.==": ("{{ [1, 2, 3] | select('==', 2) | list }}", [2]),
    "test.!=": ("{{ [1, 2, 3] | select('!=', 2) | list }}", [1, 3]),
    "test.>": ("{{ [1, 2, 3] | select('>', 2) | list }}", [3]),
    "test.>=": ("{{ [1, 2, 3] | select('>=', 2) | list }}", [2, 3]),
    "test.<": ("{{ [1, 2, 3] | select('<', 2) | list }}", [1]),
    "test.<=": ("{{ [1, 2, 3] | select('<=', 2) | list }}", [1, 2]),
    # statements
    "statement.if": ("{% if input.n > 3 %}big{% else %}small{% endif %}", "big"),
    "statement.for": ("{% for x in [1, 2] %}{{ x }};{% endfor %}", "1;2;"),
    "statement.set": ("{% set y = input.n + 1 %}{{ y }}", "6"),
    "statement.with": ("{% with z = input.n * 2 %}{{ z }}{% endwith %}", "10"),
    # methods of values
    "method.split": ("{{ 'a,b'.split(',') }}", ["a", "b"]),
    "method.upper": ("{{ 'ab'.upper() }}", "AB"),
    "method.replace": ("{{ 'ab'.replace('a', 'x') }}", "xb"),
    "method.format": ("{{ '{:>5}'.format('x') }}", "    x"),
    "method.items": ("{{ input.obj.items() | list }}", [["a", 1]]),
    "method.get": ("{{ input.obj.get('a') }}", 1),
    "method.index": ("{{ [5, 6].index(6) }}", 1),
}
# What must fail when run, with its error code.
FAILING = {
    "range_limit": ("{{ range(100001) | list }}", "expression_limit"),
    "mutating_method": ("{{ input.obj.update({'b': 2}) }}", "expression_limit"),
}
# What validation must refuse.
REFUSED = {
    "refused.call": "{% call x() %}{% endcall %}",
    "refused.filter": "{% filter upper %}a{% endfilter %}",
    "refused.set_block": "{% set x %}a{% endset %}",
    "statement.for": "{% for x in [1] recursive %}{{ x }}{% endfor %}",
}


def _node_id(index: int) -> str:
    return f"e{index}"


@group()
def expressions(h: Harness) -> Seen:
    entries = [*EXPRESSIONS.items(), *((name, (text, None)) for name, (text, _code) in FAILING.items())]
    nodes = "".join(f"    - {{id: {_node_id(index)}, type: transform, config: {{mapping: {{v: {json.dumps(text)}}}}}}}"
                    "\n" for index, (_name, (text, _expect)) in enumerate(entries))
    edges = "".join(f"    - {{from: {_node_id(index)}, to: handled, on: failure}}\n" for index in range(len(entries)))
    name = h.put("expressions", f"  nodes:\n{nodes}    - {{id: handled, type: noop}}\n  edges:\n{edges}")
    execution = h.run(name, INPUT)
    by_node = steps(execution)
    results = {entry: by_node[_node_id(index)] for index, (entry, _value) in enumerate(entries)}
    refused = {key: h.validate(doc("refused", f"  nodes:\n    - {{id: x, type: transform, config: {{mapping: "
                                              f"{{v: {json.dumps(text)}}}}}}}\n")) for key, text in REFUSED.items()}
    return {"execution": execution, "results": results, "refused": refused}


def check_expression(name: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        step = seen["results"][name]
        assert step["status"] == "succeeded", (name, step["error"])
        expected = EXPRESSIONS[name][1]
        value = step["output"]["v"]
        assert expected(value) if callable(expected) else value == expected, (name, value, expected)
        if name == "function.range()":
            limited = seen["results"]["range_limit"]
            assert (limited["status"], limited["error"]["code"]) == ("failed", "expression_limit"), limited
        if name == "method.get":  # read-only methods only
            mutating = seen["results"]["mutating_method"]
            assert mutating["status"] == "failed", mutating
        if name in REFUSED:
            check_refused(name)(seen)

    return check


def check_refused(name: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        answer = seen["refused"][name]
        assert not answer["valid"], (name, answer)
        assert any(error["code"] == "expression_syntax" or "not supported" in error["message"]
                   for error in answer["errors"]), answer["errors"]

    return check


# ----------------------------------------------------------------------------- names

NAMES = """
  variables: {double: "{{ input.n * 2 }}"}
  nodes:
    - {id: first, type: transform, config: {mapping: {v: 7}}}
    - {id: my-node, type: transform, config: {mapping: {v: dashed}}}
    - {id: flaky, type: http, config: {url: "@url/flaky?fail=1&key=names-@tag"},
       retry: {max_attempts: 2, initial_delay: 10ms, jitter: false}}
    - {id: broken, type: fail, config: {message: broken here}}
    - {id: second, type: transform, config: {mapping: {w: 8}}}
    - id: read
      type: transform
      config:
        mapping:
          input: "{{ input.n }}"
          output: "{{ nodes.first.output.v }}"
          dashed: "{{ nodes['my-node'].output.v }}"
          status: "{{ nodes.first.status }}"
          error: "{{ nodes.broken.error.message }}"
          attempt: "{{ nodes.flaky.attempt }}"
          vars: "{{ vars.double }}"
          secret: "token {{ secrets.CONFORMANCE_NAME }}"
          execution_id: "{{ execution.id }}"
          execution_workflow: "{{ execution.workflow }}"
          execution_version: "{{ execution.version }}"
          execution_started_at: "{{ execution.started_at }}"
          upstream: "{{ upstream }}"
          path: $.first.v
          path_input: $.input.n
    - id: each
      type: foreach
      config: {items: [a, b], node: {type: transform, config: {mapping: {item: "{{ item }}", index: "{{ index }}"}}}}
    - id: pick
      type: switch
      config: {value: "{{ input.n }}", cases: [{when: "{{ value > 3 }}", output: many}], default: few}
    - {id: many, type: noop}
    - {id: high, type: noop}
    - {id: low, type: noop}
  edges:
    - {from: first, to: read}
    - {from: second, to: read}
    - {from: my-node, to: read}
    - {from: flaky, to: read}
    - {from: broken, to: read, on: failure}
    - {from: pick, to: many, port: many}
    - {from: first, to: high, condition: "{{ output.v > 5 }}"}
    - {from: first, to: low, condition: "{{ output.v <= 5 }}"}
"""


@group()
def names(h: Harness) -> Seen:
    created = h.admin.post("/api/v1/secrets", {"name": "CONFORMANCE_NAME", "value": "tok-name-1a2b"}, format="json")
    assert created.status_code == 201, created.json()
    name = h.put("names", NAMES)
    execution = h.run(name, {"n": 5})
    return {"execution": execution, "steps": steps(execution), "name": name}


def _read(seen: Seen) -> dict[str, Any]:
    read = seen["steps"]["read"]
    assert read["status"] == "succeeded", read["error"]
    return read["output"]


def check_name(key: str, expected: Callable[[Seen], Any]) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        assert _read(seen)[key] == expected(seen), (key, _read(seen)[key])

    return check


def check_nodes_output(seen: Seen) -> None:
    assert (_read(seen)["output"], _read(seen)["dashed"]) == (7, "dashed")


def check_secrets(seen: Seen) -> None:
    assert _read(seen)["secret"] == "token [secret]"  # whole into text, never shown


def check_execution(seen: Seen) -> None:
    read, execution = _read(seen), seen["execution"]
    assert (read["execution_id"], read["execution_workflow"], read["execution_version"]) == (
        execution["id"], seen["name"], execution["version"])
    assert datetime.fromisoformat(read["execution_started_at"]) == datetime.fromisoformat(execution["started_at"])


def check_upstream(seen: Seen) -> None:
    # Several predecessors: their outputs merged in the order of the edges (my-node's v after first's).
    upstream = _read(seen)["upstream"]
    assert {key: upstream.get(key) for key in ("v", "w", "status")} == {"v": "dashed", "w": 8, "status": 200}, upstream


def check_item_index(seen: Seen) -> None:
    assert seen["steps"]["each"]["output"] == [{"item": "a", "index": 0}, {"item": "b", "index": 1}]


def check_output_name(seen: Seen) -> None:
    assert (seen["steps"]["high"]["status"], seen["steps"]["low"]["status"]) == ("succeeded", "skipped")


def check_value(seen: Seen) -> None:
    assert seen["steps"]["pick"]["output"] == "many"


def check_path(seen: Seen) -> None:
    assert (_read(seen)["path"], _read(seen)["path_input"]) == (7, 5)


SCENARIOS: dict[str, Scenario] = {
    **{name: Scenario(expressions, check_expression(name)) for name in EXPRESSIONS},
    **{name: Scenario(expressions, check_refused(name)) for name in REFUSED if name not in EXPRESSIONS},
    "expression.input": Scenario(names, check_name("input", lambda seen: 5)),
    "expression.nodes.output": Scenario(names, check_nodes_output),
    "expression.nodes.status": Scenario(names, check_name("status", lambda seen: "succeeded")),
    "expression.nodes.error": Scenario(names, check_name("error", lambda seen: "broken here")),
    "expression.nodes.attempt": Scenario(names, check_name("attempt", lambda seen: 2)),
    "expression.vars": Scenario(names, check_name("vars", lambda seen: 10)),
    "expression.secrets": Scenario(names, check_secrets),
    "expression.execution": Scenario(names, check_execution),
    "expression.execution.id": Scenario(names, check_name("execution_id", lambda seen: seen["execution"]["id"])),
    "expression.execution.workflow": Scenario(names, check_name("execution_workflow", lambda seen: seen["name"])),
    "expression.execution.version": Scenario(names, check_name("execution_version",
                                                               lambda seen: seen["execution"]["version"])),
    "expression.execution.started_at": Scenario(names, check_execution),
    "expression.upstream": Scenario(names, check_upstream),
    "expression.item": Scenario(names, check_item_index),
    "expression.index": Scenario(names, check_item_index),
    "expression.output": Scenario(names, check_output_name),
    "expression.value": Scenario(names, check_value),
    "expression.response": Scenario(function_node, check_function_output),
    "expression.$.path": Scenario(names, check_path),
}

# Defects reported to the lead: their tests are expected to fail, strictly (see conformance.cases).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(("name", "dispatcher"), list(cases(SCENARIOS, "expressions", KNOWN)))
def test_the_runtime_keeps_the_promise(name: str, dispatcher: str, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, missing(name)
    scenario.check(observe(request, scenario.group, dispatcher))
