"""The designer's data for business users, in Chromium with the real mouse and keyboard: a field of
the last run's HTTP response dragged from the data panel into a mapping field, autocomplete
picking a path after `{{`, the live preview of the expression's value, an unsaved draft run as a
test run (no version made) with the JSON input editor remembering the last input, and "Test step"
on pinned data that stands in for the HTTP call (the local server sees no request)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers, wait_for_yaml
from tests.e2e.test_designer_typing import add_key, open_node
from tests.executions.servers import LocalServer

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def crm() -> Iterator[LocalServer]:
    server = LocalServer()
    server.answer("GET", "/profile", (200, {"name": "Ada", "city": "Paris"}))
    yield server
    server.close()


def document(name: str, server: LocalServer) -> str:
    return (
        f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  nodes:\n"
        f"    - {{id: http, type: http, config: {{url: '{server.url}/profile'}}, position: {{x: 0, y: 80}}}}\n"
        "    - {id: shape, type: transform, config: {mapping: {greeting: hello}}, position: {x: 340, y: 80}}\n"
        "  edges:\n    - {from: http, to: shape}\n"
    )


def executions_of(page: Page, workflow_id: str | None = None) -> list[dict]:
    query = f"?workflow={workflow_id}" if workflow_id else "?page_size=50"
    found = page.request.get(f"/api/v1/executions{query}")
    assert found.status == 200, found.text()
    return found.json()["results"]


def wait_until(check, what: str, timeout: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def type_json(page: Page, field: Locator, value: object) -> None:
    field.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type(json.dumps(value), delay=5)


def drag(page: Page, source: Locator, target: Locator) -> None:
    """Presses the mouse on ``source``, moves it over ``target`` in steps and lets go there."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    start, end = source.bounding_box(), target.bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 20, start["y"] + 10, steps=5)
    page.mouse.move(end["x"] + 20, end["y"] + end["height"] / 2, steps=15)
    page.mouse.up()


def run_saved_once(page: Page, workflow_id: str) -> None:
    """Runs the saved version from the Run dialog, its input typed into the JSON editor."""
    page.goto(f"/designer/{workflow_id}")
    page.get_by_test_id("run-button").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog).to_contain_text("Run workflow")
    type_json(page, dialog.get_by_test_id("run-input-json"), {"user": 7})
    dialog.get_by_test_id("run-start").click()
    expect(dialog).to_be_hidden()
    wait_until(lambda: any(e["status"] == "succeeded" for e in executions_of(page, workflow_id)), "the run")


def test_a_field_is_dragged_into_a_mapping_completed_and_previewed(page: Page, crm: LocalServer) -> None:
    made = page.request.post("/api/v1/secrets", data={"name": "CRM_TOKEN", "value": "tok-e2e-9f8e"},
                             headers=csrf_headers(page))
    assert made.status in (201, 400), made.text()  # 400: made by an earlier run on this server
    workflow_id = create_workflow(page, document("e2e-data-map", crm))
    run_saved_once(page, workflow_id)
    open_node(page, "shape")
    panel = page.get_by_test_id("data-panel")
    expect(panel.get_by_test_id("data-source-http")).to_contain_text("last run")
    field = panel.get_by_test_id("data-field-nodes.http.output.body.name")
    expect(field).to_be_visible()

    # Drag the response's `name` onto a new mapping value.
    name_value = add_key(page, "mapping", "name")
    drag(page, field, name_value)
    expect(name_value).to_have_value("{{ nodes.http.output.body.name }}")
    wait_for_yaml(page, r"name: \"?\{\{ nodes\.http\.output\.body\.name \}\}")
    name_value.click()
    preview = page.get_by_test_id("expression-preview")
    expect(preview).to_contain_text('"Ada"')
    shot(page, "h3-01-drag-and-preview-1280")

    # Autocomplete: the node id, then `output`, then a key of the body picked with the mouse.
    city = add_key(page, "mapping", "city")
    city.click()
    page.keyboard.type("{{ nodes.ht", delay=20)
    expect(page.get_by_test_id("completion-http")).to_be_visible()
    page.keyboard.press("Enter")
    expect(city).to_have_value("{{ nodes.http")
    page.keyboard.type(".ou", delay=20)
    expect(page.get_by_test_id("completion-output")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.type(".body.", delay=20)
    completions = page.get_by_test_id("expression-completions")
    expect(completions).to_contain_text("city")
    expect(completions).to_contain_text("name")
    shot(page, "h3-02-autocomplete-1280")
    page.get_by_test_id("completion-city").click()
    page.keyboard.type(" }}", delay=20)
    expect(city).to_have_value("{{ nodes.http.output.body.city }}")
    expect(preview).to_contain_text('"Paris"')
    # A broken expression says why, at the field.
    page.keyboard.type(" {{ 1 / 0 }}", delay=10)
    expect(preview).to_contain_text("Error")
    # Secrets are offered by name; a preview reads [secret], never the value.
    token = add_key(page, "mapping", "token")
    token.click()
    page.keyboard.type("Bearer {{ secrets.CR", delay=20)
    page.get_by_test_id("completion-CRM_TOKEN").click()
    page.keyboard.type(" }}", delay=20)
    expect(token).to_have_value("Bearer {{ secrets.CRM_TOKEN }}")
    expect(preview).to_contain_text('"Bearer [secret]"')
    expect(page.locator("body")).not_to_contain_text("tok-e2e-9f8e")
    page.set_viewport_size({"width": 1440, "height": 900})
    name_value.click()
    expect(preview).to_contain_text('"Ada"')
    shot(page, "h3-03-data-panel-1440")


def test_an_unsaved_draft_runs_and_a_step_is_tested_on_pinned_data(page: Page, crm: LocalServer) -> None:
    workflow_id = create_workflow(page, document("e2e-data-draft", crm))
    run_saved_once(page, workflow_id)
    open_node(page, "shape")
    name_value = add_key(page, "mapping", "name")
    drag(page, page.get_by_test_id("data-field-nodes.http.output.body.name"), name_value)
    expect(name_value).to_have_value("{{ nodes.http.output.body.name }}")
    expect(page.get_by_test_id("save-state")).to_contain_text("Unsaved")

    # The draft runs as it is, unsaved: the JSON editor remembers the last input.
    calls = crm.hits["/profile"]
    page.get_by_test_id("run-button").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog).to_contain_text("Test run of the draft")
    json_field = dialog.get_by_test_id("run-input-json")
    expect(json_field).to_have_value('{"user": 7}')
    json_field.click()
    page.keyboard.press("End")
    page.keyboard.type(",", delay=10)
    dialog.get_by_test_id("run-start").click()
    expect(dialog.get_by_test_id("run-input-error")).to_contain_text("Not valid JSON")
    type_json(page, json_field, {"user": 8})
    shot(page, "h3-04-draft-run-dialog-1280")
    dialog.get_by_test_id("run-start").click()
    expect(dialog).to_be_hidden()

    def draft_done() -> bool:
        runs = [e for e in executions_of(page) if e["workflow"] is None and e["trigger"].get("test") == "draft"]
        return bool(runs) and runs[0]["status"] == "succeeded"

    wait_until(draft_done, "the draft run")
    draft = next(e for e in executions_of(page) if e["workflow"] is None and e["trigger"].get("test") == "draft")
    detail = page.request.get(f"/api/v1/executions/{draft['id']}").json()
    shape = next(s for s in detail["steps"] if s["node_id"] == "shape")
    assert shape["output"] == {"greeting": "hello", "name": "Ada"} and detail["input"] == {"user": 8}
    assert crm.hits["/profile"] == calls + 1
    versions = page.request.get(f"/api/v1/workflows/{workflow_id}/versions").json()
    assert versions["count"] == 1, versions  # nothing was saved
    expect(page.get_by_test_id("save-state")).to_contain_text("Unsaved")

    # Pin sample data on the HTTP node, then test the mapping step on it: no call goes out.
    open_node(page, "http")
    own = page.get_by_test_id("data-own")
    own.get_by_test_id("pin-edit").click()
    type_json(page, own.get_by_test_id("pin-editor"), {"status": 200, "body": {"name": "Pinned Ann", "city": "Oslo"}})
    own.get_by_test_id("pin-save").click()
    expect(own).to_contain_text("pinned")
    calls = crm.hits["/profile"]
    open_node(page, "shape")
    panel = page.get_by_test_id("data-panel")
    expect(panel.get_by_test_id("data-source-http")).to_contain_text("pinned")
    expect(panel.get_by_test_id("data-source-http")).to_contain_text("Pinned Ann")
    panel.get_by_test_id("test-step").click()
    expect(panel.get_by_test_id("test-step-message")).to_contain_text("Step succeeded")
    expect(panel.get_by_test_id("data-own")).to_contain_text('"Pinned Ann"')
    assert crm.hits["/profile"] == calls
    shot(page, "h3-05-test-step-pinned-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "h3-06-test-step-pinned-1440")
    # Pinned data stays in this browser for this workflow after a reload.
    page.reload()
    open_node(page, "shape")
    expect(page.get_by_test_id("data-source-http")).to_contain_text("pinned")
