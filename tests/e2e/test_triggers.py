"""The Triggers panel in a real browser against the real server: copy a webhook's URL from the
panel, call it from outside, and see the run appear; the next fire times of a schedule; the
workflow's Active switch; the Deliveries page of outbound webhooks. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.triggers.receiver import Receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

DOCUMENT = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: alert-intake, title: Alert intake}
spec:
  nodes:
    - {id: receive, type: transform, config: {mapping: {title: "{{ input.title }}"}}}
    - {id: log_it, type: log, config: {message: "{{ nodes.receive.output.title }}"}}
  edges: [{from: receive, to: log_it}]
  triggers:
    - {type: webhook, name: Alerts}
    - {type: cron, name: Mornings, schedule: "0 9 * * 1-5", timezone: Europe/Paris}
"""


def csrf_headers(page: Page) -> dict[str, str]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Content-Type": "application/json"}


def test_a_webhook_url_copied_from_the_triggers_panel_starts_a_run_the_panel_shows(page: Page,
                                                                                   server_url: str) -> None:
    page.goto("/workflows")
    created = page.request.post("/api/v1/workflows", data={"yaml": DOCUMENT, "message": "e2e"},
                                headers=csrf_headers(page))
    assert created.status == 201, created.text()
    workflow_id = created.json()["id"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)

    page.goto(f"/designer/{workflow_id}")
    expect(page.get_by_test_id("active-switch")).to_be_checked()
    page.get_by_test_id("triggers-button").click()
    panel = page.get_by_test_id("triggers-panel")
    webhook = panel.get_by_test_id("trigger-webhook")
    expect(webhook.get_by_test_id("webhook-url")).to_have_value(re.compile(rf"^{server_url}/hooks/[\w-]{{40,}}$"))
    expect(webhook.get_by_test_id("webhook-curl")).to_contain_text("curl -X POST")
    expect(webhook.get_by_test_id("trigger-last-fired")).to_have_text("Never fired yet")
    expect(panel.get_by_test_id("trigger-cron").get_by_test_id("next-fire-times").locator("li")).to_have_count(5)
    shot(page, "triggers-panel")

    webhook.get_by_test_id("webhook-url-copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == webhook.get_by_test_id("webhook-url").input_value()
    answer = httpx.post(copied, json={"title": "disk full"}, timeout=30)
    assert answer.status_code == 202, answer.text

    expect(webhook.get_by_test_id("trigger-last-fired")).to_contain_text("Last fired")
    webhook.get_by_test_id("show-trigger-run").click()
    expect(panel).to_be_hidden()
    page.wait_for_selector("[data-testid=node-log_it][data-status=succeeded]", timeout=30_000)
    expect(page.get_by_test_id("node-receive")).to_have_attribute("data-status", "succeeded")
    execution = page.request.get(f"/api/v1/executions/{answer.json()['execution_id']}").json()
    assert execution["input"] == {"title": "disk full"} and execution["trigger"]["type"] == "webhook"
    shot(page, "triggers-run-from-webhook")


def test_turning_a_workflow_off_stops_its_webhook_and_the_list_shows_it(page: Page, server_url: str) -> None:
    page.goto("/workflows")
    created = page.request.post("/api/v1/workflows", data={"yaml": DOCUMENT.replace("alert-intake", "alert-off"),
                                                           "message": "e2e"}, headers=csrf_headers(page))
    workflow_id = created.json()["id"]
    hook = page.request.get(f"/api/v1/workflows/{workflow_id}/triggers").json()["results"][0]

    page.goto(f"/designer/{workflow_id}")
    page.get_by_test_id("active-switch").click()  # checked once the server said so
    expect(page.get_by_test_id("active-switch")).not_to_be_checked()
    assert httpx.post(hook["webhook"]["url"], json={}, timeout=30).json()["error"]["code"] == "workflow_inactive"
    page.get_by_test_id("triggers-button").click()
    expect(page.get_by_test_id("workflow-off")).to_be_visible()
    expect(page.get_by_test_id("trigger-webhook").get_by_test_id("trigger-state")).to_have_text("The workflow is off")
    # Disabling a trigger in the panel saves a new version with `enabled: false`.
    page.get_by_test_id("trigger-cron").get_by_test_id("trigger-enabled").click()
    expect(page.get_by_test_id("trigger-cron").get_by_test_id("trigger-enabled")).not_to_be_checked()
    expect(page.get_by_test_id("trigger-cron").get_by_test_id("trigger-state")).to_have_text(
        re.compile("off|Disabled"))
    page.get_by_test_id("triggers-panel").get_by_label("Close").click()
    expect(page.locator(".toolbar-sub .badge")).to_have_text("v2")
    page.wait_for_function("document.querySelector('[data-testid=yaml-editor] .cm-content').innerText"
                           ".includes('enabled: false')")

    page.goto("/workflows")
    row = page.get_by_test_id("workflow-table").locator("tr", has_text="alert-off")
    expect(row.get_by_test_id("workflow-active")).not_to_be_checked()
    row.get_by_test_id("workflow-active").click()
    expect(row.get_by_test_id("workflow-active")).to_be_checked()
    assert httpx.post(hook["webhook"]["url"], json={}, timeout=30).status_code == 202
    shot(page, "workflow-list-active")


def test_the_deliveries_page_shows_each_attempt_and_redelivers_by_hand(page: Page, server_url: str) -> None:
    """GIVEN a webhook subscribed to a workflow's runs, and a receiver (a real local server)
    WHEN a run succeeds
    THEN the Deliveries page lists the delivery with the receiver's answer and its attempt, and its
    Redeliver button sends the same body again, which the page lists as a redelivery."""
    receiver = Receiver()
    try:
        page.goto("/workflows")
        document = DOCUMENT.replace("alert-intake", "alert-delivered").replace("Alert intake", "Alert delivered")
        created = page.request.post("/api/v1/workflows", data={"yaml": document, "message": "e2e"},
                                    headers=csrf_headers(page))
        assert created.status == 201, created.text()
        subscribed = page.request.post("/api/v1/webhooks", headers=csrf_headers(page), data={
            "url": f"{receiver.url}/ok", "events": ["execution.succeeded"], "workflow": "alert-delivered"})
        assert subscribed.status == 201, subscribed.text()
        hook = page.request.get("/api/v1/workflows/alert-delivered/triggers").json()["results"][0]
        assert httpx.post(hook["webhook"]["url"], json={"title": "disk full"}, timeout=30).status_code == 202
        [first] = receiver.wait_for(1, path="/ok")

        page.goto("/deliveries")
        # The tenant's other deliveries (an alert test's, to its own local receiver) are listed too.
        mine = page.get_by_test_id("delivery-row").filter(has_text=re.compile(r"127\.0\.0\.1"))
        row = mine.filter(has_text="execution.succeeded")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("execution.succeeded")
        expect(row).to_contain_text("succeeded")
        expect(row).to_contain_text("200")
        row.click()
        attempts = page.get_by_test_id("attempt-log")
        expect(attempts).to_contain_text("200")
        expect(attempts).to_contain_text('{"ok": true}')
        shot(page, "deliveries-attempts")

        row.get_by_role("button", name="Redeliver").click()
        [_, again] = receiver.wait_for(2, path="/ok")
        assert again.body == first.body and again.headers["x-mbflow-delivery"] != first.headers["x-mbflow-delivery"]
        page.get_by_role("button", name="Refresh").click()
        rows = mine.filter(has_text="execution.succeeded")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="redelivery")).to_have_count(1)
        shot(page, "deliveries-redelivered")
    finally:
        receiver.close()
