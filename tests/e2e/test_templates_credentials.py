"""Issue 19 items 8 and 9 in the browser: "Use template" asks in a short form for the template's
settings and secrets and makes a workflow that runs to success against a local server standing in
for its API; the Credentials page lists the tenant's secrets by name (never their values), sets,
replaces and deletes them, and shows which workflows read each."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow, csrf_headers
from tests.executions.servers import LocalServer

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

SECRET = "tok-e2e-5a4b3c2d1e"


@pytest.fixture
def service() -> LocalServer:
    server = LocalServer()
    yield server
    server.close()


def finished(page: Page, execution_id: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = page.request.get(f"/api/v1/executions/{execution_id}").json()
        if body["status"] not in ("pending", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_use_template_asks_for_its_settings_and_secret_and_the_workflow_runs(page: Page, service: LocalServer) -> None:
    service.answer("GET", "/shop/customers/c-1", (200, {"id": "c-1", "name": "Ada"}))
    service.answer("GET", "/shop/customers/c-1/orders", (200, [{"id": "o-2"}, {"id": "o-1"}]))
    service.answer("GET", "/shop/support/tickets", (200, {"tickets": []}))
    page.goto("/templates")
    page.get_by_test_id("template-grid").wait_for()
    shot(page, "h2-templates-1280")
    page.get_by_test_id("use-template-parallel_fetch_merge").click()
    dialog = page.get_by_test_id("template-setup")
    expect(dialog).to_be_visible()
    # The title names the workflow; its name follows the title until edited.
    title = dialog.get_by_label("Title")
    title.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Customer profile E2E")
    expect(dialog.get_by_label("Name (in URLs and the API)")).to_have_value("customer-profile-e2e")
    # The variable asked for, its default filled in and described.
    api_field = dialog.get_by_test_id("setup-var-api")
    expect(api_field).to_have_value("https://api.example.com")
    expect(dialog.get_by_text("Base URL of the API that has /customers")).to_be_visible()
    api_field.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(f"{service.url}/shop")
    shot(page, "h2-template-setup-1280")
    # The secret is not set yet: creating without it is refused at the field.
    dialog.get_by_test_id("template-setup-create").click()
    expect(dialog.get_by_test_id("setup-error-secrets.API_TOKEN")).to_contain_text("not set yet")
    dialog.get_by_test_id("setup-secret-API_TOKEN").click()
    page.keyboard.type(SECRET)
    dialog.get_by_test_id("template-setup-create").click()

    # The workflow opens in the designer, every node of it in view.
    page.wait_for_url("**/designer/*")
    workflow_id = page.url.rsplit("/", 1)[-1]
    for node in ("fetch_customer", "fetch_orders", "fetch_tickets", "gather", "profile"):
        expect(page.get_by_test_id(f"node-{node}")).to_be_in_viewport()
    shot(page, "h2-template-designer-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.reload()
    page.get_by_test_id("node-profile").wait_for()
    shot(page, "h2-template-designer-1440")

    # It runs to success right away, the secret sent to the service and shown nowhere.
    started = page.request.post("/api/v1/executions", data={"workflow": workflow_id, "input": {"customer_id": "c-1"}},
                                headers=csrf_headers(page))
    assert started.status in (200, 201, 202), started.text()
    run = finished(page, started.json()["id"])
    assert run["status"] == "succeeded", run
    assert run["output"] == {"customer": {"id": "c-1", "name": "Ada"}, "order_count": 2,
                             "last_order": {"id": "o-2"}, "open_tickets": 0}
    assert {r["headers"].get("authorization") for r in service.requests} == {f"Bearer {SECRET}"}
    page.goto(f"/executions/{started.json()['id']}")
    page.get_by_test_id("node-profile").wait_for()
    assert SECRET not in page.content()


def test_the_credentials_page_sets_replaces_and_deletes_secrets_and_names_their_users(page: Page) -> None:
    workflow_id = create_workflow(page, (
        "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: e2e-pays, title: Pays the bills}\nspec:\n"
        "  nodes:\n    - {id: pay, type: transform, config: {mapping: {key: '{{ secrets.E2E_PAY_KEY }}'}}}\n"))
    page.goto("/workflows")
    page.get_by_role("link", name="Credentials").click()
    page.wait_for_url("**/credentials")
    # A secret read with no value is listed as not set, with the workflow reading it.
    row = page.get_by_test_id("secret-E2E_PAY_KEY")
    expect(row).to_contain_text("not set")
    expect(row.get_by_role("link", name="Pays the bills")).to_have_attribute("href", f"/designer/{workflow_id}")
    row.get_by_role("button", name="Set value").click()
    page.keyboard.type("pay-value-111")
    page.keyboard.press("Enter")
    expect(row.get_by_text("set", exact=True)).to_be_visible()
    expect(row).to_contain_text("updated")

    # A new secret: a bad name is refused at the field, a good one is listed, read by no workflow.
    new = page.get_by_test_id("credential-new")
    new.get_by_label("Secret name").click()
    page.keyboard.type("1BAD")
    new.get_by_label("Secret value").click()
    page.keyboard.type("other-value-222")
    new.get_by_role("button", name="Add secret").click()
    expect(new.get_by_role("alert")).to_contain_text("Letters, digits and _")
    new.get_by_label("Secret name").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("E2E_OTHER")
    new.get_by_role("button", name="Add secret").click()
    other = page.get_by_test_id("secret-E2E_OTHER")
    expect(other).to_contain_text("No workflow reads it")
    expect(new.get_by_label("Secret name")).to_have_value("")
    shot(page, "h2-credentials-1280")

    # Replace its value, then delete it after confirming.
    before = page.request.get("/api/v1/secrets").json()["results"]
    updated = next(s["updated_at"] for s in before if s["name"] == "E2E_OTHER")
    other.get_by_role("button", name="Replace value").click()
    page.keyboard.type("other-value-333")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_role("button", name="Replace value")).to_be_visible()
    after = page.request.get("/api/v1/secrets").json()["results"]
    assert next(s["updated_at"] for s in after if s["name"] == "E2E_OTHER") > updated
    other.get_by_role("button", name="Delete E2E_OTHER").click()
    page.get_by_test_id("credential-delete-confirm").click()
    expect(other).to_have_count(0)
    assert [s["name"] for s in page.request.get("/api/v1/secrets").json()["results"]].count("E2E_OTHER") == 0

    # No value is ever on the page.
    for value in ("pay-value-111", "other-value-222", "other-value-333"):
        assert value not in page.content()
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "h2-credentials-1440")
    # The user link opens the workflow.
    row.get_by_role("link", name="Pays the bills").click()
    page.wait_for_url(f"**/designer/{workflow_id}")
