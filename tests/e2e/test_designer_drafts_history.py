"""Drafts (work kept whatever its state, autosaved, "Draft / Version N") and the version diff drawn
on the canvas, in a real browser with mouse and keyboard. Screenshots at 1440×900 and 1280×800."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers, wait_for_yaml, yaml_editor, yaml_text

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

V1 = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME, title: Drafts}
spec:
  nodes:
    - {id: fetch, type: http, config: {url: "https://a.example.com"}, position: {x: 40, y: 60}}
    - {id: shape, type: transform, config: {mapping: {a: 1}}, position: {x: 360, y: 60}}
    - {id: old_log, type: log, config: {message: bye}, position: {x: 680, y: 220}}
  edges:
    - {from: fetch, to: shape}
    - {from: shape, to: old_log}
"""

V2 = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME, title: Drafts}
spec:
  nodes:
    - {id: fetch, type: http, config: {url: "https://a.example.com"}, position: {x: 40, y: 60}}
    - {id: shape, type: transform, config: {mapping: {a: 2}}, position: {x: 360, y: 60}}
    - {id: notify, type: log, config: {message: hi}, position: {x: 680, y: 60}}
  edges:
    - {from: fetch, to: shape}
    - {from: shape, to: notify}
"""


def open_designer(page: Page, workflow_id: str, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/designer/{workflow_id}")
    page.get_by_test_id("node-fetch").wait_for(timeout=60_000)


@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_an_invalid_document_is_kept_as_the_draft_autosaved_and_reopened(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    workflow_id = create_workflow(page, V1.replace("NAME", f"e2e-draft-{width}"))
    open_designer(page, workflow_id, width, height)
    state = page.get_by_test_id("draft-state")
    expect(state).to_have_text("Version 1")

    # Half-finished work that does not even parse: typed at the end of the YAML.
    yaml_editor(page).click()
    page.keyboard.press("Control+End")
    page.keyboard.type("    - {id: half, type: log, config: {message: [unclosed")
    expect(state).to_contain_text("Draft")
    # Saved by itself a moment later; the workflow's version is unchanged (runs use v1).
    expect(state).to_have_attribute("data-state", "saved")
    expect(state).to_have_attribute("title", re.compile(r"never run\. Runs and triggers use version 1"))
    draft = page.request.get(f"/api/v1/workflows/{workflow_id}/draft")
    assert draft.status == 200 and "[unclosed" in draft.json()["yaml"]
    detail = page.request.get(f"/api/v1/workflows/{workflow_id}").json()
    assert detail["version"]["number"] == 1 and "[unclosed" not in detail["yaml"]
    shot(page, f"h4-draft-saved-{width}")

    # Opened again, the designer shows the draft, marked as such.
    page.reload()
    page.get_by_test_id("draft-state").wait_for(timeout=60_000)
    wait_for_yaml(page, r"\[unclosed")
    expect(page.get_by_test_id("draft-state")).to_contain_text("Draft")
    expect(page.get_by_test_id("draft-state")).to_have_attribute("data-state", "saved")

    # Discarding it goes back to version 1 and deletes it on the server.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("draft-discard").click()
    expect(page.get_by_test_id("draft-state")).to_have_text("Version 1")
    page.wait_for_function("() => !document.querySelector('[data-testid=yaml-editor] .cm-content')"
                           ".innerText.includes('unclosed')")
    # (Polled until the state, with a deadline.)
    deadline = time.monotonic() + WAIT_MS / 1000
    while page.request.get(f"/api/v1/workflows/{workflow_id}/draft").status != 404:
        assert time.monotonic() < deadline, "the draft was not deleted"
        page.wait_for_timeout(200)


@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_history_draws_two_versions_on_the_canvas_with_the_changes_coloured(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    name = f"e2e-diff-{width}"
    workflow_id = create_workflow(page, V1.replace("NAME", name))
    saved = page.request.put(f"/api/v1/workflows/{workflow_id}", data={"yaml": V2.replace("NAME", name),
                                                                       "message": "v2"}, headers=csrf_headers(page))
    assert saved.status == 200, saved.text()
    open_designer(page, workflow_id, width, height)
    page.get_by_test_id("history-button").click()
    page.get_by_test_id("diff-view").wait_for()
    page.get_by_test_id("diff-as-canvas").click()
    canvas = page.get_by_test_id("diff-canvas")
    canvas.wait_for()
    expect(page.get_by_test_id("diff-node-notify")).to_have_attribute("data-change", "added")
    expect(page.get_by_test_id("diff-node-old_log")).to_have_attribute("data-change", "removed")
    expect(page.get_by_test_id("diff-node-shape")).to_have_attribute("data-change", "changed")
    expect(page.get_by_test_id("diff-node-shape")).to_contain_text("config")
    expect(page.get_by_test_id("diff-node-fetch")).to_have_attribute("data-change", "same")
    expect(canvas.locator(".react-flow__edge.diff-edge-added")).to_have_count(1)
    expect(canvas.locator(".react-flow__edge.diff-edge-removed")).to_have_count(1)
    expect(page.get_by_test_id("diff-legend")).to_contain_text(re.compile(r"\+1 added.*−1 removed.*~1 changed"))
    # The whole of both versions is in view.
    box = canvas.bounding_box()
    assert box
    for node_id in ("fetch", "shape", "notify", "old_log"):
        node = page.get_by_test_id(f"diff-node-{node_id}").bounding_box()
        assert node and node["x"] >= box["x"] and node["x"] + node["width"] <= box["x"] + box["width"] + 1
    shot(page, f"h4-history-canvas-diff-{width}")
    # Back to the text.
    page.get_by_test_id("diff-as-text").click()
    page.get_by_test_id("diff-view").wait_for()
    assert "fetch" in yaml_text(page)
