"""Typing an expression into the property panel with the real keyboard, key by key: the whole text
lands in the field and in the YAML, whatever kind of field it is (a transform mapping's value, a
header value, a condition). Typing `{{` into a plain field once swapped it for the expression input
and the rest of the typing went elsewhere."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, wait_for_yaml, yaml_text

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

DOCUMENT = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-typing, title: Typing E2E}
spec:
  nodes:
    - {id: http, type: http, config: {url: "https://api.example.com/users/1"}, position: {x: 0, y: 100}}
    - {id: shape, type: transform, config: {mapping: {}}, position: {x: 320, y: 0}}
    - {id: check, type: condition, config: {expression: true}, position: {x: 320, y: 220}}
  edges:
    - {from: http, to: shape}
    - {from: http, to: check}
"""

EXPRESSION = "{{ nodes.http.output.body.name }}"


def open_node(page: Page, node_id: str) -> None:
    page.get_by_test_id(f"node-{node_id}").click()
    page.get_by_test_id("property-panel").wait_for()


def add_key(page: Page, field: str, key: str) -> Locator:
    """Adds ``key`` to the key/value map ``field`` by typing it and clicking Add; returns its value field."""
    map_field = page.get_by_test_id(f"field-config.{field}")
    map_field.get_by_label("New key").click()
    page.keyboard.type(key)
    map_field.get_by_role("button", name="Add").click()
    value = page.get_by_test_id(f"field-config.{field}-value-{key}")
    value.wait_for()
    return value


def type_into(page: Page, field: Locator, text: str) -> None:
    """Clicks ``field`` and types ``text`` key by key, as a person does (no fill)."""
    field.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type(text, delay=15)


def test_an_expression_typed_into_a_mapping_a_header_and_a_condition_lands_whole(page: Page) -> None:
    workflow_id = create_workflow(page, DOCUMENT)
    page.goto(f"/designer/{workflow_id}")
    page.get_by_test_id("node-shape").wait_for()

    # GIVEN a new key of the transform's mapping WHEN an expression is typed into its value
    open_node(page, "shape")
    value = add_key(page, "mapping", "name")
    type_into(page, value, EXPRESSION)
    # THEN the field kept the focus and holds all of it, highlighted, and the YAML has it
    expect(value).to_be_focused()
    expect(value).to_have_value(EXPRESSION)
    expect(value.locator("xpath=..")).to_have_class(re.compile(r"\bexpr-input\b"))
    wait_for_yaml(page, r"name: ['\"]?\{\{ nodes\.http\.output\.body\.name \}\}")
    shot(page, "typing-01-mapping")

    # The same for a header value of the http node
    open_node(page, "http")
    header = add_key(page, "headers", "X-Name")
    type_into(page, header, EXPRESSION)
    expect(header).to_be_focused()
    expect(header).to_have_value(EXPRESSION)
    wait_for_yaml(page, r"X-Name: ['\"]?\{\{ nodes\.http\.output\.body\.name \}\}")

    # And for the condition's expression, which held `true`
    open_node(page, "check")
    condition = page.get_by_test_id("field-config.expression")
    type_into(page, condition, "{{ nodes.http.output.status == 200 }}")
    expect(condition).to_be_focused()
    expect(condition).to_have_value("{{ nodes.http.output.status == 200 }}")
    wait_for_yaml(page, r"expression: ['\"]?\{\{ nodes\.http\.output\.status == 200 \}\}")

    # Nothing of the typing went anywhere else: each text is in the YAML exactly once.
    text = yaml_text(page)
    assert text.count("nodes.http.output.body.name") == 2, text
    assert text.count("nodes.http.output.status == 200") == 1, text
