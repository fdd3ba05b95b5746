"""The executions pages in a real browser against the real server: a run whose node fails turns
red live on its page, is retried from that node there and succeeds; the list's filters, search
and live rows; the designer's Run panel with the same per-node data and its Stop button; the
app's own "not found" page.

Runs wait at a `function` node whose task the test takes and answers over the API (as a worker
would), so each run is exactly where the test wants it when it looks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers
from tests.e2e.test_run_controls import answer, take_task

pytestmark = pytest.mark.e2e

expect.set_options(timeout=WAIT_MS)


def charge_workflow(name: str, executor: str) -> str:
    """order (transform) -> charge (a function task, no retries) -> ship."""
    return (
        f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}, title: Charge and ship}}\nspec:\n  nodes:\n"
        "    - {id: order, type: transform, config: {mapping: {sku: '{{ input.sku }}', qty: 2}},"
        " position: {x: 0, y: 0}}\n"
        f"    - {{id: charge, type: function, config: {{executor: {executor}, function: charge}},"
        " retry: {max_attempts: 1}, position: {x: 320, y: 0}}\n"
        "    - {id: ship, type: noop, position: {x: 640, y: 0}}\n"
        "  edges:\n    - {from: order, to: charge}\n    - {from: charge, to: ship}\n"
    )


def one_node_workflow(name: str, title: str, node: str) -> str:
    """A workflow of one node (a title, so that the workflow list shows it apart from its name)."""
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}, title: {title}}}\nspec:\n"
            f"  nodes:\n    - {node}\n")


OK_NODE = "{id: hello, type: noop}"
FAILING_NODE = "{id: boom, type: fail, config: {message: always}}"


def start(page: Page, workflow: str, data: dict | None = None, wait: float | None = None) -> dict:
    body: dict = {"input": data or {}}
    if wait is not None:
        body["wait"] = wait
    started = page.request.post(f"/api/v1/workflows/{workflow}/execute", data=body, headers=csrf_headers(page))
    assert started.status in (200, 201), started.text()
    return started.json()


def test_a_failing_node_turns_red_live_is_retried_from_the_page_and_succeeds(page: Page) -> None:
    workflow = create_workflow(page, charge_workflow("e2e-exec-page", "e2e-exec-page"))
    execution = start(page, workflow, {"sku": "A-1"})
    page.goto(f"/executions/{execution['id']}")
    charge = page.get_by_test_id("node-charge")
    expect(charge).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("node-order")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("execution-status")).to_have_text("running")
    expect(page.get_by_test_id("live-status")).to_have_text(re.compile("live"))

    # The worker answers with an error: the page hears it over the WebSocket, with no reload.
    task = take_task(page, "e2e-exec-page")
    assert task["execution_id"] == execution["id"]
    answer(page, task, {"error": {"message": "card declined", "code": "declined", "retryable": False}})
    expect(charge).to_have_attribute("data-status", "failed")
    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    expect(page.get_by_test_id("node-ship")).not_to_have_attribute("data-status", "succeeded")

    # The failed node is the one shown: what arrived (order's output), its config, its error.
    expect(page.get_by_test_id("node-panel-id")).to_have_text("charge")
    expect(page.get_by_test_id("node-error")).to_contain_text("card declined")
    expect(page.get_by_test_id("upstream-order")).to_have_attribute("data-taken", "yes")
    expect(page.get_by_test_id("node-input")).to_contain_text('"A-1"')
    expect(page.get_by_test_id("node-config")).to_contain_text('"e2e-exec-page"')
    expect(page.get_by_test_id("node-attempts").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("gantt-row-charge")).to_be_visible()
    shot(page, "30-execution-failed-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "31-execution-failed-1440")
    page.get_by_test_id("tab-events").click()
    expect(page.get_by_test_id("event-log")).to_contain_text("node.failed")
    page.get_by_test_id("tab-timeline").click()

    # Retry from the failed node, on the page: the same execution, charge's attempt 2, then done.
    page.get_by_test_id("execution-control-retry").click()
    expect(charge).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("execution-status")).to_have_text("running")
    second = take_task(page, "e2e-exec-page")
    assert (second["execution_id"], second["attempt"]) == (execution["id"], 2)
    answer(page, second, {"output": {"receipt": "r-2"}})
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    expect(charge).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("node-ship")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("node-output")).to_contain_text('"r-2"')
    expect(page.get_by_test_id("node-attempts").locator("tbody tr")).to_have_count(2)
    # The run is over: its critical path runs through the node that waited longest.
    expect(page.get_by_test_id("gantt-row-charge")).to_have_attribute("data-critical", "true")
    expect(page.get_by_test_id("gantt-row-ship")).to_have_attribute("data-critical", "true")
    expect(page.get_by_test_id("execution-control-retry")).to_have_count(0)
    expect(page.get_by_test_id("execution-control-rerun")).to_be_visible()
    shot(page, "32-execution-retried-1440")
    detail = page.request.get(f"/api/v1/executions/{execution['id']}").json()
    assert detail["status"] == "succeeded"
    assert {step["node_id"]: step["attempt"] for step in detail["steps"]} == {"order": 1, "charge": 2, "ship": 1}


def test_the_page_catches_up_after_its_connection_drops(page: Page) -> None:
    workflow = create_workflow(page, charge_workflow("e2e-exec-reconnect", "e2e-exec-reconnect"))
    execution = start(page, workflow, {"sku": "B-2"})
    page.goto(f"/executions/{execution['id']}")
    charge = page.get_by_test_id("node-charge")
    expect(charge).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("live-status")).to_have_text(re.compile("live"))

    # Offline, the socket drops; the run goes on meanwhile.
    page.context.set_offline(True)
    expect(page.get_by_test_id("live-status")).to_have_text(re.compile("reconnecting"))
    answer(page, take_task(page, "e2e-exec-reconnect"), {"output": {"receipt": "r-9"}})
    assert page.request.get(f"/api/v1/executions/{execution['id']}").json()["status"] == "succeeded"
    expect(charge).to_have_attribute("data-status", "waiting")  # nothing reached the page

    # Back online, it asks for what it missed: every event, once, in order.
    page.context.set_offline(False)
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded", timeout=30_000)
    expect(charge).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("node-ship")).to_have_attribute("data-status", "succeeded")
    logged = page.request.get(f"/api/v1/executions/{execution['id']}/events?page_size=500").json()["results"]
    page.get_by_test_id("tab-events").click()
    rows = page.get_by_test_id("event-log").locator("tbody tr.event-row")
    expect(rows).to_have_count(len(logged))
    assert [int(seq) for seq in rows.locator("td:first-child").all_inner_texts()] == [e["seq"] for e in logged]


def test_the_list_filters_finds_by_id_and_shows_new_runs_live(page: Page) -> None:
    ok = create_workflow(page, one_node_workflow("e2e-list-ok", "List ok", OK_NODE))
    bad = create_workflow(page, one_node_workflow("e2e-list-bad", "List bad", FAILING_NODE))
    good_run = start(page, ok, wait=20)
    bad_run = start(page, bad, wait=20)
    assert (good_run["status"], bad_run["status"]) == ("succeeded", "failed")

    page.goto("/executions")
    expect(page.get_by_test_id(f"execution-row-{good_run['id']}")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_have_attribute("data-status", "failed")
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_contain_text("API by admin")
    shot(page, "33-executions-list-1280")

    page.get_by_test_id("filter-status").select_option("failed")
    expect(page.get_by_test_id(f"execution-row-{good_run['id']}")).to_have_count(0)
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_be_visible()
    rows = page.get_by_test_id("executions-table").locator("tbody tr")
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.status)")) == {"failed"}
    assert "status=failed" in page.url

    page.get_by_test_id("filter-status").select_option("")
    page.get_by_test_id("filter-workflow").select_option(ok)
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_have_count(0)
    expect(page.get_by_test_id(f"execution-row-{good_run['id']}")).to_be_visible()
    page.get_by_test_id("filter-trigger").select_option("webhook")
    expect(page.get_by_test_id("executions-empty")).to_be_visible()
    page.get_by_test_id("filter-trigger").select_option("api")
    page.get_by_test_id("filter-range").select_option("1h")
    expect(page.get_by_test_id(f"execution-row-{good_run['id']}")).to_be_visible()

    # A run started now appears at the top of the first page by itself (the tenant's live feed).
    expect(page.get_by_test_id("list-live")).to_have_text("live")
    third = start(page, ok, wait=20)
    expect(page.get_by_test_id(f"execution-row-{third['id']}")).to_have_attribute("data-status", "succeeded")
    expect(rows.first).to_have_attribute("data-testid", f"execution-row-{third['id']}")

    # The start of an id finds the run; a whole id opens it.
    page.goto("/executions")
    page.get_by_test_id("filter-id").fill(bad_run["id"][:8])
    page.get_by_test_id("filter-id").press("Enter")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_be_visible()
    shot(page, "34-executions-found-by-id")
    page.get_by_test_id("filter-id").fill(bad_run["id"])
    page.get_by_test_id("filter-id").press("Enter")
    page.wait_for_url(re.compile(f"/executions/{bad_run['id']}$"))
    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    expect(page.get_by_test_id("node-panel-id")).to_have_text("boom")

    # The workflow's own tab lists its runs only.
    page.goto(f"/workflows/{bad}/executions")
    expect(page.get_by_test_id("workflow-tabs")).to_contain_text("e2e-list-bad")
    expect(page.get_by_test_id(f"execution-row-{bad_run['id']}")).to_be_visible()
    expect(page.get_by_test_id(f"execution-row-{good_run['id']}")).to_have_count(0)


def test_the_designer_run_panel_shows_the_node_data_and_stops_the_run(page: Page) -> None:
    workflow = create_workflow(page, charge_workflow("e2e-run-panel-data", "e2e-run-panel-data"))
    page.goto(f"/designer/{workflow}")
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("run-start").click()
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    page.get_by_test_id("node-charge").click()
    page.get_by_test_id("tab-run").click()
    details = page.get_by_test_id("run-details")
    expect(details.get_by_test_id("upstream-order")).to_have_attribute("data-taken", "yes")
    expect(details.get_by_test_id("node-config")).to_contain_text('"e2e-run-panel-data"')
    stop = page.get_by_test_id("run-control-cancel")
    expect(stop).to_have_text(re.compile("Stop"))
    shot(page, "38-designer-run-panel")
    stop.click()
    page.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_test_id("run-status")).to_have_text("cancelled")
    expect(page.get_by_test_id("node-charge")).to_have_attribute("data-status", "cancelled")
    runs = page.request.get(f"/api/v1/executions?workflow={workflow}").json()["results"]
    assert [run["status"] for run in runs] == ["cancelled"]
    # The run's own page, from the panel.
    page.get_by_test_id("open-execution-page").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("cancelled")


def test_an_unknown_page_is_the_apps_own_not_found_page(page: Page) -> None:
    response = page.goto("/no-such-page/at-all")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("There is no page at /no-such-page/at-all")
    expect(page.locator(".topnav")).to_be_visible()  # the app, with its navigation
    shot(page, "37-not-found")
    missing = page.goto("/executions/00000000-0000-4000-8000-000000000000")
    assert missing is not None and missing.status == 200
    expect(page.get_by_test_id("execution-missing")).to_be_visible()
    api = page.request.get("/api/v1/no-such-thing")
    assert api.status == 404 and api.json()["error"]["code"] == "not_found"


def test_an_approval_is_decided_on_the_page_and_the_run_replayed_from_a_node_with_a_new_input(page: Page) -> None:
    workflow = create_workflow(page, (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-exec-approval, title: Approval}\nspec:\n  nodes:\n"
        "    - {id: ask, type: approval, config: {message: Ship it?, timeout: 1h}, position: {x: 0, y: 0}}\n"
        "    - {id: label, type: transform, config: {mapping: {sku: '{{ input.sku }}'}}, position: {x: 320, y: 0}}\n"
        "  edges:\n    - {from: ask, to: label, port: approved}\n"
    ))
    execution = start(page, workflow, {"sku": "old"})
    page.goto(f"/executions/{execution['id']}")
    expect(page.get_by_test_id("node-ask")).to_have_attribute("data-status", "waiting")
    page.get_by_test_id("node-ask").click()
    decision = page.get_by_test_id("approval-decision")
    expect(decision).to_contain_text("Ship it?")
    page.get_by_test_id("approval-comment").fill("looks right")
    page.get_by_test_id("approve-button").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("node-label")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("node-output")).to_contain_text('"looks right"')

    # Replay from label with a new input: ask keeps its decision (reused), label runs again.
    page.get_by_test_id("node-label").click()
    expect(page.get_by_test_id("upstream-ask")).to_have_attribute("data-taken", "yes")
    page.get_by_test_id("replay-from-node").click()
    page.get_by_test_id("run-input-editor").fill('{"sku": "new"}')
    page.get_by_test_id("replay-start").click()
    page.wait_for_url(re.compile(r"/executions/(?!" + execution["id"] + r")[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("node-ask")).to_have_attribute("data-status", "reused")
    replay_id = page.url.rsplit("/", 1)[1]
    replay = page.request.get(f"/api/v1/executions/{replay_id}").json()
    assert replay["replay_of"] == execution["id"] and replay["input"] == {"sku": "new"}
    assert {step["node_id"]: step["output"] for step in replay["steps"]}["label"] == {"sku": "new"}
