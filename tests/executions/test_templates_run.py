"""Every built-in template runs to success right after "Use template": the secrets it asks for are
set, the variables it asks for point at a local server standing in for the services (a CRM, a shop,
an LLM API, a chat webhook), and one run with a sample input succeeds with the expected output."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.executions.conftest import steps
from tests.executions.servers import LocalServer
from workflows.services.template_setup import needs_problems, with_values
from workflows.services.templates import builtin_templates
from workflows.spec import load_document

Reply = tuple[int, Any]


def llm_reply(request: dict[str, Any]) -> Reply:
    """An OpenAI-compatible chat completion that quotes the start of the prompt it was given."""
    prompt = request["body"]["messages"][-1]["content"]
    return 200, {"choices": [{"message": {"role": "assistant", "content": f"Summary of: {prompt[:40]}"},
                              "finish_reason": "stop"}],
                 "model": request["body"]["model"], "usage": {"prompt_tokens": 12, "completion_tokens": 5}}


def contact(request: dict[str, Any]) -> Reply:
    email = request["query"]["email"]
    return (200, {"email": email, "id": "c-" + email[0]}) if email.endswith("@known.test") else (404, {})


# template id -> (the service paths it calls and their answers, its sample input, a check of the run)
Check = Callable[[dict[str, Any], LocalServer], None]
SERVICES: dict[str, tuple[dict[str, Reply | Callable[[dict[str, Any]], Reply]], dict[str, Any], Check]] = {
    "batch-enrich": (
        {"GET /crm/contacts": contact},
        {"emails": ["ann@known.test", "bob@other.test", "cid@known.test"]},
        lambda run, server: _equal(run["output"], {
            "known": 2, "unknown": 1,
            "contacts": [{"email": "ann@known.test", "id": "c-a"}, {"email": "cid@known.test", "id": "c-c"}]}),
    ),
    "fetch-transform-summarize": (
        {"GET /feed": (200, {"items": [{"title": "One", "summary": "first", "url": "https://e.test/1"},
                                       {"name": "Two", "description": "second", "url": "https://e.test/2"}]}),
         "POST /llm/v1/chat/completions": llm_reply},
        {"url": "SERVER/feed", "max_items": 5},
        lambda run, server: _equal(run["output"], {"summary": "Summary of: Summarise these items for a busy manager",
                                                   "items": 2}),
    ),
    "order-processing": (
        {"POST /shop/orders/validate": (200, {"valid": True, "items": [{"sku": "A1", "qty": 2}]}),
         "POST /shop/inventory/reservations": (201, {"reservation": "r-1"}),
         "POST /shop/payments": (201, {"charged": True}),
         "POST /shop/shipments": (201, {"id": "ship-42"})},
        {"order_id": "o-1", "customer_id": "cust-1", "amount": 42.5},
        lambda run, server: _equal(run["output"], {"order_id": "o-1", "payment": "charged", "shipment_id": "ship-42"}),
    ),
    "parallel-fetch-merge": (
        {"GET /shop/customers/cust-7": (200, {"id": "cust-7", "name": "Ada"}),
         "GET /shop/customers/cust-7/orders": (200, [{"id": "o-9"}, {"id": "o-8"}]),
         "GET /shop/support/tickets": (200, {"tickets": [{"id": "t-1"}]})},
        {"customer_id": "cust-7"},
        lambda run, server: _equal(run["output"], {"customer": {"id": "cust-7", "name": "Ada"}, "order_count": 2,
                                                   "last_order": {"id": "o-9"}, "open_tickets": 1}),
    ),
    "scheduled-report": (
        {"GET /analytics/orders": (200, {"orders": [{"product": "tea", "total": 10.5},
                                                    {"product": "cake", "total": 4.25},
                                                    {"product": "tea", "total": 3}]}),
         "POST /llm/v1/chat/completions": llm_reply,
         "POST /hooks/chat": (200, {"ok": True})},
        {"day": "2026-12-01"},
        lambda run, server: (
            _equal(run["output"]["figures"], {"orders": 3, "revenue": 17.75, "top_products": ["tea", "cake"]}),
            _equal(_last(server, "/hooks/chat")["body"]["channel"], "#sales"),
            _equal(_last(server, "/analytics/orders")["query"], {"day": "2026-12-01"})),
    ),
    "user-onboarding": (
        {"POST /crm/contacts": (201, {"id": "contact-5"}),
         "POST /hooks/chat": (200, {"ok": True}),
         "POST /crm/tasks": (201, {"id": "task-1"}),
         "POST /crm/emails": (202, {"queued": True})},
        {"email": "ada@corp.test", "name": "Ada Lovelace", "plan": "enterprise"},
        lambda run, server: (
            _equal(run["output"], {"contact_id": "contact-5", "plan": "enterprise"}),
            _equal(_last(server, "/crm/emails")["body"]["data"], {"first_name": "Ada", "app_name": "Tea Shop"})),
    ),
    "webhook-alert": (
        {"POST /hooks/chat": (200, {"ok": True}),
         "POST /incidents/incidents": (201, {"id": "inc-3"})},
        {"title": "Disk full", "severity": "critical", "source": "db-1"},
        lambda run, server: _equal(run["output"], {"serious": True, "incident": "inc-3"}),
    ),
}

# The values "Use template" is given: each variable asked for, by name, on the local server.
VARIABLES = {"crm": "SERVER/crm", "api": "SERVER/shop", "llm_api": "SERVER/llm/v1", "llm_model": "local-model",
             "analytics": "SERVER/analytics", "incidents": "SERVER/incidents", "finance_api": "SERVER/finance",
             "app_name": "Tea Shop", "auto_approve_limit": 100}
SECRET_VALUES = {"SLACK_WEBHOOK_URL": "SERVER/hooks/chat"}


def _equal(seen: Any, wanted: Any) -> None:
    assert seen == wanted


def _last(server: LocalServer, path: str) -> dict[str, Any]:
    return [r for r in server.requests if r["path"] == path][-1]


def _fill(value: Any, server: LocalServer) -> Any:
    if isinstance(value, str):
        return value.replace("SERVER", server.url)
    if isinstance(value, dict):
        return {k: _fill(v, server) for k, v in value.items()}
    return value


def instantiate(admin_client: APIClient, server: LocalServer, template_id: str, name: str,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Does what the Templates page does: reads what the template needs, sets each secret, and
    makes the workflow with the variables filled in."""
    listed = {t["id"]: t for t in admin_client.get("/api/v1/templates?page_size=100").json()["results"]}
    needs = listed[template_id]["needs"]
    for secret in needs["secrets"]:
        value = _fill(SECRET_VALUES.get(secret["name"], f"token-of-{secret['name'].lower()}"), server)
        assert admin_client.post("/api/v1/secrets", {"name": secret["name"], "value": value},
                                 format="json").status_code in (200, 201)
    variables = {v["name"]: _fill(VARIABLES[v["name"]], server) for v in needs["variables"]}
    variables.update(overrides or {})
    made = admin_client.post(f"/api/v1/templates/{template_id}/instantiate",
                             {"name": name, "title": f"My {name}", "variables": variables}, format="json")
    assert made.status_code == 201, made.json()
    return made.json()


def finished(client: APIClient, execution_id: str, done: Callable[[dict[str, Any]], bool] | None = None,
             seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(f"/api/v1/executions/{execution_id}").json()
        if (done(body) if done else body["status"] not in ("pending", "running")) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_every_builtin_template_declares_what_it_needs() -> None:
    ids = {template.name for template in builtin_templates()}
    assert ids == {*SERVICES, "expense-approval"}
    for template in builtin_templates():
        document = load_document(template.yaml).data
        assert needs_problems(document) == [], template.id
        # Readable when opened: each node's name fits on its box's title line (220 px, bold 13 px).
        long_names = [node["name"] for node in document["spec"]["nodes"] if len(node.get("name", "")) > 18]
        assert long_names == [], template.id


@pytest.mark.parametrize("template_name", sorted(SERVICES))
def test_a_builtin_template_runs_to_success_once_filled_in(template_name: str, embedded: object,
                                                           admin_client: APIClient, http_server: LocalServer) -> None:
    template = next(t for t in builtin_templates() if t.name == template_name)
    answers, sample, check = SERVICES[template_name]
    for route, reply in answers.items():
        method, path = route.split(" ", 1)
        http_server.answer(method, path, reply)
    seen = len(http_server.requests)
    workflow = instantiate(admin_client, http_server, template.id, f"mine-{template_name}")
    assert workflow["title"] == f"My mine-{template_name}"
    started = admin_client.post("/api/v1/executions", {"workflow": workflow["id"], "input": _fill(sample, http_server),
                                                       "wait": 25}, format="json")
    assert started.status_code in (200, 201), started.json()
    run = finished(admin_client, started.json()["id"])
    assert run["status"] == "succeeded", (run["error"], {k: (s["status"], s["error"]) for k, s in steps(run).items()})
    check(run, http_server)
    # The secrets reached the services, never the run's record.
    authorized = [r["headers"].get("authorization", "") for r in http_server.requests[seen:]]
    assert any(value.startswith("Bearer token-of-") for value in authorized), authorized
    assert "token-of-" not in str(run)


def test_expense_approval_is_decided_by_the_admin_after_use_template(embedded: object, admin_client: APIClient,
                                                                      http_server: LocalServer) -> None:
    http_server.answer("POST", "/finance/payouts", (201, {"payout": "p-1"}))
    http_server.answer("POST", "/finance/notifications", (202, {}))
    template = next(t for t in builtin_templates() if t.name == "expense-approval")
    workflow = instantiate(admin_client, http_server, template.id, "my-expenses", {"auto_approve_limit": 50})
    # A small claim is paid at once.
    small = admin_client.post("/api/v1/executions", {"workflow": workflow["id"], "wait": 25, "input": {
        "employee": "eve@corp.test", "amount": 20, "reason": "taxi"}}, format="json").json()
    small = finished(admin_client, small["id"])
    assert small["status"] == "succeeded", small["error"]
    assert small["output"] == {"paid": True, "approved_by": None}
    # A larger one waits for a decision, which the admin may take.
    started = admin_client.post("/api/v1/executions", {"workflow": workflow["id"], "input": {
        "employee": "eve@corp.test", "amount": 80, "reason": "train"}}, format="json").json()
    waiting = finished(admin_client, started["id"],
                       lambda body: steps(body).get("manager_approval", {}).get("status") == "waiting")
    assert steps(waiting)["manager_approval"]["status"] == "waiting", waiting
    decided = admin_client.post(f"/api/v1/executions/{started['id']}/signals",
                                {"node_id": "manager_approval", "decision": "approved"}, format="json")
    assert decided.status_code in (200, 202), decided.json()
    done = finished(admin_client, started["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["output"]["paid"] is True
    assert _last(http_server, "/finance/payouts")["body"] == {"employee": "eve@corp.test", "amount": 80,
                                                              "currency": "EUR"}


def test_instantiate_keeps_comments_and_names_bad_values(admin_client: APIClient) -> None:
    made = admin_client.post("/api/v1/templates/batch_enrich/instantiate",
                             {"name": "enrich-mine", "title": "Enrich mine",
                              "variables": {"crm": "https://crm.internal.test/api"}}, format="json")
    assert made.status_code == 201, made.json()
    text = made.json()["yaml"]
    assert 'crm: "https://crm.internal.test/api"' in text
    assert 'name: "enrich-mine"' in text and 'title: "Enrich mine"' in text
    assert "# Run one HTTP call per item of a list" in text  # the template's comments stay
    bad = admin_client.post("/api/v1/templates/batch_enrich/instantiate",
                            {"name": "Not A Name", "variables": {"crm": ["x"], "nope": 1}}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["fields"]) == {"name", "variables.crm", "variables.nope"}
    assert admin_client.post("/api/v1/templates/missing/instantiate", {}, format="json").status_code == 404


def test_with_values_changes_only_the_values() -> None:
    text = "metadata:\n  name: a  # the name\n  title: A\nspec:\n  variables:\n    url: https://x.test  # keep\n"
    changed = with_values(text, {("metadata", "name"): "b", ("spec", "variables", "url"): "http://127.0.0.1:9/api"})
    assert changed == ('metadata:\n  name: "b"  # the name\n  title: A\nspec:\n  variables:\n'
                       '    url: "http://127.0.0.1:9/api"  # keep\n')
    added = with_values("metadata: {name: a}\nspec: {}\n", {("metadata", "title"): "T"})
    assert added == 'metadata: {name: a, title: "T"}\nspec: {}\n'
