"""Issue 19 item 12 in the browser: at 1280x800 the selection's properties get most of the side
column, the YAML a strip below, and tabs give either one the whole column; the YAML panel, once
hidden, stays hidden after the first save (the page of the new workflow) and a reload; the save
dialog asks for the title, and the name follows it until edited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

DOCUMENT = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-panels, title: Panels E2E}
spec:
  nodes:
    - {id: fetch, type: http, config: {url: "https://api.example.com/users/1"}, position: {x: 0, y: 0}}
    - {id: shape, type: transform, config: {mapping: {name: "{{ nodes.fetch.output.body.name }}"}},
       position: {x: 320, y: 0}}
  edges:
    - {from: fetch, to: shape}
"""


def test_properties_and_yaml_take_turns_at_1280_and_share_at_1440(page: Page) -> None:
    workflow_id = create_workflow(page, DOCUMENT)
    page.goto(f"/designer/{workflow_id}")
    yaml_area = page.locator(".yaml-area")
    expect(yaml_area).to_be_visible()
    page.get_by_test_id("node-shape").click()
    panel = page.get_by_test_id("property-panel")
    expect(panel).to_be_visible()
    # The transform's fields say what they take.
    expect(panel.get_by_text("The output, key by key")).to_be_visible()
    expect(panel.get_by_text("JMESPath query", exact=True)).to_be_visible()
    # 1280x800: the properties have most of the column, the YAML a strip below and one click away.
    expect(page.get_by_role("tab", name="Properties")).to_have_attribute("aria-selected", "true")
    expect(yaml_area).to_be_visible()
    assert panel.bounding_box()["height"] > 450
    assert yaml_area.bounding_box()["height"] <= 150
    shot(page, "h2-panels-props-1280")
    page.get_by_role("tab", name="YAML").click()
    expect(yaml_area).to_be_visible()
    expect(panel).to_be_hidden()
    shot(page, "h2-panels-yaml-1280")
    # Selecting another node brings its properties back.
    page.get_by_test_id("node-fetch").click()
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("field-config.url")).to_have_value("https://api.example.com/users/1")
    # 1440x900: room for both, one above the other, no tabs.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.get_by_role("tab", name="YAML")).to_be_hidden()
    expect(yaml_area).to_be_visible()
    expect(panel).to_be_visible()
    shot(page, "h2-panels-1440")


def test_the_hidden_yaml_panel_stays_hidden_and_the_save_dialog_asks_for_the_title(page: Page) -> None:
    page.goto("/designer/new")
    page.get_by_test_id("canvas").wait_for()
    toggle = page.get_by_role("button", name="Toggle the YAML panel")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".yaml-area")).to_be_hidden()

    page.get_by_test_id("save-button").click()
    dialog = page.get_by_test_id("save-dialog")
    title = dialog.get_by_test_id("save-title")
    expect(title).to_be_focused()
    page.keyboard.type("Panels Check E2E")
    expect(dialog.get_by_test_id("save-name")).to_have_value("panels-check-e2e")
    dialog.get_by_test_id("save-message").click()
    page.keyboard.type("First")
    shot(page, "h2-save-dialog-1280")
    dialog.get_by_test_id("save-confirm").click()
    page.wait_for_url(re.compile(r"/designer/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("save-state")).to_have_text("Saved")
    expect(page.get_by_test_id("workflow-title")).to_have_value("Panels Check E2E")
    workflow_id = page.url.rsplit("/", 1)[-1]
    saved = page.request.get(f"/api/v1/workflows/{workflow_id}").json()
    assert (saved["name"], saved["title"]) == ("panels-check-e2e", "Panels Check E2E")
    # The panel stayed hidden on the new workflow's page, and after a reload.
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".yaml-area")).to_be_hidden()
    page.reload()
    page.get_by_test_id("canvas").wait_for()
    expect(page.get_by_role("button", name="Toggle the YAML panel")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".yaml-area")).to_be_hidden()
    page.get_by_role("button", name="Toggle the YAML panel").click()
    expect(page.locator(".yaml-area")).to_be_visible()
