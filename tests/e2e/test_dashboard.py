"""The dashboard in a real browser against the real server: its figures change as runs start and
end (the tenant's live feed tells it), per workflow too, and every range reads at 1280×800."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import create_workflow
from tests.e2e.test_executions_pages import FAILING_NODE, OK_NODE, one_node_workflow, start

pytestmark = pytest.mark.e2e

expect.set_options(timeout=WAIT_MS)


def count(page: Page, test_id: str) -> int:
    return int(page.get_by_test_id(f"{test_id}-value").inner_text().replace(",", ""))


def test_the_dashboard_counts_change_as_runs_end(page: Page) -> None:
    ok = create_workflow(page, one_node_workflow("e2e-dash-ok", "Dash ok", OK_NODE))
    bad = create_workflow(page, one_node_workflow("e2e-dash-bad", "Dash bad", FAILING_NODE))
    page.goto("/dashboard?range=1h")
    expect(page.get_by_test_id("stat-executions-value")).not_to_have_text("…")
    before = count(page, "stat-executions")
    expect(page.get_by_test_id("dash-live")).to_have_text("live")

    # One run succeeds and one fails while the page is open: the feed shows them, the figures follow.
    good_run = start(page, ok, wait=20)
    bad_run = start(page, bad, wait=20)
    assert (good_run["status"], bad_run["status"]) == ("succeeded", "failed")
    expect(page.get_by_test_id("stat-executions-value")).to_have_text(str(before + 2))
    feed = page.get_by_test_id("live-feed")
    failed = feed.locator(f"[data-type='execution.failed'] a[href='/executions/{bad_run['id']}']")
    expect(failed).to_contain_text("e2e-dash-bad")
    expect(feed.locator(f"[data-type='execution.succeeded'] a[href='/executions/{good_run['id']}']")).to_be_visible()
    expect(page.get_by_test_id("stat-executions")).to_contain_text(re.compile(r"[1-9]\d* failed"))
    expect(page.get_by_test_id("failing-nodes")).to_contain_text("boom")
    expect(page.locator("[data-testid=chart-executions] .recharts-bar-rectangle").first).to_be_visible()
    shot(page, "35-dashboard-1280")
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "36-dashboard-1440")

    # One workflow's figures: its runs only, and its nodes.
    page.get_by_test_id("dash-workflow").select_option(bad)
    expect(page.get_by_test_id("stat-executions-value")).to_have_text("1")
    expect(page.get_by_test_id("stat-success-value")).to_have_text("0%")
    expect(page.get_by_test_id("step-figures")).to_contain_text("boom")
    start(page, bad, wait=20)
    expect(page.get_by_test_id("stat-executions-value")).to_have_text("2")
    assert "workflow=" in page.url


def test_every_range_and_a_custom_window_answer(page: Page) -> None:
    page.goto("/dashboard")
    expect(page.get_by_test_id("range-24h")).to_have_class(re.compile("chip-active"))
    for period in ("1h", "7d", "30d"):
        page.get_by_test_id(f"range-{period}").click()
        expect(page.get_by_test_id(f"range-{period}")).to_have_class(re.compile("chip-active"))
        expect(page.get_by_test_id("stat-executions-value")).to_have_text(re.compile(r"^\d[\d,]*$"))
    page.get_by_test_id("range-custom").click()
    page.get_by_test_id("dash-from").fill("2020-01-01T00:00")
    page.get_by_test_id("dash-to").fill("2020-01-02T00:00")
    expect(page.get_by_test_id("stat-executions-value")).to_have_text("0")
    expect(page.get_by_test_id("stat-success-value")).to_have_text("—")
