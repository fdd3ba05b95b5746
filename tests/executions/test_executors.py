"""Executors against real local servers: HTTP (parsing, limits, SSRF guard) and LLM wire formats."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from executions.executors import NodeContext, PermanentError, RetryableError, get_executor
from executions.executors.ssrf import BlockedAddress, check_host
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def ctx(timeout: float | None = 5, **expressions: Any) -> NodeContext:
    return NodeContext(execution_id="e", tenant_id="t", node_id="n", attempt=1, timeout=timeout,
                       expressions={"input": {}, **expressions}, inputs={})


def http(config: dict[str, Any]) -> Any:
    return get_executor("http").run(config, ctx())


def test_http_parses_json_text_and_binary(http_server: LocalServer, settings: Any) -> None:
    posted = http({"method": "POST", "url": f"{http_server.url}/echo", "json": {"a": 1}, "query": {"q": "x"}})
    assert posted["status"] == 200
    assert posted["body"]["body"] == {"a": 1}
    assert posted["body"]["query"] == {"q": "x"}
    assert http({"url": f"{http_server.url}/text"})["body"] == "hello text"
    binary = http({"url": f"{http_server.url}/binary"})["body"]
    assert binary["size"] == 256


def test_a_cookie_one_response_sets_never_rides_along_on_later_requests(http_server: LocalServer) -> None:
    """Every node of every tenant shares the process's HTTP client: it must keep no cookie jar."""
    assert http({"url": f"{http_server.url}/set-cookie?value=tenant-a"})["status"] == 200
    assert http({"url": f"{http_server.url}/echo"})["body"]["cookie"] is None
    sent = http({"url": f"{http_server.url}/echo", "headers": {"Cookie": "mine=1"}})
    assert sent["body"]["cookie"] == "mine=1"  # a cookie the node's own config sends still goes


def test_http_statuses_map_to_retryable_or_permanent(http_server: LocalServer) -> None:
    with pytest.raises(RetryableError):
        http({"url": f"{http_server.url}/status/503"})
    with pytest.raises(PermanentError) as info:
        http({"url": f"{http_server.url}/status/404"})
    assert info.value.details["status"] == 404
    assert http({"url": f"{http_server.url}/status/404", "expected_status": [404]})["status"] == 404


def test_http_refuses_bodies_over_the_limit(http_server: LocalServer) -> None:
    with pytest.raises(PermanentError, match="limit"):
        http({"url": f"{http_server.url}/big?size=5000", "max_response_bytes": 1000})


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "100.100.100.200",
                                  "::1",
                                  "metadata.google.internal", "localhost", "0.0.0.0"])
def test_the_ssrf_guard_refuses_internal_addresses(host: str) -> None:
    with override_settings(MBFLOW_HTTP_ALLOW_HOSTS=[]), pytest.raises(BlockedAddress):
        check_host(host, 80)


def test_the_allow_list_takes_hosts_and_cidrs() -> None:
    with override_settings(MBFLOW_HTTP_ALLOW_HOSTS=["10.0.0.0/8", "internal.example"]):
        check_host("10.1.2.3", 80)
        check_host("internal.example", 80)
        with pytest.raises(BlockedAddress):
            check_host("192.168.1.1", 80)


def test_redirects_to_internal_addresses_are_refused(http_server: LocalServer) -> None:
    followed = http({"url": f"{http_server.url}/redirect?to=/text", "follow_redirects": True})
    assert followed["body"] == "hello text"
    with override_settings(MBFLOW_HTTP_ALLOW_HOSTS=["127.0.0.1"]), pytest.raises(BlockedAddress):
        http({"url": f"{http_server.url}/redirect?to=http://169.254.169.254/latest", "follow_redirects": True})


def test_basic_credentials_follow_a_redirect_only_within_their_origin(http_server: LocalServer) -> None:
    other = LocalServer()  # another port: another origin
    try:
        auth = {"type": "basic", "username": "u", "password": "pw-secret"}
        same = http({"url": f"{http_server.url}/redirect?to=/echo", "follow_redirects": True, "auth": auth})
        assert same["body"]["authorization"].startswith("Basic ")
        away = http({"url": f"{http_server.url}/redirect?to={other.url}/echo", "follow_redirects": True,
                     "auth": auth})
        assert away["body"]["authorization"] is None
        assert other.requests[-1]["headers"].get("authorization") is None
    finally:
        other.close()


def test_a_name_that_resolves_elsewhere_when_connecting_is_refused(http_server: LocalServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name is public when checked and loopback the next time it resolves.
    The client connects only to the address it checked, so the local server is never reached."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    before = len(http_server.requests)
    with override_settings(MBFLOW_HTTP_ALLOW_HOSTS=[]), pytest.raises(BlockedAddress):
        http({"url": f"http://rebind.example:{http_server.port}/echo"})
    assert len(http_server.requests) == before


def test_llm_speaks_the_openai_wire_format(http_server: LocalServer) -> None:
    llm = get_executor("llm")
    result = llm.run({"provider": "openai", "model": "gpt-x", "base_url": http_server.url,
                      "api_key": "sk-test-openai", "system": "be brief", "prompt": "hi"}, ctx())
    assert result["text"] == "openai says: hi"
    assert result["usage"] == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    assert result["finish_reason"] == "stop"
    sent = http_server.requests[-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    schema = {"type": "object", "required": ["sentiment"], "properties": {"sentiment": {"type": "string"}}}
    structured = llm.run({"provider": "openai", "model": "gpt-x", "base_url": http_server.url + "/v1",
                          "api_key": "sk-test-openai", "prompt": "great", "response_schema": schema}, ctx())
    assert structured["json"] == {"sentiment": "positive", "echo": "great"}
    with pytest.raises(PermanentError):
        llm.run({"provider": "openai", "model": "m", "base_url": http_server.url, "api_key": "wrong",
                 "prompt": "x"}, ctx())


def test_llm_speaks_the_anthropic_wire_format(http_server: LocalServer) -> None:
    llm = get_executor("llm")
    result = llm.run({"provider": "anthropic", "model": "claude-x", "base_url": http_server.url,
                      "api_key": "sk-test-anthropic", "system": "sys", "prompt": "hello"}, ctx())
    assert result["text"] == "claude says: hello / system=sys"
    assert result["usage"]["total_tokens"] == 8
    schema = {"type": "object", "required": ["sentiment"], "properties": {"sentiment": {"type": "string"}}}
    structured = llm.run({"provider": "anthropic", "model": "claude-x", "base_url": http_server.url,
                          "api_key": "sk-test-anthropic", "prompt": "meh", "response_schema": schema}, ctx())
    assert structured["json"]["sentiment"] == "negative"
    assert structured["finish_reason"] == "tool_use"


def test_an_llm_node_reads_its_key_from_secrets(embedded: object, admin_client: Any, store: Store, run: Run,
                                                http_server: LocalServer) -> None:
    admin_client.post("/api/v1/secrets", {"name": "OPENAI_KEY", "value": "sk-test-openai"}, format="json")
    store(doc("ask", f"""
  nodes:
    - id: ask
      type: llm
      config:
        model: gpt-x
        base_url: "{http_server.url}"
        api_key: "{{{{ secrets.OPENAI_KEY }}}}"
        prompt: "Summarise {{{{ input.topic }}}}"
  output: "{{{{ nodes.ask.output.text }}}}"
"""))
    execution = run("ask", {"topic": "cats"})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == "openai says: Summarise cats"
    assert "sk-test-openai" not in str(steps(execution)["ask"]["input"])


def test_foreach_runs_a_node_per_item_in_order(embedded: object, store: Store, run: Run,
                                               http_server: LocalServer) -> None:
    store(doc("loop", f"""
  nodes:
    - id: each
      type: foreach
      config:
        items: "{{{{ input.names }}}}"
        concurrency: 3
        node: {{type: http, config: {{url: "{http_server.url}/echo?name={{{{ item }}}}&i={{{{ index }}}}"}}}}
  output: "{{{{ nodes.each.output | map(attribute='body') | map(attribute='query') | list }}}}"
"""))
    execution = run("loop", {"names": ["a", "b", "c", "d", "e"]})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == [{"name": n, "i": str(i)} for i, n in enumerate("abcde")]


def test_transform_with_jmespath_and_merge_modes(embedded: object, store: Store, run: Run) -> None:
    store(doc("shapes", """
  nodes:
    - {id: src, type: transform, config: {mapping: {people: [{name: a, age: 3}, {name: b, age: 30}]}}}
    - {id: adults, type: transform, config: {jmespath: "people[?age > `18`].name"}}
    - {id: slow, type: delay, config: {duration: 200ms}}
    - {id: first, type: merge, config: {mode: first, strategy: list}}
  edges:
    - {from: src, to: adults}
    - {from: src, to: slow}
    - {from: slow, to: first}
    - {from: adults, to: first}
  output: {adults: "{{ nodes.adults.output }}", first: "{{ nodes.first.output | length }}"}
"""))
    execution = run("shapes")
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"]["adults"] == ["b"]
    # mode first runs as soon as one input is taken (adults), not waiting for the delayed one.
    assert execution["output"]["first"] == 1
    assert steps(execution)["slow"]["status"] == "succeeded"
