"""Webhooks, events and schedules against a real server process (uvicorn, embedded dispatcher,
PostgreSQL when DATABASE_URL says so): what a caller of /hooks/<token> and /api/v1/events sees,
and the embedded server's own schedule tick."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.server_process import ROOT, ServerProcess, server_process

RATE_LIMIT = 10
BODY_LIMIT = 4096


def doc(name: str, body: str) -> str:
    return f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: {name}\nspec:\n{body}"


ECHO = """\
  nodes:
    - {id: echo, type: transform, config: {mapping: {got: "{{ input }}"}}}
  output: "{{ nodes.echo.output.got }}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("triggers"), MBFLOW_WEBHOOK_RATE_LIMIT=str(RATE_LIMIT),
                        MBFLOW_WEBHOOK_RATE_WINDOW="600", MBFLOW_MAX_BODY_BYTES=str(BODY_LIMIT)) as running:
        yield running


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def anonymous(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


Flow = Callable[..., dict[str, Any]]


@pytest.fixture
def flow(api: httpx.Client) -> Flow:
    """Stores a workflow and answers its first trigger as the API shows it."""

    def make(name: str, body: str) -> dict[str, Any]:
        created = api.post("/api/v1/workflows", content=doc(name, body), headers={"Content-Type": "application/yaml"})
        assert created.status_code == 201, created.text
        listed = api.get(f"/api/v1/workflows/{name}/triggers").json()["results"]
        return {"workflow": created.json(), "trigger": listed[0] if listed else None}

    return make


def hook_path(trigger: dict[str, Any]) -> str:
    return "/hooks/" + trigger["webhook"]["url"].rsplit("/", 1)[1]


def settled(api: httpx.Client, execution_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = api.get(f"/api/v1/executions/{execution_id}").json()
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not finish")


def count(api: httpx.Client, workflow: str) -> int:
    return api.get(f"/api/v1/executions?workflow={workflow}").json()["count"]


def test_an_async_webhook_answers_202_and_runs_with_the_body_as_input(flow: Flow, api: httpx.Client,
                                                                      anonymous: httpx.Client) -> None:
    hook = flow("hook-async", ECHO + "  triggers: [{type: webhook, name: intake}]\n")["trigger"]
    answer = anonymous.post(hook_path(hook), json={"title": "disk full", "severity": "error"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status_url"] == f"{str(api.base_url).rstrip('/')}/api/v1/executions/{body['execution_id']}"
    execution = settled(api, body["execution_id"])
    assert execution["status"] == "succeeded"
    assert execution["input"] == execution["output"] == {"title": "disk full", "severity": "error"}
    assert execution["trigger"] == {"type": "webhook", "id": hook["id"], "name": "intake", "mode": "async",
                                    "signed": False}
    shown = api.get(f"/api/v1/triggers/{hook['id']}").json()
    assert shown["last_execution_id"] == body["execution_id"] and shown["last_fired_at"]


def test_the_input_can_be_the_whole_request_without_its_credentials(flow: Flow, api: httpx.Client,
                                                                     anonymous: httpx.Client) -> None:
    hook = flow("hook-request", ECHO + "  triggers: [{type: webhook, input: request}]\n")["trigger"]
    answer = anonymous.post(hook_path(hook) + "?source=grafana&tag=a&tag=b", json={"n": 1},
                            headers={"X-Event": "alert", "Authorization": "Bearer nope", "Cookie": "s=1"})
    got = settled(api, answer.json()["execution_id"])["output"]
    assert got["body"] == {"n": 1} and got["method"] == "POST"
    assert got["query"] == {"source": "grafana", "tag": ["a", "b"]}
    assert got["headers"]["x-event"] == "alert" and got["headers"]["content-type"] == "application/json"
    assert not {"authorization", "cookie"} & got["headers"].keys()


def test_a_call_without_a_body_runs_with_its_query_and_a_form_with_its_fields(flow: Flow, api: httpx.Client,
                                                                             anonymous: httpx.Client) -> None:
    hook = flow("hook-query", ECHO + "  triggers: [{type: webhook}]\n")["trigger"]
    by_query = anonymous.post(hook_path(hook) + "?ticket=42")
    by_form = anonymous.post(hook_path(hook), data={"ticket": "43"})
    assert settled(api, by_query.json()["execution_id"])["output"] == {"ticket": "42"}
    assert settled(api, by_form.json()["execution_id"])["output"] == {"ticket": "43"}
    refused = anonymous.post(hook_path(hook), content=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (415, "unsupported_media_type")


def test_a_sync_webhook_answers_with_its_webhook_response_node_while_the_run_goes_on(
        flow: Flow, api: httpx.Client, anonymous: httpx.Client) -> None:
    """GIVEN a workflow that replies first and then waits for an approval
    WHEN its sync webhook is called
    THEN the caller gets the reply node's status, headers and body, and the run still waits."""
    hook = flow("hook-reply", """\
  nodes:
    - id: reply
      type: webhook_response
      config: {status: 201, headers: {X-Reply: yes, Content-Length: "1"}, body: {accepted: "{{ input.id }}"}}
    - {id: ok, type: approval}
  edges: [{from: reply, to: ok}]
  triggers: [{type: webhook, mode: sync}]
""")["trigger"]
    answer = anonymous.post(hook_path(hook), json={"id": "a-7"})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"accepted": "a-7"} and answer.headers["x-reply"] == "yes"
    assert answer.headers["content-type"] == "application/json"
    [running] = api.get("/api/v1/executions?workflow=hook-reply").json()["results"]
    assert running["status"] == "running" and running["trigger"]["mode"] == "sync"
    decided = api.post(f"/api/v1/executions/{running['id']}/signals", json={"node_id": "ok", "decision": "approved"})
    assert decided.status_code == 200, decided.text
    assert settled(api, running["id"])["status"] == "succeeded"


def test_a_sync_webhook_answer_sets_no_cookie_and_runs_no_script_on_the_api_origin(
        flow: Flow, anonymous: httpx.Client) -> None:
    """GIVEN a workflow whose webhook_response node answers HTML with a script, a cookie and
    loosened security headers
    WHEN its sync webhook is called (as a page of another site could make a browser do)
    THEN the answer keeps its status, body, type and harmless headers, sets no cookie, and carries
    the server's own protections: a browser runs none of its scripts (CSP sandbox)."""
    hook = flow("hook-html", """\
  nodes:
    - id: reply
      type: webhook_response
      config:
        status: 200
        headers:
          Content-Type: text/html
          Set-Cookie: "sessionid=planted; Path=/"
          Content-Security-Policy: "default-src *"
          X-Frame-Options: ALLOWALL
          X-Content-Type-Options: none
          Strict-Transport-Security: max-age=0
          X-Reply: kept
        body: "<script>fetch('/api/v1/workflows')</script>"
  triggers: [{type: webhook, mode: sync}]
""")["trigger"]
    answer = anonymous.post(hook_path(hook), json={})
    assert answer.status_code == 200, answer.text
    assert answer.text == "<script>fetch('/api/v1/workflows')</script>"
    assert answer.headers["content-type"] == "text/html" and answer.headers["x-reply"] == "kept"
    assert "set-cookie" not in answer.headers and not answer.cookies
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in answer.headers


def test_a_sync_webhook_answers_204_without_a_body_and_a_1xx_status_is_a_502(
        flow: Flow, anonymous: httpx.Client) -> None:
    """A 204 carries no body (the node's is left out), and a 1xx status, which belongs to the
    protocol (101 would switch it), is no answer: 502 naming the problem, never a broken exchange."""
    def reply(name: str, code: int) -> dict[str, Any]:
        return flow(name, f"""\
  nodes:
    - {{id: r, type: webhook_response, config: {{status: {code}, body: {{ignored: true}}, headers: {{X-Seen: y}}}}}}
  triggers: [{{type: webhook, mode: sync}}]
""")["trigger"]

    empty = anonymous.post(hook_path(reply("hook-204", 204)), json={})
    assert (empty.status_code, empty.content, empty.headers["x-seen"]) == (204, b"", "y")
    assert "content-type" not in empty.headers
    for code in (100, 101):
        refused = anonymous.post(hook_path(reply(f"hook-{code}", code)), json={})
        assert refused.status_code == 502, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_webhook_response" and str(code) in error["message"]


def test_a_sync_webhook_without_a_reply_node_answers_the_output_or_the_failure(
        flow: Flow, api: httpx.Client, anonymous: httpx.Client) -> None:
    ok = flow("hook-output", ECHO + "  triggers: [{type: webhook, mode: sync}]\n")["trigger"]
    answer = anonymous.post(hook_path(ok), json={"x": [1, 2]})
    assert (answer.status_code, answer.json()) == (200, {"x": [1, 2]})
    failing = flow("hook-fails", """\
  nodes: [{id: boom, type: fail, config: {message: "no stock"}}]
  triggers: [{type: webhook, mode: sync}]
""")["trigger"]
    answer = anonymous.post(hook_path(failing), json={})
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert error["code"] == "execution_failed" and "no stock" in json.dumps(error)
    assert error["details"]["status_url"].endswith(error["details"]["execution_id"])


def signed(secret: str, body: bytes, at: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-MBFlow-Signature": f"t={at},v1={digest}", "Content-Type": "application/json"}


def test_a_signed_webhook_refuses_unsigned_wrong_stale_and_replayed_calls(flow: Flow, api: httpx.Client,
                                                                          anonymous: httpx.Client) -> None:
    created = flow("hook-signed", ECHO)["workflow"]
    secret = "a-long-shared-secret-1234"
    hook = api.post(f"/api/v1/workflows/{created['id']}/triggers",
                    json={"type": "webhook", "name": "signed", "secret": secret}).json()
    path, body, now = hook_path(hook), b'{"amount": 12}', int(time.time())

    def call(headers: dict[str, str]) -> tuple[int, str]:
        answer = anonymous.post(path, content=body, headers=headers)
        return answer.status_code, answer.json().get("error", {}).get("code", "")

    assert call({"Content-Type": "application/json"}) == (401, "signature_missing")
    assert call(signed("another-secret-altogether", body, now)) == (401, "signature_invalid")
    assert call({**signed(secret, body, now), "X-MBFlow-Signature": "v1=abc"}) == (401, "signature_invalid")
    assert call(signed(secret, body, now - 301)) == (401, "signature_expired")
    assert call(signed(secret, body + b" ", now)) == (401, "signature_invalid")
    assert count(api, "hook-signed") == 0
    good = signed(secret, body, now - 60)
    assert call(good) == (202, "")
    assert call(good) == (409, "signature_replayed")
    assert call(signed(secret, body, now - 59)) == (202, "")
    assert count(api, "hook-signed") == 2
    executions = api.get("/api/v1/executions?workflow=hook-signed").json()["results"]
    assert {e["trigger"]["signed"] for e in executions} == {True}


def test_a_signed_webhook_checks_the_signature_before_it_reads_the_body(flow: Flow, api: httpx.Client,
                                                                       anonymous: httpx.Client,
                                                                       server: ServerProcess) -> None:
    """GIVEN a signed webhook
    WHEN calls come with a body it cannot read, or a header of bytes no signature has
    THEN an unsigned one is a 401 whatever its body, a signed one with a bad body a 400 that
    spends nothing, a header of stray bytes a 401 (never a server error), nothing starts, and
    the server's log (which names the path of each refused call) does not show the token."""
    created = flow("hook-signed-first", ECHO)["workflow"]
    secret = "another-long-shared-secret"
    hook = api.post(f"/api/v1/workflows/{created['id']}/triggers",
                    json={"type": "webhook", "name": "signed", "secret": secret}).json()
    path, now = hook_path(hook), int(time.time())

    def call(body: bytes, headers: dict[str, Any]) -> tuple[int, str]:
        answer = anonymous.post(path, content=body, headers=headers)
        return answer.status_code, answer.json().get("error", {}).get("code", "")

    assert call(b"{not json", {"Content-Type": "application/json"}) == (401, "signature_missing")
    assert call(b"<xml/>", {"Content-Type": "text/xml"}) == (401, "signature_missing")
    for stray in (b"t=\xb2,v1=ab", f"t={now},v1=\xe9\xe9".encode(), b"t=\xd9\xa1,v1=00", b"\xff\xfe"):
        assert call(b"{}", {"Content-Type": "application/json", "X-MBFlow-Signature": stray}) == (
            401, "signature_invalid"), stray
    bad_body = signed(secret, b"{not json", now)
    assert call(b"{not json", bad_body) == (400, "parse_error")
    assert call(b"{not json", bad_body) == (400, "parse_error")  # not spent: no replay
    assert call(b"<xml/>", {**signed(secret, b"<xml/>", now), "Content-Type": "text/xml"})[0] == 415
    assert count(api, "hook-signed-first") == 0
    assert call(b'{"n": 1}', signed(secret, b'{"n": 1}', now)) == (202, "")
    log = server.log.read_text()
    assert "Unauthorized: /hooks/[REDACTED]" in log and path.rsplit("/", 1)[1] not in log


def test_a_webhook_called_too_often_answers_429_with_retry_after(flow: Flow, api: httpx.Client,
                                                                 anonymous: httpx.Client) -> None:
    hook = flow("hook-busy", ECHO + "  triggers: [{type: webhook}]\n")["trigger"]
    codes = [anonymous.post(hook_path(hook), json={"n": n}).status_code for n in range(RATE_LIMIT)]
    refused = anonymous.post(hook_path(hook), json={"n": "one too many"})
    assert codes == [202] * RATE_LIMIT
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert count(api, "hook-busy") == RATE_LIMIT


def test_a_body_over_the_limit_an_unknown_token_and_an_inactive_workflow_start_nothing(
        flow: Flow, api: httpx.Client, anonymous: httpx.Client) -> None:
    made = flow("hook-closed", ECHO + "  triggers: [{type: webhook}]\n")
    path = hook_path(made["trigger"])
    too_big = anonymous.post(path, json={"x": "y" * BODY_LIMIT})
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")
    unknown = anonymous.post("/hooks/" + "x" * 43, json={})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    api.patch(f"/api/v1/workflows/{made['workflow']['id']}", json={"active": False})
    inactive = anonymous.post(path, json={})
    assert (inactive.status_code, inactive.json()["error"]["code"]) == (409, "workflow_inactive")
    renewed = api.post(f"/api/v1/triggers/{made['trigger']['id']}/regenerate").json()
    assert anonymous.post(path, json={}).status_code == 404
    api.patch(f"/api/v1/workflows/{made['workflow']['id']}", json={"active": True})
    assert anonymous.post(hook_path(renewed), json={}).status_code == 202
    assert count(api, "hook-closed") == 1


def test_an_event_starts_each_workflow_whose_trigger_takes_it_once_per_id(flow: Flow, api: httpx.Client) -> None:
    flow("big-orders", ECHO + "  triggers: [{type: event, event: order.created, "
                             'filter: "{{ event.data.amount > 100 }}"}]\n')
    flow("gold-orders", ECHO + "  triggers: [{type: event, event: order.created, filter: {customer.tier: gold}, "
                              "input: event}]\n")
    flow("shop-orders", ECHO + "  triggers: [{type: event, event: order.created, source: shop}]\n")
    flow("refunds", ECHO + "  triggers: [{type: event, event: order.refunded}]\n")
    event = {"type": "order.created", "id": "evt-1", "source": "shop",
             "data": {"amount": 250, "customer": {"tier": "gold"}}}

    first = api.post("/api/v1/events", json=event)
    again = api.post("/api/v1/events", json=event)

    assert first.status_code == 202, first.text
    started = {entry["workflow"]["name"]: entry["execution"] for entry in first.json()["executions"]}
    assert set(started) == {"big-orders", "gold-orders", "shop-orders"} and first.json()["failed"] == []
    assert (again.status_code, again.json()["duplicate"], again.json()["executions"]) == (
        200, True, first.json()["executions"])
    assert settled(api, started["big-orders"])["output"] == event["data"]
    whole = settled(api, started["gold-orders"])
    assert whole["output"]["type"] == "order.created" and whole["output"]["id"] == "evt-1"
    assert whole["output"]["data"] == event["data"] and whole["output"]["time"].endswith("Z")
    assert whole["trigger"]["event"] == {"type": "order.created", "id": "evt-1", "source": "shop"}

    small = api.post("/api/v1/events", json={"type": "order.created", "data": {"amount": 5}}).json()
    assert small["executions"] == []
    refused = api.post("/api/v1/events", json={"type": "order created", "data": {}})
    assert refused.status_code == 400 and "type" in refused.json()["error"]["details"]["fields"]


def test_the_embedded_server_fires_interval_and_cron_triggers_once_per_due_time(flow: Flow, api: httpx.Client
                                                                               ) -> None:
    """The server's own tick, on the real clock: an interval of 1 s fires every second, and a cron
    of every minute (in a time zone of whole hours' offset) at the next whole minute, once."""
    made = flow("every-second", "  nodes: [{id: a, type: noop}]\n  triggers: [{type: interval, every: 1s}]\n")
    minutely = flow("every-minute", "  nodes: [{id: a, type: noop}]\n  triggers: [{type: cron, schedule: "
                                    '"* * * * *", timezone: Europe/Paris}]\n')
    deadline = time.monotonic() + 90
    while count(api, "every-second") < 3 or count(api, "every-minute") < 1:
        assert time.monotonic() < deadline, "the interval trigger did not fire 3 times, or the cron once, in 90 s"
        time.sleep(0.2)
    api.patch(f"/api/v1/workflows/{made['workflow']['id']}", json={"active": False})
    api.patch(f"/api/v1/workflows/{minutely['workflow']['id']}", json={"active": False})
    runs = api.get("/api/v1/executions?workflow=every-second&trigger=interval&page_size=100").json()["results"]
    due_times = [run["trigger"]["due_at"] for run in runs]
    assert len(due_times) == len(set(due_times)) >= 3
    assert {run["trigger"]["id"] for run in runs} == {made["trigger"]["id"]}
    crons = api.get("/api/v1/executions?workflow=every-minute&trigger=cron").json()["results"]
    due_times = [run["trigger"]["due_at"] for run in crons]
    assert len(due_times) == len(set(due_times)) >= 1
    assert all(due.endswith(":00Z") for due in due_times), due_times
    assert settled(api, crons[-1]["id"])["status"] == "succeeded"


def test_the_webhook_alert_template_answers_its_caller_on_its_own(flow: Flow, api: httpx.Client,
                                                                 anonymous: httpx.Client) -> None:
    """The template as shipped: its sync webhook gets the `acknowledge` node's 202 at once."""
    template = (ROOT / "workflows" / "templates_library" / "webhook_alert.yaml").read_text()
    created = api.post("/api/v1/workflows", content=template, headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    hook = api.get("/api/v1/workflows/webhook-alert/triggers").json()["results"][0]
    answer = anonymous.post(hook_path(hook), json={"title": "disk full", "severity": "info"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["accepted"] is True
    assert settled(api, body["execution"])["trigger"]["name"] == "Alert intake"
