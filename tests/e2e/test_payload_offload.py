"""A node output over the workflow's payload_limit on the run's page: the page says it is kept in
the payload store and downloads it whole through the API's link."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow
from tests.e2e.test_executions_pages import start

pytestmark = pytest.mark.e2e

expect.set_options(timeout=WAIT_MS)

LARGE = (
    "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-large-output, title: Large output}\nspec:\n"
    "  payload_limit: 1KiB\n  nodes:\n"
    "    - {id: big, type: transform, config: {mapping: {text: '{{ input.text }}'}}, position: {x: 0, y: 0}}\n"
    "    - {id: after, type: transform, config: {mapping: {length: '{{ upstream.text | length }}'}},"
    " position: {x: 320, y: 0}}\n"
    "  edges:\n    - {from: big, to: after}\n"
)


def test_an_offloaded_output_is_shown_as_such_and_downloads_whole(page: Page) -> None:
    workflow = create_workflow(page, LARGE)
    text = "x" * 5000
    execution = start(page, workflow, {"text": text}, wait=20)
    assert execution["status"] == "succeeded", execution
    page.goto(f"/executions/{execution['id']}")
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    page.get_by_test_id("node-after").click()
    expect(page.get_by_test_id("node-output")).to_contain_text("5000")  # read back by `upstream`
    page.get_by_test_id("node-big").click()
    box = page.get_by_test_id("node-output-offloaded")
    expect(box).to_contain_text("4.9 KiB of JSON")
    expect(box).to_contain_text("1.0 KiB")
    box.scroll_into_view_if_needed()
    shot(page, "60-offloaded-output-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    box.scroll_into_view_if_needed()
    shot(page, "61-offloaded-output-1440")
    with page.expect_download() as downloaded:
        page.get_by_test_id("node-output-download").click()
    path = downloaded.value.path()
    assert path is not None
    with open(path, "rb") as handle:
        assert json.load(handle) == {"text": text}
