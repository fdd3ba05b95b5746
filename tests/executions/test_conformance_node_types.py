"""Conformance of the built-in node types: each type of the reference's table and each key of
its config (and each value the table enumerates) run in a workflow, with its effect.

The names come from ``language_reference`` (the table and workflows/spec/builtin_types.py); a
name without a scenario here fails, naming itself.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.executions.conformance import Harness, Scenario, Seen, cases, doc, group, missing, observe, steps
from tests.factories import make_key
from workflows.models import Role

# ----------------------------------------------------------------------------- http

HTTP = """
  nodes:
    - {id: get, type: http, config: {url: "@url/echo?key=http-get-@tag&n={{ input.n }}"}}
    - id: post_json
      type: http
      config: {method: POST, url: "@url/echo?key=http-json-@tag", json: {a: "{{ input.n }}"}}
    - id: post_body
      type: http
      config: {method: POST, url: "@url/echo?key=http-body-@tag", body: "raw {{ input.n }}"}
    - {id: post_form, type: http, config: {method: POST, url: "@url/echo?key=http-form-@tag", form: {a: 1, b: two}}}
    - id: headers
      type: http
      config: {url: "@url/echo?key=http-headers-@tag", headers: {X-Custom: "v-{{ input.n }}"}}
    - {id: query, type: http, config: {url: "@url/echo?key=http-query-@tag", query: {q: "{{ input.n }}", z: "@tag"}}}
    - {id: bearer, type: http, config: {url: "@url/echo?key=http-bearer-@tag", auth: {type: bearer, token: tk}}}
    - id: basic
      type: http
      config: {url: "@url/echo?key=http-basic-@tag", auth: {type: basic, username: u, password: p}}
    - id: header_auth
      type: http
      config: {url: "@url/echo?key=http-header-@tag", auth: {type: header, name: X-Api-Key, value: k1}}
    - {id: auto_json, type: http, config: {url: "@url/echo?key=http-auto-@tag"}}
    - {id: auto_text, type: http, config: {url: "@url/text?key=http-auto-@tag"}}
    - {id: as_json, type: http, config: {url: "@url/echo?key=http-json-mode-@tag", response: json}}
    - {id: not_json, type: http, config: {url: "@url/text?key=http-json-mode-@tag", response: json}}
    - {id: as_text, type: http, config: {url: "@url/echo?key=http-text-@tag", response: text}}
    - {id: as_binary, type: http, config: {url: "@url/text?key=http-binary-@tag", response: binary}}
    - {id: expected, type: http, config: {url: "@url/status/404?key=http-expected-@tag", expected_status: [404]}}
    - {id: unexpected, type: http, config: {url: "@url/status/404?key=http-unexpected-@tag"}}
    - {id: follows, type: http, config: {url: "@url/redirect?to=/text&key=http-follow-@tag", follow_redirects: true}}
    - id: stays
      type: http
      config: {url: "@url/redirect?to=/text&key=http-stay-@tag", expected_status: [302]}
    - {id: too_big, type: http, config: {url: "@url/big?size=5000&key=http-big-@tag", max_response_bytes: 1000}}
    - {id: small_enough, type: http, config: {url: "@url/big?size=900&key=http-big-@tag", max_response_bytes: 1000}}
    - {id: own_timeout, type: http, config: {url: "@url/sleep?ms=1500&key=http-timeout-@tag", timeout: 200ms}}
    - {id: handled, type: noop}
  edges:
    - {from: not_json, to: handled, on: failure}
    - {from: unexpected, to: handled, on: failure}
    - {from: too_big, to: handled, on: failure}
    - {from: own_timeout, to: handled, on: failure}
"""


@group()
def http(h: Harness) -> Seen:
    execution = h.run(h.put("http", HTTP), {"n": 5})
    keys = ("get", "json", "body", "form", "headers", "query", "bearer", "basic", "header", "auto", "json-mode",
            "text", "binary", "expected", "follow", "stay", "big", "timeout")
    with h.server.lock:
        queried = [request for request in h.server.requests if request["query"].get("z") == h.tag]
    return {"execution": execution, "steps": steps(execution), "tag": h.tag, "queried": queried,
            "calls": {key: h.calls(f"http-{key}-{h.tag}") for key in keys}}


def _output(seen: Seen, node: str) -> Any:
    step = seen["steps"][node]
    assert step["status"] == "succeeded", (node, step["error"])
    return step["output"]


def _error(seen: Seen, node: str) -> dict[str, Any]:
    step = seen["steps"][node]
    assert step["status"] in ("failed", "timed_out"), (node, step)
    return step["error"]


def _sent(seen: Seen, key: str) -> dict[str, Any]:
    [request] = seen["calls"][key]
    return request


def check_http(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]
    output = _output(seen, "get")
    assert set(output) == {"status", "headers", "body"} and output["status"] == 200
    # Each request carries Idempotency-Key: <execution id>:<node id>:<attempt>.
    assert _sent(seen, "get")["headers"]["idempotency-key"] == f"{seen['execution']['id']}:get:1"


def check_method(seen: Seen) -> None:
    assert _output(seen, "get")["body"]["method"] == "GET"  # the default
    assert _output(seen, "post_json")["body"]["method"] == "POST"


def check_url(seen: Seen) -> None:
    assert _sent(seen, "get")["query"]["n"] == "5"  # rendered, then called


def check_headers(seen: Seen) -> None:
    assert _sent(seen, "headers")["headers"]["x-custom"] == "v-5"


def check_query(seen: Seen) -> None:
    [sent] = seen["queried"]
    assert {key: sent["query"].get(key) for key in ("q", "z")} == {"q": "5", "z": seen["tag"]}
    assert sent["query"].get("key") == f"http-query-{seen['tag']}", (
        f"the URL's own query string was dropped: {sent['query']}")


def check_json(seen: Seen) -> None:
    sent = _sent(seen, "json")
    assert sent["body"] == {"a": 5} and sent["headers"]["content-type"] == "application/json"


def check_body(seen: Seen) -> None:
    assert _sent(seen, "body")["body"] == "raw 5"


def check_form(seen: Seen) -> None:
    sent = _sent(seen, "form")
    assert sent["body"] == "a=1&b=two" and sent["headers"]["content-type"] == "application/x-www-form-urlencoded"


def check_auth(kind: str) -> Any:
    def check(seen: Seen) -> None:
        headers = {"bearer": _sent(seen, "bearer"), "basic": _sent(seen, "basic"),
                   "header": _sent(seen, "header")}[kind]["headers"]
        expected = {"bearer": ("authorization", "Bearer tk"),
                    "basic": ("authorization", "Basic " + base64.b64encode(b"u:p").decode()),
                    "header": ("x-api-key", "k1")}[kind]
        assert headers.get(expected[0]) == expected[1], headers

    return check


def check_auth_all(seen: Seen) -> None:
    for kind in ("bearer", "basic", "header"):
        check_auth(kind)(seen)


def check_response(mode: str) -> Any:
    def check(seen: Seen) -> None:
        if mode == "auto":
            assert _output(seen, "auto_json")["body"]["method"] == "GET"  # JSON parsed
            assert _output(seen, "auto_text")["body"] == "hello text"  # text kept
        elif mode == "json":
            assert _output(seen, "as_json")["body"]["method"] == "GET"
            assert _error(seen, "not_json")["code"] == "invalid_json"
        elif mode == "text":
            body = _output(seen, "as_text")["body"]
            assert isinstance(body, str) and '"method": "GET"' in body
        else:
            assert _output(seen, "as_binary")["body"] == {"base64": base64.b64encode(b"hello text").decode(),
                                                          "size": 10}

    return check


def check_response_all(seen: Seen) -> None:
    for mode in ("auto", "json", "text", "binary"):
        check_response(mode)(seen)


def check_expected_status(seen: Seen) -> None:
    assert _output(seen, "expected")["status"] == 404
    assert _error(seen, "unexpected")["code"] == "http_status"


def check_follow_redirects(seen: Seen) -> None:
    assert _output(seen, "follows")["body"] == "hello text"
    assert _output(seen, "stays")["status"] == 302  # not followed by default


def check_max_response_bytes(seen: Seen) -> None:
    assert _error(seen, "too_big")["code"] == "response_too_large"
    assert _output(seen, "small_enough")["body"] == "x" * 900


def check_http_timeout(seen: Seen) -> None:
    error = _error(seen, "own_timeout")
    assert error["code"] == "timeout" and "0.2s" in error["message"], error


# ----------------------------------------------------------------------------- light nodes

LIGHT = """
  nodes:
    - {id: mapped, type: transform, config: {mapping: {a: "{{ input.n }}", nested: {b: "x{{ input.n }}"}}}}
    - {id: people, type: transform, config: {mapping: {people: [{name: a, age: 3}, {name: b, age: 30}]}}}
    - {id: adults, type: transform, config: {jmespath: "people[?age > `18`].name"}}
    - {id: sourced, type: transform, config: {jmespath: "items[1]", source: "{{ input }}"}}
    - {id: compare, type: condition, config: {expression: "input.n > 3"}}
    - {id: literal, type: condition, config: {expression: false}}
    - id: by_equals
      type: switch
      config: {value: "{{ input.plan }}", cases: [{equals: pro, output: premium}, {when: "{{ value == 'free' }}",
               output: gratis}], default: other}
    - id: by_when
      type: switch
      config: {value: "{{ input.tier }}", cases: [{equals: pro, output: premium}, {when: "{{ value == 'free' }}",
               output: gratis}], default: other}
    - id: by_default
      type: switch
      config: {value: gold, cases: [{equals: pro, output: premium}], default: other}
    - {id: premium_path, type: noop}
    - {id: gratis_path, type: noop}
    - {id: other_path, type: noop}
    - {id: left, type: transform, config: {mapping: {x: 1}}}
    - {id: pause, type: delay, config: {duration: 300ms}}
    - {id: right, type: transform, config: {mapping: {y: 2}}}
    - {id: all_keyed, type: merge, config: {mode: all, strategy: keyed}}
    - {id: all_object, type: merge, config: {strategy: object}}
    - {id: all_list, type: merge, config: {strategy: list}}
    - {id: first_in, type: merge, config: {mode: first, strategy: list}}
    - {id: any_in, type: merge, config: {mode: any, strategy: list}}
    - {id: passed, type: noop}
    - {id: note, type: log, config: {message: "note {{ input.n }} @tag", level: warning}}
    - {id: quiet, type: log, config: {message: "quiet @tag", level: debug}}
    - {id: told, type: log, config: {message: "told @tag"}}
    - {id: loud, type: log, config: {message: "loud @tag", level: error}}
    - {id: boom, type: fail, config: {message: "boom {{ input.n }}", details: {n: "{{ input.n }}"}}}
    - {id: default_boom, type: fail}
    - {id: handled, type: noop}
    - id: answer
      type: webhook_response
      config: {status: 201, headers: {X-Answer: "n={{ input.n }}"}, body: {n: "{{ input.n }}"}}
    - {id: until, type: wait_until, config: {until: "{{ input.until }}"}}
    - {id: until_soon, type: wait_until, config: {until: "{{ add_hours(0.0001) }}"}}
  edges:
    - {from: people, to: adults}
    - {from: by_equals, to: premium_path, port: premium}
    - {from: by_when, to: gratis_path, port: gratis}
    - {from: by_default, to: other_path, port: other}
    - {from: pause, to: right}
    - {from: left, to: all_keyed}
    - {from: right, to: all_keyed}
    - {from: left, to: all_object}
    - {from: right, to: all_object}
    - {from: left, to: all_list}
    - {from: right, to: all_list}
    - {from: left, to: first_in}
    - {from: right, to: first_in}
    - {from: left, to: any_in}
    - {from: right, to: any_in}
    - {from: mapped, to: passed}
    - {from: boom, to: handled, on: failure}
    - {from: default_boom, to: handled, on: failure}
"""


@group()
def light(h: Harness) -> Seen:
    caplog = h.request.getfixturevalue("caplog")
    caplog.set_level(logging.DEBUG, logger="mbflow.workflow")
    until = (datetime.now(UTC) + timedelta(milliseconds=400)).isoformat()
    execution = h.run(h.put("light", LIGHT), {"n": 5, "plan": "pro", "tier": "free", "items": ["zero", "one"],
                                             "until": until})
    logged = {record.getMessage().split("] ", 1)[-1]: record.levelname for record in caplog.records
              if h.tag in record.getMessage()}
    return {"execution": execution, "steps": steps(execution), "logged": logged, "tag": h.tag, "until": until}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def check_light(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]


def check_transform_mapping(seen: Seen) -> None:
    assert _output(seen, "mapped") == {"a": 5, "nested": {"b": "x5"}}


def check_transform_jmespath(seen: Seen) -> None:
    assert _output(seen, "adults") == ["b"]  # over the upstream by default


def check_transform_source(seen: Seen) -> None:
    assert _output(seen, "sourced") == "one"


def check_condition(seen: Seen) -> None:
    assert _output(seen, "compare") is True
    assert _output(seen, "literal") is False


def check_switch(seen: Seen) -> None:
    assert [_output(seen, node) for node in ("by_equals", "by_when", "by_default")] == ["premium", "gratis", "other"]
    assert [seen["steps"][node]["status"] for node in ("premium_path", "gratis_path", "other_path")] == [
        "succeeded"] * 3  # each left by the port its label names


def check_switch_value(seen: Seen) -> None:
    assert _output(seen, "by_equals") == "premium"  # value rendered from the input (pro)
    assert _output(seen, "by_when") == "gratis"


def check_switch_equals(seen: Seen) -> None:
    assert _output(seen, "by_equals") == "premium"


def check_switch_when(seen: Seen) -> None:
    assert _output(seen, "by_when") == "gratis"  # `value` is the switch's value


def check_switch_default(seen: Seen) -> None:
    assert _output(seen, "by_default") == "other"
    assert seen["steps"]["other_path"]["status"] == "succeeded"


def check_merge_mode(mode: str) -> Any:
    def check(seen: Seen) -> None:
        right_done = _time(seen["steps"]["right"]["finished_at"])
        if mode == "all":
            assert _output(seen, "all_keyed") == {"left": {"x": 1}, "right": {"y": 2}}
            assert _time(seen["steps"]["all_keyed"]["started_at"]) >= right_done  # waited for both
        else:  # runs as soon as one inbound edge is taken: the slow branch is not waited for
            node = "first_in" if mode == "first" else "any_in"
            assert _output(seen, node) == [{"x": 1}], (node, seen["steps"][node])
            assert _time(seen["steps"][node]["finished_at"]) < right_done

    return check


def check_merge_strategy(strategy: str) -> Any:
    def check(seen: Seen) -> None:
        expected = {"keyed": ("all_keyed", {"left": {"x": 1}, "right": {"y": 2}}),
                    "object": ("all_object", {"x": 1, "y": 2}),
                    "list": ("all_list", [{"x": 1}, {"y": 2}])}[strategy]
        output = _output(seen, expected[0])
        if strategy == "list":
            output = sorted(output, key=str)
        assert output == expected[1]

    return check


def check_merge_all_modes(seen: Seen) -> None:
    for mode in ("all", "first", "any"):
        check_merge_mode(mode)(seen)


def check_merge_all_strategies(seen: Seen) -> None:
    for strategy in ("keyed", "object", "list"):
        check_merge_strategy(strategy)(seen)


def check_noop(seen: Seen) -> None:
    assert _output(seen, "passed") == {"a": 5, "nested": {"b": "x5"}}  # its upstream


def check_log_message(seen: Seen) -> None:
    assert _output(seen, "note") == {"message": f"note 5 {seen['tag']}"}
    assert seen["logged"][f"note 5 {seen['tag']}"] == "WARNING"


def check_log_level(level: str) -> Any:
    def check(seen: Seen) -> None:
        message = {"debug": "quiet", "info": "told", "warning": "note 5", "error": "loud"}[level]
        assert seen["logged"][f"{message} {seen['tag']}"] == level.upper(), seen["logged"]

    return check


def check_log_levels(seen: Seen) -> None:
    for level in ("debug", "info", "warning", "error"):
        check_log_level(level)(seen)


def check_fail_message(seen: Seen) -> None:
    assert _error(seen, "boom")["message"] == "boom 5"
    assert _error(seen, "default_boom")["message"] == "Failed"
    assert seen["steps"]["handled"]["status"] == "succeeded"


def check_fail_details(seen: Seen) -> None:
    assert _error(seen, "boom")["details"] == {"n": 5}


def check_webhook_response(key: str) -> Any:
    def check(seen: Seen) -> None:
        output = _output(seen, "answer")
        assert output["status"] == 201
        if key in ("headers", "body"):
            assert output[key] == {"headers": {"X-Answer": "n=5"}, "body": {"n": 5}}[key]

    return check


def check_delay(seen: Seen) -> None:
    pause, right = seen["steps"]["pause"], seen["steps"]["right"]
    assert _output(seen, "pause") == {"delayed": 0.3}
    assert (_time(right["started_at"]) - _time(seen["execution"]["started_at"])).total_seconds() >= 0.29, pause


def check_wait_until(seen: Seen) -> None:
    waited_until = _time(_output(seen, "until")["waited_until"])
    late = (waited_until - _time(seen["until"])).total_seconds()  # an ISO 8601 time: waited for until then
    assert 0 <= late < 0.5, (waited_until, seen["until"])
    assert _time(seen["steps"]["until"]["finished_at"]) >= waited_until


def check_wait_until_expression(seen: Seen) -> None:
    check_wait_until(seen)
    soon = seen["steps"]["until_soon"]  # an expression: now + 0.36s
    waited_until = _time(_output(seen, "until_soon")["waited_until"])
    assert (waited_until - _time(seen["execution"]["started_at"])).total_seconds() > 0.3
    assert _time(soon["finished_at"]) >= waited_until, (
        f"wait_until says it waited until {waited_until.time()} but finished at {_time(soon['finished_at']).time()} "
        f"(started {_time(soon['started_at']).time()})")


# ----------------------------------------------------------------------------- children

CHILD = """
  nodes:
    - {id: work, type: transform, config: {mapping: {v: "{{ input.n * 10 }}"}}}
  output: {v: "{{ nodes.work.output.v }}", version: VERSION}
"""
PARENT = """
  nodes:
    - {id: sub, type: sub_workflow, config: {workflow: child-@tag, input: {n: "{{ input.n }}"}}}
    - {id: sub_v1, type: sub_workflow, config: {workflow: child-@tag, version: 1, input: {n: 1}}}
    - {id: fire, type: sub_workflow, config: {workflow: child-@tag, input: {n: 2}, wait: false}}
    - id: each_node
      type: foreach
      config:
        items: "{{ input.items }}"
        concurrency: 2
        node: {type: http, config: {url: "@url/inflight?key=each-@tag&ms=200&until_peak=2&i={{ index }}&v={{ item }}"}}
    - id: each_workflow
      type: foreach
      config: {items: [1, 2], workflow: child-@tag, version: 1, input: {n: "{{ item }}"}}
    - id: each_object
      type: foreach
      config: {items: [{n: 4}], workflow: child-@tag}
"""


@group()
def children(h: Harness) -> Seen:
    child = h.put("child", CHILD.replace("VERSION", "1"))
    second = h.editor.put(f"/api/v1/workflows/{child}", {"yaml": doc(child, h.fill(CHILD.replace("VERSION", "2")))},
                          format="json")
    assert second.status_code == 200, second.json()
    execution = h.run(h.put("parent", PARENT), {"n": 3, "items": [10, 20, 30, 40]})
    fired = steps(execution)["fire"]["output"] or {}
    return {"execution": execution, "steps": steps(execution), "peak": h.server.peak[f"each-{h.tag}"],
            "fired": h.finished(fired["execution_id"]) if "execution_id" in fired else None}


def check_children(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]


def check_sub_workflow(seen: Seen) -> None:
    assert _output(seen, "sub") == {"v": 30, "version": 2}  # the child's output, its active version


def check_sub_workflow_version(seen: Seen) -> None:
    assert _output(seen, "sub_v1") == {"v": 10, "version": 1}


def check_sub_workflow_input(seen: Seen) -> None:
    assert _output(seen, "sub")["v"] == 30  # n: 3, rendered from the parent's input


def check_sub_workflow_wait(seen: Seen) -> None:
    fired = _output(seen, "fire")
    assert set(fired) >= {"execution_id"} and "v" not in fired  # not waited for
    assert seen["fired"]["output"] == {"v": 20, "version": 2}  # it ran on its own


def check_foreach_items(seen: Seen) -> None:
    bodies = [result["body"] for result in _output(seen, "each_node")]
    assert [body["key"] for body in bodies] == [bodies[0]["key"]] * 4
    assert len(_output(seen, "each_workflow")) == 2


def check_foreach_node(seen: Seen) -> None:
    results = _output(seen, "each_node")
    assert [result["status"] for result in results] == [200] * 4  # the http node, once per item, in order


def check_foreach_node_config(seen: Seen) -> None:
    check_foreach_node(seen)


def check_foreach_concurrency(seen: Seen) -> None:
    assert seen["peak"] == 2


def check_foreach_workflow(seen: Seen) -> None:
    assert _output(seen, "each_workflow") == [{"v": 10, "version": 1}, {"v": 20, "version": 1}]


def check_foreach_version(seen: Seen) -> None:
    assert {result["version"] for result in _output(seen, "each_workflow")} == {1}
    assert _output(seen, "each_object") == [{"v": 40, "version": 2}]  # without version: the active one


def check_foreach_input(seen: Seen) -> None:
    assert [result["v"] for result in _output(seen, "each_workflow")] == [10, 20]  # rendered per item
    assert _output(seen, "each_object")[0]["v"] == 40  # without input: the item itself


# ----------------------------------------------------------------------------- llm

LLM = """
  nodes:
    - id: openai
      type: llm
      config:
        provider: openai
        model: gpt-@tag
        base_url: "@url"
        api_key: "{{ secrets.CONFORMANCE_OPENAI }}"
        system: be brief
        prompt: "hi {{ input.n }}"
        temperature: 0.2
        max_tokens: 50
    - id: chat
      type: llm
      config:
        model: gpt-@tag
        base_url: "@url"
        api_key: sk-test-openai
        messages:
          - {role: user, content: first}
          - {role: assistant, content: ok}
          - {role: user, content: "last {{ input.n }}"}
    - id: structured
      type: llm
      config:
        model: gpt-@tag
        base_url: "@url"
        api_key: sk-test-openai
        prompt: great
        response_schema: {type: object, required: [sentiment], properties: {sentiment: {type: string}}}
    - id: claude
      type: llm
      config: {provider: anthropic, model: claude-@tag, base_url: "@url", api_key: sk-test-anthropic, system: sys,
               prompt: hello}
    - id: claude_structured
      type: llm
      config:
        provider: anthropic
        model: claude-@tag
        base_url: "@url"
        api_key: sk-test-anthropic
        prompt: meh
        response_schema: {type: object, required: [sentiment], properties: {sentiment: {type: string}}}
"""


@group()
def llm(h: Harness) -> Seen:
    created = h.admin.post("/api/v1/secrets", {"name": "CONFORMANCE_OPENAI", "value": "sk-test-openai"},
                           format="json")
    assert created.status_code == 201, created.json()
    execution = h.run(h.put("llm", LLM), {"n": 5})
    with h.server.lock:
        sent = [request for request in h.server.requests
                if isinstance(request["body"], dict) and h.tag in str(request["body"].get("model"))]
    return {"execution": execution, "steps": steps(execution), "sent": sent}


def _llm_request(seen: Seen, prompt: str) -> dict[str, Any]:
    return next(request for request in seen["sent"] if request["body"]["messages"][-1]["content"] == prompt)


def check_llm(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]
    output = _output(seen, "openai")
    assert set(output) == {"text", "json", "model", "finish_reason", "usage"}
    assert output["usage"] == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}


def check_llm_provider(provider: str) -> Any:
    def check(seen: Seen) -> None:
        if provider == "openai":
            assert _output(seen, "openai")["text"] == "openai says: hi 5"
            assert _llm_request(seen, "hi 5")["path"] == "/v1/chat/completions"
        else:
            assert _output(seen, "claude")["text"] == "claude says: hello / system=sys"
            assert _llm_request(seen, "hello")["path"] == "/v1/messages"

    return check


def check_llm_providers(seen: Seen) -> None:
    check_llm_provider("openai")(seen)
    check_llm_provider("anthropic")(seen)


def check_llm_model(seen: Seen) -> None:
    sent = _llm_request(seen, "hi 5")["body"]["model"]
    assert sent.startswith("gpt-") and _output(seen, "openai")["model"] == sent


def check_llm_base_url(seen: Seen) -> None:
    assert len(seen["sent"]) == 5  # every call reached the server at base_url


def check_llm_api_key(seen: Seen) -> None:
    assert _llm_request(seen, "hi 5")["headers"]["authorization"] == "Bearer sk-test-openai"  # from the secret
    assert _llm_request(seen, "hello")["headers"]["x-api-key"] == "sk-test-anthropic"
    assert "sk-test-openai" not in str(seen["steps"]["openai"]["input"])


def check_llm_system(seen: Seen) -> None:
    assert _llm_request(seen, "hi 5")["body"]["messages"][0] == {"role": "system", "content": "be brief"}
    assert _llm_request(seen, "hello")["body"]["system"] == "sys"


def check_llm_prompt(seen: Seen) -> None:
    assert _llm_request(seen, "hi 5")["body"]["messages"][-1] == {"role": "user", "content": "hi 5"}


def check_llm_messages(seen: Seen) -> None:
    messages = _llm_request(seen, "last 5")["body"]["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [("user", "first"), ("assistant", "ok"),
                                                              ("user", "last 5")]
    assert _output(seen, "chat")["text"] == "openai says: last 5"


def check_llm_temperature(seen: Seen) -> None:
    assert _llm_request(seen, "hi 5")["body"]["temperature"] == 0.2
    assert "temperature" not in _llm_request(seen, "last 5")["body"]


def check_llm_max_tokens(seen: Seen) -> None:
    assert _llm_request(seen, "hi 5")["body"]["max_tokens"] == 50


def check_llm_response_schema(seen: Seen) -> None:
    assert _output(seen, "structured")["json"] == {"sentiment": "positive", "echo": "great"}
    assert _output(seen, "claude_structured")["json"]["sentiment"] == "negative"


# ----------------------------------------------------------------------------- approval

APPROVAL = """
  nodes:
    - id: approve
      type: approval
      config: {message: "Pay {{ input.amount }} EUR?", approvers: ["key:boss-@tag"], timeout: 1h}
    - {id: pay, type: transform, config: {mapping: {by: "{{ nodes.approve.output.by }}"}}}
    - {id: refuse, type: noop}
    - id: short
      type: approval
      config: {message: hurry, timeout: 200ms}
    - {id: escalate, type: noop}
  edges:
    - {from: approve, to: pay, port: approved}
    - {from: approve, to: refuse, port: rejected}
    - {from: short, to: escalate, port: failure}
"""


@group()
def approval(h: Harness) -> Seen:
    name = h.put("approval", APPROVAL)
    execution_id = h.start(name, {"amount": 120})
    waiting = h.until(execution_id, lambda body: steps(body)["approve"]["status"] == "waiting"
                      and steps(body)["short"]["status"] not in ("pending", "running", "waiting"))
    signal = {"node_id": "approve", "decision": "approved", "comment": "fine", "data": {"po": 7}}
    refused = h.editor.post(f"/api/v1/executions/{execution_id}/signals", signal, format="json")
    _, raw = make_key(h.request.getfixturevalue("tenant"), Role.EDITOR, name=f"boss-{h.tag}")
    boss = APIClient()
    boss.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    accepted = boss.post(f"/api/v1/executions/{execution_id}/signals", signal, format="json")
    return {"waiting": steps(waiting), "refused": refused.status_code, "accepted": accepted.status_code,
            "events": h.events(execution_id, "approve"), "execution": h.finished(execution_id),
            "steps": steps(h.finished(execution_id)), "tag": h.tag}


def check_approval(seen: Seen) -> None:
    assert seen["waiting"]["approve"]["status"] == "waiting"  # until a decision
    assert seen["accepted"] == 200
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]
    output = _output(seen, "approve")
    assert {key: output[key] for key in ("decision", "approved", "comment", "data")} == {
        "decision": "approved", "approved": True, "comment": "fine", "data": {"po": 7}}
    assert (seen["steps"]["pay"]["status"], seen["steps"]["refuse"]["status"]) == ("succeeded", "skipped")


def check_approval_message(seen: Seen) -> None:
    assert _output(seen, "approve")["message"] == "Pay 120 EUR?"
    waited = next(event for event in seen["events"] if event["type"] == "node.waiting")
    assert waited["payload"]["message"] == "Pay 120 EUR?"


def check_approval_approvers(seen: Seen) -> None:
    assert seen["refused"] == 403  # the editor is not a listed approver
    assert _output(seen, "approve")["by"] == f"key:boss-{seen['tag']}"


def check_approval_timeout(seen: Seen) -> None:
    assert (seen["waiting"]["short"]["status"], seen["steps"]["escalate"]["status"]) == ("timed_out", "succeeded")


# ----------------------------------------------------------------------------- function

FUNCTION = """
  nodes:
    - {id: start, type: transform, config: {mapping: {amount: "{{ input.amount }}", currency: EUR}}}
    - id: charge
      type: function
      config:
        executor: billing-@tag
        function: charge
        input: {amount: "{{ input.amount }}"}
        output: {receipt: "{{ response.id }}", total: "{{ response.total }}"}
    - {id: notify, type: function, config: {executor: mail-@tag}}
  edges:
    - {from: start, to: charge}
    - {from: start, to: notify}
"""


@group()
def function(h: Harness) -> Seen:
    execution_id = h.start(h.put("function", FUNCTION), {"amount": 12})
    tasks = []
    for executor, answer in ((f"billing-{h.tag}", {"id": "r-1", "total": 12.5}), (f"mail-{h.tag}", {"sent": True})):
        polled = h.editor.post("/api/v1/function-tasks/poll", {"executor": executor, "wait": 10}, format="json")
        assert polled.status_code == 200, polled.content
        task = polled.json()
        tasks.append(task)
        done = h.editor.post(f"/api/v1/function-tasks/{task['id']}/complete", {"output": answer}, format="json")
        assert done.status_code == 200, done.json()
    execution = h.finished(execution_id)
    return {"execution": execution, "steps": steps(execution), "tasks": tasks, "tag": h.tag}


def check_function(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded", seen["execution"]["error"]


def check_function_executor(seen: Seen) -> None:
    assert [task["executor"] for task in seen["tasks"]] == [f"billing-{seen['tag']}", f"mail-{seen['tag']}"]


def check_function_function(seen: Seen) -> None:
    assert seen["tasks"][0]["function"] == "charge"


def check_function_input(seen: Seen) -> None:
    assert seen["tasks"][0]["input"] == {"amount": 12}
    assert seen["tasks"][1]["input"] == {"amount": 12, "currency": "EUR"}  # empty: the upstream


def check_function_output(seen: Seen) -> None:
    assert _output(seen, "charge") == {"receipt": "r-1", "total": 12.5}  # mapped over `response`
    assert _output(seen, "notify") == {"sent": True}  # without a mapping: the response


# ----------------------------------------------------------------------------- the table

SCENARIOS: dict[str, Scenario] = {
    "type.http": Scenario(http, check_http),
    "http.method": Scenario(http, check_method),
    "http.url": Scenario(http, check_url),
    "http.headers": Scenario(http, check_headers),
    "http.query": Scenario(http, check_query),
    "http.json": Scenario(http, check_json),
    "http.body": Scenario(http, check_body),
    "http.form": Scenario(http, check_form),
    "http.auth": Scenario(http, check_auth_all),
    "http.auth=bearer": Scenario(http, check_auth("bearer")),
    "http.auth.token": Scenario(http, check_auth("bearer")),
    "http.auth=basic": Scenario(http, check_auth("basic")),
    "http.auth.username": Scenario(http, check_auth("basic")),
    "http.auth.password": Scenario(http, check_auth("basic")),
    "http.auth=header": Scenario(http, check_auth("header")),
    "http.auth.name": Scenario(http, check_auth("header")),
    "http.auth.value": Scenario(http, check_auth("header")),
    "http.response": Scenario(http, check_response_all),
    **{f"http.response={mode}": Scenario(http, check_response(mode)) for mode in ("auto", "json", "text", "binary")},
    "http.expected_status": Scenario(http, check_expected_status),
    "http.follow_redirects": Scenario(http, check_follow_redirects),
    "http.max_response_bytes": Scenario(http, check_max_response_bytes),
    "http.timeout": Scenario(http, check_http_timeout),
    "type.transform": Scenario(light, check_transform_mapping),
    "transform.mapping": Scenario(light, check_transform_mapping),
    "transform.jmespath": Scenario(light, check_transform_jmespath),
    "transform.source": Scenario(light, check_transform_source),
    "type.condition": Scenario(light, check_condition),
    "condition.expression": Scenario(light, check_condition),
    "type.switch": Scenario(light, check_switch),
    "switch.value": Scenario(light, check_switch_value),
    "switch.cases": Scenario(light, check_switch),
    "switch.cases.equals": Scenario(light, check_switch_equals),
    "switch.cases.when": Scenario(light, check_switch_when),
    "switch.cases.output": Scenario(light, check_switch),
    "switch.default": Scenario(light, check_switch_default),
    "type.merge": Scenario(light, check_merge_all_modes),
    "merge.mode": Scenario(light, check_merge_all_modes),
    **{f"merge.mode={mode}": Scenario(light, check_merge_mode(mode)) for mode in ("all", "first", "any")},
    "merge.strategy": Scenario(light, check_merge_all_strategies),
    **{f"merge.strategy={s}": Scenario(light, check_merge_strategy(s)) for s in ("keyed", "object", "list")},
    "type.noop": Scenario(light, check_noop),
    "type.log": Scenario(light, check_log_message),
    "log.message": Scenario(light, check_log_message),
    "log.level": Scenario(light, check_log_levels),
    **{f"log.level={level}": Scenario(light, check_log_level(level)) for level in ("debug", "info", "warning",
                                                                                 "error")},
    "type.fail": Scenario(light, check_fail_message),
    "fail.message": Scenario(light, check_fail_message),
    "fail.details": Scenario(light, check_fail_details),
    "type.webhook_response": Scenario(light, check_webhook_response("status")),
    **{f"webhook_response.{key}": Scenario(light, check_webhook_response(key)) for key in ("status", "headers",
                                                                                         "body")},
    "type.delay": Scenario(light, check_delay),
    "delay.duration": Scenario(light, check_delay),
    "type.wait_until": Scenario(light, check_wait_until),
    "wait_until.until": Scenario(light, check_wait_until_expression),
    "type.sub_workflow": Scenario(children, check_sub_workflow),
    "sub_workflow.workflow": Scenario(children, check_sub_workflow),
    "sub_workflow.version": Scenario(children, check_sub_workflow_version),
    "sub_workflow.input": Scenario(children, check_sub_workflow_input),
    "sub_workflow.wait": Scenario(children, check_sub_workflow_wait),
    "type.foreach": Scenario(children, check_foreach_node),
    "foreach.items": Scenario(children, check_foreach_items),
    "foreach.node": Scenario(children, check_foreach_node),
    "foreach.node.type": Scenario(children, check_foreach_node),
    "foreach.node.config": Scenario(children, check_foreach_node_config),
    "foreach.concurrency": Scenario(children, check_foreach_concurrency),
    "foreach.workflow": Scenario(children, check_foreach_workflow),
    "foreach.version": Scenario(children, check_foreach_version),
    "foreach.input": Scenario(children, check_foreach_input),
    "type.llm": Scenario(llm, check_llm),
    "llm.provider": Scenario(llm, check_llm_providers),
    "llm.provider=openai": Scenario(llm, check_llm_provider("openai")),
    "llm.provider=anthropic": Scenario(llm, check_llm_provider("anthropic")),
    "llm.model": Scenario(llm, check_llm_model),
    "llm.base_url": Scenario(llm, check_llm_base_url),
    "llm.api_key": Scenario(llm, check_llm_api_key),
    "llm.system": Scenario(llm, check_llm_system),
    "llm.prompt": Scenario(llm, check_llm_prompt),
    "llm.messages": Scenario(llm, check_llm_messages),
    "llm.messages.role": Scenario(llm, check_llm_messages),
    "llm.messages.content": Scenario(llm, check_llm_messages),
    "llm.temperature": Scenario(llm, check_llm_temperature),
    "llm.max_tokens": Scenario(llm, check_llm_max_tokens),
    "llm.response_schema": Scenario(llm, check_llm_response_schema),
    "type.approval": Scenario(approval, check_approval),
    "approval.message": Scenario(approval, check_approval_message),
    "approval.approvers": Scenario(approval, check_approval_approvers),
    "approval.timeout": Scenario(approval, check_approval_timeout),
    "type.function": Scenario(function, check_function),
    "function.executor": Scenario(function, check_function_executor),
    "function.function": Scenario(function, check_function_function),
    "function.input": Scenario(function, check_function_input),
    "function.output": Scenario(function, check_function_output),
}

# Defects reported to the lead: their tests are expected to fail, strictly (see conformance.cases).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(("name", "dispatcher"), list(cases(SCENARIOS, "node_types", KNOWN)))
def test_the_runtime_keeps_the_promise(name: str, dispatcher: str, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, missing(name)
    scenario.check(observe(request, scenario.group, dispatcher))
