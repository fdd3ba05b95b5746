"""The real server in a subprocess, a fresh database, and a signed-in Chromium page.

The server is `uvicorn mbflow_site.asgi:application` on a free port. With DATABASE_URL pointing
at PostgreSQL it gets its own database (`<its name>_e2e`, dropped and created here, so pytest-django's
test database is never touched); without DATABASE_URL it uses a temporary SQLite file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("MBFLOW_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "e2e-Secret-pass-1"
BIN = Path(sys.executable).parent
# How long a page action or an `expect` waits for its state: generous, for a busy machine.
WAIT_MS = 15_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _e2e_database(url: str) -> str:
    """The e2e server's database: named after the one in `url` (<name>_e2e), so two checkouts
    pointed at different databases never drop each other's."""
    return (urlparse(url).path.lstrip("/") or "mbflow") + "_e2e"


def _postgres_database(url: str) -> str:
    """Drops and creates the e2e database next to the one in `url`; returns its URL."""
    import psycopg

    parsed = urlparse(url)
    database = _e2e_database(url)
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return urlunparse(parsed._replace(path=f"/{database}"))


def _maintenance_url(url: str) -> str:
    # The database named in DATABASE_URL need not exist (pytest-django creates its own test_*).
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def _drop_postgres_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_e2e_database(url)}" WITH (FORCE)')


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError("The server did not answer /health in time")


# The admin also belongs to a second tenant (sorted after the demo one, which stays the default).
SECOND_TENANT = """
from django.contrib.auth import get_user_model
from workflows.models import Membership, Role, Tenant
tenant, _ = Tenant.objects.get_or_create(slug="zz-second", defaults={"name": "Second Co"})
Membership.objects.get_or_create(user=get_user_model().objects.get(username="admin"), tenant=tenant,
                                 defaults={"role": Role.OWNER})
"""


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        pytest.fail("frontend/dist is missing: run `make frontend` before the browser tests")
    given = os.environ.get("DATABASE_URL", "")
    is_postgres = given.startswith(("postgres://", "postgresql://"))
    if is_postgres:
        database_url = _postgres_database(given)
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.sqlite3'}"
    # Outbound calls to this machine are allowed: tests start local receivers (alert webhooks).
    env = {"MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1", **os.environ, "DATABASE_URL": database_url, "DEBUG": "false",
           "MBFLOW_ADMIN_PASSWORD": PASSWORD}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [str(BIN / "python"), str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "mbflow_demo", "--password", PASSWORD], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*manage, "shell", "-c", SECOND_TENANT], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    log = (tmp_path_factory.mktemp("e2e-log") / "server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "uvicorn"), "mbflow_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if is_postgres:
            _drop_postgres_database(given)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"No Chromium at {CHROMIUM} (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    """Keeps each phase's report on the test, so that its page can tell whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class PageWatch:
    """What a page asked of the server and did not get an answer to yet, and what it logged as
    errors: printed (with a screenshot) when its test fails, where a timeout alone says little."""

    def __init__(self, page) -> None:
        self.pending: dict[object, tuple[float, str]] = {}
        self.errors: list[str] = []
        page.on("request", lambda request: self.pending.__setitem__(
            request, (time.monotonic(), f"{request.method} {request.url}")))
        page.on("requestfinished", lambda request: self.pending.pop(request, None))
        page.on("requestfailed", lambda request: self._failed(request))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text[:300]))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {str(error)[:300]}"))

    def _failed(self, request) -> None:
        self.pending.pop(request, None)
        self.errors.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def report(self, page, name: str) -> None:
        now = time.monotonic()
        print(f"page at {page.url}")
        for started, what in sorted(self.pending.values()):
            print(f"  unanswered for {now - started:.1f} s: {what}")
        for error in self.errors[-20:]:
            print(f"  {error}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"))


@pytest.fixture
def page(browser, server_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A 1280×800 page signed in as the demo admin."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server_url)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    watch = PageWatch(page)
    page.goto("/login")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server_url}/")
    yield page
    outcome = getattr(request.node, "report_call", None)
    if outcome is not None and outcome.failed:
        try:
            watch.report(page, request.node.name)
        except Exception as exc:  # the test's own failure is what matters
            print(f"(no page report: {exc})")
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
