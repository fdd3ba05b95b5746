"""The designer's graph editing in a real browser with mouse and keyboard: renaming a node rewrites
every reference to it, adding nodes from a node's "+" and the keyboard palette, auto-layout, fit
and find, and fallback / compensation / `when` drawn on the canvas. Screenshots in test-artifacts/
at 1440×900 and 1280×800."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import replace_yaml, wait_for_yaml, yaml_text

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

RENAME_DOC = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-rename}
spec:
  nodes:
    # Fetch the user first.
    - id: fetch
      type: http
      config: {url: "https://api.example.com/users/1"}
      fallback: backup
      position: {x: 40, y: 60}
    - id: backup
      type: transform
      config:
        mapping: {name: guest}
      position: {x: 40, y: 260}
    - id: shape
      type: transform
      when: "{{ nodes.fetch.output.status == 200 }}"
      config:
        mapping:
          name: "{{ nodes.fetch.output.body.name }}"   # the user's name
          raw: "{{ nodes['fetch'].output.body }}"
      position: {x: 380, y: 60}
    - {id: undo, type: log, config: {message: undo}, position: {x: 380, y: 260}}
  edges:
    - {from: fetch, to: shape}  # main path
  compensation: [{node: undo, compensates: fetch}]
"""


def open_document(page: Page, text: str, width: int = 1440, height: int = 900) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/designer/new")
    page.get_by_test_id("palette-item-http").wait_for()
    replace_yaml(page, text)


def test_renaming_a_node_rewrites_every_reference_and_keeps_comments(page: Page) -> None:
    open_document(page, RENAME_DOC)
    page.get_by_test_id("node-fetch").wait_for()
    page.get_by_test_id("node-fetch").click()
    field = page.get_by_test_id("field-id")
    field.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("get_user")
    page.keyboard.press("Enter")
    page.get_by_test_id("node-get_user").wait_for()
    wait_for_yaml(page, r"compensates: get_user")
    text = yaml_text(page)
    assert "nodes.fetch" not in text and "nodes['fetch']" not in text
    assert '{{ nodes.get_user.output.status == 200 }}' in text
    assert "{{ nodes.get_user.output.body.name }}" in text
    assert "{{ nodes['get_user'].output.body }}" in text
    assert "# Fetch the user first." in text and "# the user's name" in text and "# main path" in text
    assert "{from: get_user, to: shape}" in text
    # Validation finds no dangling reference after the rename.
    page.wait_for_function(
        "() => !(document.querySelector('[data-testid=problems]')?.innerText || '').includes('fetch')")
    shot(page, "h4-rename-1440")
    # Undo brings every reference back at once.
    page.get_by_test_id("undo").click()
    wait_for_yaml(page, r"compensates: fetch\}")
    assert "{{ nodes.fetch.output.body.name }}" in yaml_text(page)
