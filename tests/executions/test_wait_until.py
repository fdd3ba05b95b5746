"""wait_until reports the moment it waited for, even when `until` is an expression over now()
(rendered again when the node starts, it would read later)."""

from __future__ import annotations

from datetime import datetime

from tests.executions.conftest import Run, Store, doc, steps


def test_wait_until_reports_the_moment_it_was_scheduled_for(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("until-soon", """
  nodes:
    - {id: wait, type: wait_until, config: {until: "{{ now() | add_hours(0.0002) }}"}}
"""))
    execution = run("until-soon", wait=30)
    assert execution["status"] == "succeeded", execution["error"]
    step = steps(execution)["wait"]
    waited = datetime.fromisoformat(step["output"]["waited_until"])
    assert waited == datetime.fromisoformat(step["scheduled_at"])
    assert datetime.fromisoformat(step["started_at"]) >= waited
