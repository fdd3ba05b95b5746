"""The browser's pages: the app's routes serve the app, any other page outside the API serves it
too with a 404 (it shows its own "not found" page), and the API's unknown paths keep their JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

INDEX = "<!doctype html><div id=root></div>"


@pytest.fixture
def browser(db: None, settings: Any, tmp_path: Path) -> Client:
    """A signed-in browser, and a built app of one page."""
    (tmp_path / "index.html").write_text(INDEX)
    settings.FRONTEND_DIST = tmp_path
    get_user_model().objects.create_user("ann", password="pw-ann-1234")
    client = Client()
    assert client.login(username="ann", password="pw-ann-1234")
    return client


@pytest.mark.parametrize("path", ["/executions", "/executions/0b6f7a3c-0000-4000-8000-000000000001", "/dashboard",
                                  "/workflows/0b6f7a3c-0000-4000-8000-000000000002/executions", "/deliveries",
                                  "/credentials"])
def test_the_app_serves_its_pages(browser: Client, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 200
    assert response.content.decode() == INDEX


@pytest.mark.parametrize("path", ["/no-such-page", "/executions/abc/extra", "/dashboards", "/workflows/x/y/z",
                                  "/apiary", "/health/"])
def test_an_unknown_page_is_the_app_with_a_404(browser: Client, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response.content.decode() == INDEX


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/nope", "/hooks/", "/static/missing.js", "/ws/x"])
def test_unknown_paths_of_the_api_and_files_keep_the_json_error(browser: Client, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_visitor_who_is_not_signed_in_signs_in_first(db: None) -> None:
    response = Client().get("/no-such-page")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/no-such-page")
