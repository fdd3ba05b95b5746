"""Issue 19 item 10 in the browser: a failed import shows its problem, one per mistake with its line,
on the page until dismissed (it was a toast that vanished)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

# One mistake: `position` is indented one space too little on line 9.
TYPO = (b"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: typo\nspec:\n  nodes:\n"
        b"    - id: a\n      type: noop\n     position: {x: 1, y: 2}\n")


def test_a_failed_import_shows_one_error_with_its_line_until_dismissed(page: Page) -> None:
    page.goto("/workflows")
    page.get_by_test_id("new-workflow").wait_for()
    page.get_by_test_id("import-input").set_input_files(
        files=[{"name": "typo.yaml", "mimeType": "text/yaml", "buffer": TYPO}])
    error = page.get_by_test_id("import-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not import typo.yaml")
    problems = error.get_by_test_id("import-problem")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("line 9, column 6")
    shot(page, "h2-import-error-1280")
    # It stays while the page is used, until dismissed.
    page.get_by_placeholder("Search by name, title or description").click()
    page.keyboard.type("no such workflow")
    expect(page.get_by_text("No workflow matches")).to_be_visible()
    expect(error).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "h2-import-error-1440")
    page.get_by_test_id("import-error-dismiss").click()
    expect(error).to_have_count(0)
