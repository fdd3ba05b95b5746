"""Work in the designer is kept and errors are shown where they are (issue 19), in a real browser:

- a required run input left empty is flagged at its field, which takes the focus;
- a new workflow never saved survives a reload (kept on the server as the user's draft);
- pinned data is kept with the workflow on the server, so another browser and a teammate see it,
  and pins an older designer left in this browser's storage move there once.

Every check waits for its state. Screenshots in test-artifacts/keep-*.png."""

from __future__ import annotations

import json
import os
import re
import subprocess
from urllib.parse import urlparse, urlunparse

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BIN, PASSWORD, ROOT, WAIT_MS, _e2e_database, shot
from tests.e2e.test_designer import create_workflow, csrf_headers, drop_type

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

SIGNUP = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-run-inputs, title: Sign-up}
spec:
  input_schema:
    type: object
    required: [email, plan]
    properties:
      name: {type: string, description: "How to greet them"}
      email: {type: string, format: email, description: "Where the welcome mail goes"}
      plan: {type: string, enum: [free, pro]}
  nodes:
    - {id: greet, type: transform, config: {mapping: {to: "{{ input.email }}"}}, position: {x: 60, y: 60}}
"""

CRM = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME, title: CRM lookup}
spec:
  nodes:
    - {id: lookup, type: http, config: {url: "https://crm.example.com/person"}, position: {x: 60, y: 60}}
    - {id: shape, type: transform, config: {mapping: {who: "{{ nodes.lookup.output.body.name }}"}},
       position: {x: 380, y: 60}}
  edges:
    - {from: lookup, to: shape}
"""


def open_designer(page: Page, path: str) -> None:
    page.goto(path)
    page.get_by_test_id("palette-item-http").wait_for(timeout=60_000)


def open_node(page: Page, node_id: str) -> None:
    page.get_by_test_id(f"node-{node_id}").click()
    page.get_by_test_id("data-panel").wait_for()


def pin(page: Page, node_id: str, sample: str) -> None:
    """Pins `sample` on the node from its Data panel, with mouse and keyboard."""
    open_node(page, node_id)
    panel = page.get_by_test_id("data-panel")
    panel.get_by_test_id("pin-edit").click()
    panel.get_by_test_id("pin-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(sample)
    panel.get_by_test_id("pin-save").click()
    expect(panel.get_by_test_id("data-own")).to_contain_text("pinned")


@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_a_required_run_input_left_empty_is_flagged_at_its_field(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    workflow_id = create_workflow(page, SIGNUP.replace("e2e-run-inputs", f"e2e-run-inputs-{width}"))
    open_designer(page, f"/designer/{workflow_id}")
    page.get_by_test_id("node-greet").wait_for()

    page.get_by_test_id("run-button").click()
    dialog = page.get_by_test_id("run-dialog")
    name = dialog.get_by_test_id("field-name")
    name.click()
    page.keyboard.type("Ada")
    dialog.get_by_test_id("run-start").click()

    # Both required fields are flagged where they are, the first one has the focus; no list below.
    email = dialog.get_by_test_id("field-email")
    plan = dialog.get_by_test_id("field-plan")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(plan).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("field-error-email")).to_have_text(re.compile("Required"))
    expect(dialog.get_by_test_id("field-error-plan")).to_be_visible()
    expect(email).to_be_focused()
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("run-error")).to_have_count(0)
    # The message sits right under its field, and the field is outlined in red.
    field_box = email.bounding_box()
    message_box = dialog.get_by_test_id("field-error-email").bounding_box()
    assert field_box and message_box and 0 <= message_box["y"] - (field_box["y"] + field_box["height"]) < 12
    border = "el => getComputedStyle(el).borderTopColor"
    assert email.evaluate(border) != name.evaluate(border)
    shot(page, f"keep-01-run-input-required-{width}")

    # Typed into, the field is no longer flagged; the other one still is until chosen.
    page.keyboard.type("ada")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("field-error-email")).to_have_count(0)
    expect(dialog.get_by_test_id("field-error-plan")).to_be_visible()
    plan.select_option(label="pro")
    expect(dialog.get_by_test_id("field-error-plan")).to_have_count(0)

    # What the server refuses (no e-mail address) is shown at the field too, which takes the focus.
    dialog.get_by_test_id("run-start").click()
    expect(dialog.get_by_test_id("field-error-email")).to_have_text("Not an e-mail address.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(dialog.get_by_test_id("run-error")).to_have_count(0)
    shot(page, f"keep-01b-run-input-refused-{width}")
    page.keyboard.press("End")
    page.keyboard.type("@example.com")
    dialog.get_by_test_id("run-start").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("run-status")).to_have_text(re.compile("succeeded"), timeout=60_000)


def test_a_new_workflow_never_saved_survives_a_reload(page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.request.delete("/api/v1/drafts/new", headers=csrf_headers(page))
    open_designer(page, "/designer/new")
    expect(page.get_by_test_id("draft-state")).to_have_count(0)  # untouched: nothing kept yet

    # The first change keeps the canvas on the server, and the address says it is a draft.
    drop_type(page, "http", 300, 200)
    state = page.get_by_test_id("draft-state")
    expect(state).to_contain_text("Draft")
    expect(state).to_have_attribute("data-state", "saved")
    expect(page).to_have_url(re.compile(r"/designer/new\?draft=1$"))
    kept = page.request.get("/api/v1/drafts/new")
    assert kept.status == 200 and "type: http" in kept.json()["yaml"]
    page.get_by_test_id("workflow-title").fill("Half-built lookup")
    expect(state).to_have_attribute("data-state", "saved")
    page.wait_for_function("() => fetch('/api/v1/drafts/new').then((r) => r.json())"
                           ".then((d) => d.yaml.includes('Half-built lookup'))")
    # Sample data pinned on the new workflow's node is kept with its draft.
    pin(page, "http", '{"status": 200, "body": {"name": "Lin"}}')
    page.wait_for_function("() => fetch('/api/v1/drafts/new').then((r) => r.json())"
                           ".then((d) => d.pinned.http && d.pinned.http.body.name === 'Lin')")
    shot(page, "keep-02-new-workflow-draft-1440")

    # A reload brings it back, marked as a draft, pinned data included. The changes are kept on
    # the server, so the page does not ask "Leave site?" first.
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    with page.expect_navigation(wait_until="load"):
        page.evaluate("() => location.reload()")
    page.remove_listener("dialog", answer)
    assert asked == []
    page.get_by_test_id("node-http").wait_for(timeout=60_000)
    expect(page.get_by_test_id("workflow-title")).to_have_value("Half-built lookup")
    expect(page.get_by_test_id("draft-state")).to_have_attribute("data-state", "saved")
    expect(page.get_by_test_id("save-state")).to_have_text("Unsaved changes")
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "keep-02b-new-workflow-draft-reloaded-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    open_node(page, "http")
    expect(page.get_by_test_id("data-own")).to_contain_text("pinned")
    expect(page.get_by_test_id("data-own")).to_contain_text("Lin")

    # "New workflow" opens a blank canvas and offers the draft kept from before.
    open_designer(page, "/designer/new")
    expect(page.get_by_test_id("node-http")).to_have_count(0)
    expect(page.get_by_test_id("draft-reopen")).to_contain_text("Reopen your draft")
    shot(page, "keep-03-draft-offered-1440")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_test_id("draft-reopen")).to_be_visible()
    shot(page, "keep-03-draft-offered-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("draft-reopen").click()
    page.get_by_test_id("node-http").wait_for()
    expect(page.get_by_test_id("workflow-title")).to_have_value("Half-built lookup")
    expect(page).to_have_url(re.compile(r"/designer/new\?draft=1$"))
    shot(page, "keep-03b-draft-reopened-1440")

    # Finished (an HTTP node needs its URL) and saved, it becomes a workflow; the draft is gone.
    page.get_by_test_id("node-http").click()
    page.get_by_test_id("field-config.url").click()
    page.keyboard.type("https://crm.example.com/person")
    expect(page.get_by_test_id("node-http")).not_to_contain_text("need config field")
    page.get_by_test_id("save-button").click()
    save = page.get_by_test_id("save-dialog")
    save.get_by_test_id("save-name").fill("e2e-kept-lookup")
    save.get_by_test_id("save-confirm").click()
    expect(page).to_have_url(re.compile(r"/designer/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("draft-state")).to_have_text("Version 1")
    assert page.request.get("/api/v1/drafts/new").status == 404
    # Its pinned data moved to the workflow.
    workflow_id = page.url.rsplit("/", 1)[1]
    assert page.request.get(f"/api/v1/workflows/{workflow_id}/pinned").json()["nodes"] == {
        "http": {"status": 200, "body": {"name": "Lin"}}}
    open_designer(page, "/designer/new")
    expect(page.get_by_test_id("node-http")).to_have_count(0)
    expect(page.get_by_test_id("draft-reopen")).to_have_count(0)

    # Discard drops a draft for a blank canvas.
    drop_type(page, "log", 300, 200)
    expect(page.get_by_test_id("draft-state")).to_have_attribute("data-state", "saved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("draft-discard").click()
    expect(page.get_by_test_id("node-log")).to_have_count(0)
    expect(page.get_by_test_id("draft-state")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/designer/new$"))
    page.wait_for_function("() => fetch('/api/v1/drafts/new').then((r) => r.status === 404)")


def _add_teammate(username: str) -> bool:
    """A second editor of the demo tenant in the e2e server's database (PostgreSQL runs only)."""
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith(("postgres://", "postgresql://")):
        return False
    url = urlunparse(urlparse(given)._replace(path=f"/{_e2e_database(given)}"))
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from workflows.models import Membership, Role, Tenant\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        f"user.set_password({PASSWORD!r}); user.save()\n"
        "Membership.objects.get_or_create(user=user, tenant=Tenant.objects.get(slug='demo'),"
        " defaults={'role': Role.EDITOR})\n"
    )
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([str(BIN / "python"), str(ROOT / "manage.py"), "shell", "-c", script], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return True


def test_pinned_data_is_kept_with_the_workflow_for_the_team(page: Page, browser, server_url: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    workflow_id = create_workflow(page, CRM.replace("NAME", "e2e-pinned-team"))
    open_designer(page, f"/designer/{workflow_id}")
    page.get_by_test_id("node-lookup").wait_for()

    # Pinned in the Data panel with mouse and keyboard.
    pin(page, "lookup", '{"status": 200, "body": {"name": "Grace"}}')
    page.wait_for_function(
        "(id) => fetch(`/api/v1/workflows/${id}/pinned`).then((r) => r.json())"
        ".then((d) => d.nodes.lookup && d.nodes.lookup.body.name === 'Grace')",
        arg=workflow_id,
    )
    # Nothing of it stays in this browser's storage.
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.includes(':pinned:'))") == []
    shot(page, "keep-04-pinned-on-server-1440")

    # Another browser (no shared storage), as a teammate: the transform's Data panel shows the pin.
    who = ("teammate", PASSWORD) if _add_teammate("teammate") else ("admin", PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server_url)
    context.set_default_timeout(WAIT_MS)
    other = context.new_page()
    try:
        other.goto("/login")
        other.fill("#id_username", who[0])
        other.fill("#id_password", who[1])
        other.click("button[type=submit]")
        other.wait_for_url(f"{server_url}/")
        open_designer(other, f"/designer/{workflow_id}")
        open_node(other, "shape")
        source = other.get_by_test_id("data-source-lookup")
        expect(source).to_contain_text("pinned")
        expect(other.get_by_test_id("data-panel")).to_contain_text("Grace")
        shot(other, "keep-05-pinned-seen-by-teammate-1280")
    finally:
        context.close()

    # Pins an older designer kept in this browser move to the server once, then leave the storage.
    second = create_workflow(page, CRM.replace("NAME", "e2e-pinned-legacy"))
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [f"mbflow:designer:pinned:{second}", json.dumps({"lookup": {"body": {"name": "Old pin"}}})])
    open_designer(page, f"/designer/{second}")
    open_node(page, "shape")
    expect(page.get_by_test_id("data-source-lookup")).to_contain_text("pinned")
    page.wait_for_function(
        "(id) => fetch(`/api/v1/workflows/${id}/pinned`).then((r) => r.json())"
        ".then((d) => d.nodes.lookup && d.nodes.lookup.body.name === 'Old pin')",
        arg=second,
    )
    page.wait_for_function(f"() => localStorage.getItem('mbflow:designer:pinned:{second}') === null")

    # Unpinned, it is gone on the server too.
    open_node(page, "lookup")
    page.get_by_test_id("data-panel").get_by_test_id("unpin").click()
    page.wait_for_function(
        "(id) => fetch(`/api/v1/workflows/${id}/pinned`).then((r) => r.json()).then((d) => !d.nodes.lookup)",
        arg=second,
    )
