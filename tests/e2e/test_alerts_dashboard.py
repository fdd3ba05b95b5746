"""Alerts, business metrics and the trace id in a real browser against the real server: an alert
rule `execution failed` tells a local webhook server (signed) when a run fails, and the dashboard
shows it firing; the workflow's business metrics (spec.metrics) show beside it; a run's page
shows its trace id."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers
from tests.e2e.test_executions_pages import start
from tests.triggers.receiver import Receiver, verify

pytestmark = pytest.mark.e2e

expect.set_options(timeout=WAIT_MS)

ORDERS = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-alert-orders, title: Alerted orders}
spec:
  nodes:
    - {id: charge, type: fail, config: {message: card declined}}
  metrics:
    - {name: orders_seen, type: counter, labels: {plan: "{{ input.plan }}"}, description: Orders that came in}
    - {name: order_total, type: histogram, value: "{{ input.total }}", buckets: [10, 50, 100]}
"""


@pytest.fixture
def receiver() -> object:
    server = Receiver()
    yield server
    server.close()


def post(page: Page, path: str, body: dict) -> dict:
    answer = page.request.post(path, data=body, headers=csrf_headers(page))
    assert answer.status == 201, answer.text()
    return answer.json()


def test_an_alert_fires_into_a_local_webhook_server_and_shows_on_the_dashboard(page: Page, receiver: Receiver) -> None:
    workflow = create_workflow(page, ORDERS)
    hook = post(page, "/api/v1/webhooks", {"url": f"{receiver.url}/alerts",
                                           "events": ["alert.firing", "alert.resolved"]})
    rule = post(page, "/api/v1/alerts/rules", {
        "name": "orders failing", "workflow": "e2e-alert-orders", "condition": "execution failed over 15m",
        "severity": "critical", "channels": [{"type": "webhook", "webhook": hook["id"]}]})
    assert rule["state"] == "ok"

    page.goto("/dashboard?range=1h")
    expect(page.get_by_test_id("alerts-summary")).to_contain_text("rule")
    # Two orders fail (the node always does): the rule fires at the next tick.
    runs = [start(page, workflow, {"plan": plan, "total": total}, wait=20)
            for plan, total in (("pro", 30), ("free", 70))]
    assert [run["status"] for run in runs] == ["failed", "failed"]

    [call] = receiver.wait_for(1, "/alerts", timeout=60)
    assert verify(call.headers["x-mbflow-signature"], hook["secret"], call.body, time.time())
    body = json.loads(call.body)
    assert (body["event"], body["alert"]["rule"]["name"], body["alert"]["severity"]) == (
        "alert.firing", "orders failing", "critical")
    assert {execution["id"] for execution in body["alert"]["details"]["executions"]} <= {run["id"] for run in runs}

    # The dashboard reads the firings again by itself: the alert shows firing, told to the webhook.
    firing = page.locator("[data-testid=alert-firing][data-rule='orders failing']")
    expect(firing).to_have_attribute("data-status", "firing", timeout=30_000)
    expect(firing).to_contain_text("critical")
    expect(firing).to_contain_text("e2e-alert-orders")
    expect(firing).to_contain_text("webhook (sent)", timeout=30_000)
    expect(page.get_by_test_id("alerts-summary")).to_contain_text("1 firing")

    # The business metrics the runs fed: two orders (pro and free), totals 30 and 70.
    page.get_by_role("button", name="Refresh").click()
    seen = page.locator("[data-testid=business-metric][data-metric=orders_seen]")
    expect(seen.get_by_test_id("business-metric-value")).to_have_text("2")
    expect(seen).to_contain_text("plan=pro")
    expect(seen).to_contain_text("plan=free")
    total = page.locator("[data-testid=business-metric][data-metric=order_total]")
    expect(total.get_by_test_id("business-metric-value")).to_have_text("50")  # the average of 30 and 70
    page.get_by_test_id("alerts-card").scroll_into_view_if_needed()
    shot(page, "alerts-01-dashboard-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("alerts-card").scroll_into_view_if_needed()
    shot(page, "alerts-02-dashboard-1440")

    # One workflow's dashboard keeps its alert and its metrics.
    page.get_by_test_id("dash-workflow").select_option(workflow)
    expect(page.locator("[data-testid=alert-firing][data-rule='orders failing']")).to_be_visible()
    expect(page.locator("[data-testid=business-metric][data-metric=orders_seen]")).to_be_visible()

    # A run's page shows its trace id (the execution's id as 32 hex digits).
    page.goto(f"/executions/{runs[0]['id']}")
    expect(page.get_by_test_id("execution-trace")).to_have_text(uuid.UUID(runs[0]["id"]).hex)
    shot(page, "alerts-03-execution-trace-1440")
