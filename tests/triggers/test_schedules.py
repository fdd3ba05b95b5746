"""Cron and interval triggers fire from the schedule tick, with a frozen clock (``tick(now)``)."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from rest_framework.test import APIClient

from executions.models import Execution
from tests.triggers.conftest import Store, doc, finished
from triggers.models import FireStatus, Trigger, TriggerFire, TriggerSync
from triggers.services.schedules import tick
from workflows.models import WorkflowVersion


def cron_flow(name: str = "report", missed: str = "skip", extra: str = "") -> str:
    return doc(name, f"""\
{extra}  nodes:
    - {{id: echo, type: transform, config: {{mapping: {{got: "{{{{ input.x }}}}"}}}}}}
  output: "{{{{ nodes.echo.output }}}}"
  triggers:
    - {{type: cron, name: mornings, schedule: "0 9 * * *", timezone: Europe/Paris, input: {{x: 1}}, missed: {missed}}}
""")


def interval_flow(name: str, every: str = "60s") -> str:
    return doc(name, f"""\
  nodes: [{{id: a, type: noop}}]
  triggers:
    - {{type: interval, every: {every}}}
""")


def only_trigger(workflow_id: str) -> Trigger:
    tick(datetime(2000, 1, 1, tzinfo=UTC))  # derives the rows; nothing is due in 2000
    return Trigger.objects.get(workflow_id=workflow_id)


def test_a_cron_trigger_fires_once_at_its_due_time_in_its_time_zone(embedded: object, store: Store) -> None:
    trigger = only_trigger(store(cron_flow())["id"])
    due = trigger.next_fire_at
    assert due.astimezone(ZoneInfo("Europe/Paris")).hour == 9 and due > datetime.now(UTC)

    assert tick(due - timedelta(seconds=1)).fired == 0
    first = tick(due + timedelta(milliseconds=500))
    again = tick(due + timedelta(seconds=2))

    assert (first.started, again.fired) == (1, 0)
    execution = finished(Execution.objects.get().pk)
    assert execution.status == "succeeded" and execution.output == {"got": 1}
    assert execution.trigger == {"type": "cron", "id": str(trigger.pk), "name": "mornings",
                                 "due_at": due.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    trigger.refresh_from_db()
    assert trigger.next_fire_at == due + timedelta(days=1)
    assert trigger.last_execution_id == execution.pk
    assert list(TriggerFire.objects.values_list("due_at", "status", "execution_id")) == [
        (due, FireStatus.STARTED, execution.pk)]


@pytest.mark.parametrize(("missed", "runs"), [("skip", 0), ("run_once", 1)])
def test_after_downtime_missed_due_times_are_skipped_or_run_once(embedded: object, store: Store, missed: str,
                                                                  runs: int) -> None:
    """GIVEN nothing ran the tick for three days after a due time
    WHEN the tick runs again
    THEN `skip` records the latest missed time as skipped, `run_once` runs once for all of them,
    and the next due time is the next one from now."""
    trigger = only_trigger(store(cron_flow(missed=missed))["id"])
    due = trigger.next_fire_at
    back = due + timedelta(days=2, hours=1)

    result = tick(back)

    assert (result.started, result.skipped) == (runs, 1 - runs)
    fire = TriggerFire.objects.get()
    assert fire.due_at == due + timedelta(days=2)  # the latest missed, once
    assert fire.status == (FireStatus.STARTED if runs else FireStatus.SKIPPED)
    assert Execution.objects.count() == runs
    if runs:
        assert Execution.objects.get().trigger["missed"] is True
    trigger.refresh_from_db()
    assert trigger.next_fire_at == due + timedelta(days=3)


def test_an_inactive_workflow_starts_nothing_and_is_not_late_once_turned_on(embedded: object, store: Store,
                                                                            editor: APIClient) -> None:
    workflow = store(interval_flow("poller"))
    trigger = only_trigger(workflow["id"])
    due = trigger.next_fire_at
    assert editor.patch(f"/api/v1/workflows/{workflow['id']}", {"active": False}, format="json").json()["active"] \
        is False

    assert tick(due + timedelta(seconds=1)).idle == 1
    assert tick(due + timedelta(seconds=61)).idle == 1
    editor.patch(f"/api/v1/workflows/{workflow['id']}", {"active": True}, format="json")
    result = tick(due + timedelta(seconds=121, milliseconds=500))

    assert (result.started, result.skipped) == (1, 0)
    assert TriggerFire.objects.get().due_at == due + timedelta(seconds=120)
    assert "missed" not in Execution.objects.get().trigger


def test_a_disabled_trigger_starts_nothing(embedded: object, store: Store) -> None:
    workflow = store(doc("quiet", "  nodes: [{id: a, type: noop}]\n  triggers:\n"
                                  "    - {type: interval, every: 5s, enabled: false}\n"))
    trigger = only_trigger(workflow["id"])
    assert tick(trigger.next_fire_at + timedelta(seconds=1)).idle == 1
    assert Execution.objects.count() == 0 and TriggerFire.objects.count() == 0


def test_a_run_that_cannot_start_is_recorded_and_the_schedule_goes_on(embedded: object, store: Store) -> None:
    schema = "  input_schema: {type: object, required: [email]}\n"
    trigger = only_trigger(store(cron_flow("strict", extra=schema))["id"])
    due = trigger.next_fire_at

    assert tick(due).failed == 1
    fire = TriggerFire.objects.get()
    assert fire.status == FireStatus.FAILED and "email" in fire.error and fire.execution_id is None
    trigger.refresh_from_db()
    assert trigger.next_fire_at == due + timedelta(days=1) and Execution.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_ticks_racing_in_eight_threads_start_one_run_per_trigger_and_due_time(embedded: object, store: Store,
                                                                              settings: object) -> None:
    """Eight ticks (as eight web processes or beats would send) with the same clock, released
    together at a barrier, over three due triggers: each trigger's due time fires once."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("the race is meant for PostgreSQL (SQLite takes one writer at a time)")
    workflows = [store(interval_flow(f"poller-{n}")) for n in range(3)]
    tick(datetime(2000, 1, 1, tzinfo=UTC))
    now = max(Trigger.objects.values_list("next_fire_at", flat=True)) + timedelta(milliseconds=300)
    barrier = threading.Barrier(8)
    results = []

    def racer() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(tick(now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 8
    assert sum(result.started for result in results) == 3
    assert Execution.objects.count() == 3 and TriggerFire.objects.count() == 3
    assert {str(e.workflow_id) for e in Execution.objects.all()} == {w["id"] for w in workflows}


def test_the_api_shows_the_next_five_fire_times_in_utc(store: Store, editor: APIClient) -> None:
    workflow = store(cron_flow())
    body = editor.get(f"/api/v1/workflows/{workflow['id']}/triggers").json()
    [trigger] = body["results"]
    times = [datetime.fromisoformat(t) for t in trigger["schedule"]["next_fire_times"]]
    assert len(times) == 5 and all(t.tzinfo is not None for t in times)
    paris = [t.astimezone(ZoneInfo("Europe/Paris")) for t in times]
    assert {(t.hour, t.minute) for t in paris} == {(9, 0)}
    assert [b - a for a, b in itertools.pairwise(paris)] == [timedelta(days=1)] * 4
    assert trigger["schedule"]["timezone"] == "Europe/Paris" and trigger["schedule"]["missed"] == "skip"


def test_the_scheduled_report_template_starts_on_weekday_mornings_in_paris(embedded: object, store: Store) -> None:
    template = (Path(__file__).resolve().parents[2] / "workflows/templates_library/scheduled_report.yaml").read_text()
    trigger = only_trigger(store(template)["id"])
    due = trigger.next_fire_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (due.hour, due.minute) == (8, 0) and due.isoweekday() <= 5

    assert tick(trigger.next_fire_at).started == 1
    execution = Execution.objects.get()
    assert execution.input == {"channel": "#sales"}
    assert execution.trigger["name"] == "Weekday mornings"


def test_a_trigger_an_older_version_declared_that_no_longer_validates_starts_nothing_and_stops_no_other(
        embedded: object, store: Store) -> None:
    """GIVEN a version stored before its trigger keys were checked as they are now (a 6-field cron)
    WHEN the tick derives the triggers
    THEN that trigger gets no row and the other workflows' schedules fire as before."""
    old = store(cron_flow("legacy"))
    version = WorkflowVersion.objects.get(workflow_id=old["id"])
    version.spec["spec"]["triggers"][0]["schedule"] = "*/5 * * * * *"
    WorkflowVersion.objects.filter(pk=version.pk).update(spec=version.spec)
    # As after the upgrade that brought triggers: no rows derived yet.
    Trigger.objects.filter(workflow_id=old["id"]).delete()
    TriggerSync.objects.filter(workflow_id=old["id"]).delete()
    fine = only_trigger(store(interval_flow("fine"))["id"])

    assert not Trigger.objects.filter(workflow_id=old["id"]).exists()
    assert tick(fine.next_fire_at).started == 1
