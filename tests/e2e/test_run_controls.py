"""The Run panel's controls in a real browser against the real server: pause and resume a run,
retry a failed one in place, and replay a finished one from a node with an edited input.

The runs wait at a `function` node: the test is the worker that takes its task over the API
(POST /function-tasks/poll, a long poll) and answers it when the step under test needs it, so
the run holds still exactly where the test wants it, with no timer involved. (A paused
execution hands out no task: a task taken before the pause is work already running, which
finishes and is recorded.)"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers

pytestmark = pytest.mark.e2e

expect.set_options(timeout=WAIT_MS)


def take_task(page: Page, executor: str) -> dict:
    """Takes the next task of ``executor`` as a worker would (waiting for it to be published)."""
    taken = page.request.post("/api/v1/function-tasks/poll", data={"executor": executor, "wait": 20},
                              headers=csrf_headers(page), timeout=40_000)
    assert taken.status == 200, f"no task of {executor}: {taken.status} {taken.text()}"
    return taken.json()


def answer(page: Page, task: dict, body: dict) -> None:
    done = page.request.post(f"/api/v1/function-tasks/{task['id']}/complete", data=body, headers=csrf_headers(page))
    assert done.status == 200, done.text()


def execution(page: Page, execution_id: str) -> dict:
    found = page.request.get(f"/api/v1/executions/{execution_id}")
    assert found.status == 200, found.text()
    return found.json()


def start_run(page: Page, workflow_id: str) -> None:
    page.goto(f"/designer/{workflow_id}")
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("run-start").click()


def test_a_run_is_paused_resumed_rerun_and_cancelled_from_the_run_panel(page: Page) -> None:
    document = (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-pause}\nspec:\n  nodes:\n"
        "    - {id: charge, type: function, config: {executor: e2e-pause, function: charge},"
        " position: {x: 0, y: 0}}\n"
        "    - {id: ship, type: noop, position: {x: 320, y: 0}}\n"
        "  edges:\n    - {from: charge, to: ship}\n"
    )
    workflow_id = create_workflow(page, document)
    start_run(page, workflow_id)
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    status = page.get_by_test_id("run-status")
    expect(status).to_have_text("running")
    expect(page.get_by_test_id("run-control-resume")).to_have_count(0)
    task = take_task(page, "e2e-pause")  # the worker is at work on it

    page.get_by_test_id("run-control-pause").click()
    expect(status).to_have_text("paused")
    expect(page.get_by_test_id("run-control-resume")).to_be_visible()
    expect(page.get_by_test_id("run-control-cancel")).to_be_visible()
    expect(page.get_by_test_id("run-control-pause")).to_have_count(0)

    # Paused, the node at work still finishes; the next one does not start.
    answer(page, task, {"output": {"receipt": "r-1"}})
    page.wait_for_selector("[data-testid=node-charge][data-status=succeeded]", timeout=30_000)
    paused = execution(page, task["execution_id"])
    assert paused["status"] == "paused"
    assert {step["node_id"]: step["status"] for step in paused["steps"]} == {"charge": "succeeded", "ship": "pending"}
    expect(page.get_by_test_id("node-ship")).to_have_attribute("data-status", "pending")
    shot(page, "20-run-paused")

    page.get_by_test_id("run-control-resume").click()
    page.wait_for_selector("[data-testid=node-ship][data-status=succeeded]", timeout=30_000)
    expect(status).to_have_text("succeeded")
    expect(page.get_by_test_id("run-control-rerun")).to_be_visible()
    expect(page.get_by_test_id("run-control-pause")).to_have_count(0)
    assert execution(page, task["execution_id"])["status"] == "succeeded"

    # Re-run it (a new execution, the input editable), then cancel that one while it waits.
    page.get_by_test_id("run-control-rerun").click()
    expect(page.get_by_test_id("run-input-editor")).to_have_value("{}")
    page.get_by_test_id("rerun-start").click()
    expect(status).to_have_text(re.compile(r"^(pending|running)$"))
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    page.get_by_test_id("run-control-cancel").click()
    page.get_by_test_id("cancel-confirm").click()
    expect(status).to_have_text("cancelled")
    page.wait_for_selector("[data-testid=node-charge][data-status=cancelled]", timeout=30_000)
    runs = page.request.get(f"/api/v1/executions?workflow={workflow_id}").json()["results"]
    assert sorted(run["status"] for run in runs) == ["cancelled", "succeeded"]
    expect(page.get_by_test_id("run-control-rerun")).to_be_visible()


def test_a_failed_run_is_retried_in_place_and_replayed_from_a_node_with_a_new_input(page: Page) -> None:
    document = (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-retry}\nspec:\n  nodes:\n"
        "    - {id: order, type: transform, config: {mapping: {got: '{{ input }}'}}, position: {x: 0, y: 0}}\n"
        "    - {id: charge, type: function, config: {executor: e2e-retry, function: charge},"
        " retry: {max_attempts: 1}, position: {x: 320, y: 0}}\n"
        "    - {id: ship, type: noop, position: {x: 640, y: 0}}\n"
        "  edges:\n    - {from: order, to: charge}\n    - {from: charge, to: ship}\n"
    )
    start_run(page, create_workflow(page, document))
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    first = take_task(page, "e2e-retry")
    answer(page, first, {"error": {"message": "card declined", "retryable": False}})
    page.wait_for_selector("[data-testid=node-charge][data-status=failed]", timeout=30_000)
    status = page.get_by_test_id("run-status")
    expect(status).to_have_text("failed")
    expect(page.get_by_test_id("run-control-rerun")).to_be_visible()
    shot(page, "21-run-failed")

    # Retry: the same execution goes on from the failed node, the one before it is not run again.
    page.get_by_test_id("run-control-retry").click()
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    second = take_task(page, "e2e-retry")
    assert second["execution_id"] == first["execution_id"]
    assert second["attempt"] == 2
    answer(page, second, {"output": {"receipt": "r-2"}})
    page.wait_for_selector("[data-testid=node-ship][data-status=succeeded]", timeout=30_000)
    expect(status).to_have_text("succeeded")
    retried = execution(page, first["execution_id"])
    assert retried["status"] == "succeeded"
    assert {step["node_id"]: step["attempt"] for step in retried["steps"]} == {"order": 1, "charge": 2, "ship": 1}
    expect(page.get_by_test_id("toast-success").first).to_have_text(re.compile(r"^Run succeeded"))

    # Replay from charge with a new input: order keeps its output (reused), charge and ship run.
    page.get_by_test_id("node-charge").click()
    page.get_by_test_id("tab-run").click()
    page.get_by_test_id("replay-from-here").click()
    editor = page.get_by_test_id("run-input-editor")
    expect(editor).to_have_value("{}")
    editor.fill('{"sku": "edited"')
    expect(page.get_by_test_id("run-input-error")).to_be_visible()
    expect(page.get_by_test_id("replay-start")).to_be_disabled()
    editor.fill(json.dumps({"sku": "edited"}))
    shot(page, "22-replay-dialog")
    page.get_by_test_id("replay-start").click()
    page.wait_for_selector("[data-testid=node-order][data-status=reused]", timeout=30_000)
    page.wait_for_selector("[data-testid=node-charge][data-status=waiting]", timeout=30_000)
    third = take_task(page, "e2e-retry")
    assert third["execution_id"] != first["execution_id"]
    answer(page, third, {"output": {"receipt": "r-3"}})
    page.wait_for_selector("[data-testid=node-ship][data-status=succeeded]", timeout=30_000)
    expect(status).to_have_text("succeeded")
    replay = execution(page, third["execution_id"])
    assert replay["replay_of"] == first["execution_id"]
    assert replay["input"] == {"sku": "edited"}
    steps = {step["node_id"]: step for step in replay["steps"]}
    assert steps["order"]["reused_from"] == first["execution_id"]
    assert steps["charge"]["reused_from"] is None
    page.get_by_test_id("node-order").click()
    page.get_by_test_id("tab-run").click()
    expect(page.get_by_test_id("run-node-note")).to_have_text(
        f"Not run again: its output is reused from execution {first['execution_id'][:8]}.")
    shot(page, "23-replayed")


def test_a_node_falling_back_shows_it_until_its_fallback_has_stood_in(page: Page) -> None:
    document = (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-fallback}\nspec:\n  nodes:\n"
        "    - {id: pay, type: fail, config: {message: gateway down}, fallback: pay_later, position: {x: 0, y: 0}}\n"
        "    - {id: pay_later, type: function, config: {executor: e2e-fallback, function: queue},"
        " position: {x: 0, y: 160}}\n"
        "    - {id: ship, type: noop, position: {x: 320, y: 0}}\n"
        "  edges:\n    - {from: pay, to: ship}\n"
    )
    start_run(page, create_workflow(page, document))
    pay = page.get_by_test_id("node-pay")
    page.wait_for_selector("[data-testid=node-pay][data-status=falling_back]", timeout=30_000)
    expect(pay).to_have_attribute("data-status-note", "It failed; its fallback pay_later is running in its place.")
    pay.click()
    page.get_by_test_id("tab-run").click()
    expect(page.get_by_test_id("run-node-status")).to_have_text("falling_back")
    shot(page, "24-falling-back")

    task = take_task(page, "e2e-fallback")
    assert task["node_id"] == "pay_later"
    answer(page, task, {"output": {"queued": True}})
    page.wait_for_selector("[data-testid=node-ship][data-status=succeeded]", timeout=30_000)
    expect(pay).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-node-note")).to_have_text("It failed; its fallback pay_later stood in for it.")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
