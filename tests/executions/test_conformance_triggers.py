"""Conformance of the trigger types: each kind the reference documents fires (or, for `manual`,
starts nothing), and each of its keys does what the reference says: cron and interval from the
schedule tick at a chosen time, webhooks through ``POST /hooks/<token>``, events through
``POST /api/v1/events``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from tests.executions.conformance import Harness, Scenario, Seen, cases, group, missing, observe
from triggers.services.schedules import tick

ECHO = """
  nodes:
    - {id: echo, type: transform, config: {mapping: {got: "{{ input }}"}}}
  output: "{{ nodes.echo.output.got }}"
  triggers:
"""


def _triggers(h: Harness, workflow: str) -> list[dict[str, Any]]:
    return h.editor.get(f"/api/v1/workflows/{workflow}/triggers").json()["results"]


def _runs(workflow: str) -> list[Execution]:
    return list(Execution.objects.filter(workflow__name=workflow).order_by("created_at"))


def _due(h: Harness, workflow: str) -> datetime:
    [trigger] = _triggers(h, workflow)
    return datetime.fromisoformat(trigger["schedule"]["next_fire_times"][0])


def _off(h: Harness, workflow: str) -> None:
    """Turns the workflow off, so the next ticks leave its triggers alone."""
    response = h.editor.patch(f"/api/v1/workflows/{workflow}", {"active": False}, format="json")
    assert response.status_code == 200, response.json()


def _finished(h: Harness, executions: list[Execution]) -> list[dict[str, Any]]:
    return [h.finished(str(execution.pk)) for execution in executions]


@group()
def schedules(h: Harness) -> Seen:
    seen: Seen = {}
    tick(datetime(2000, 1, 1, tzinfo=UTC))  # nothing is due in 2000
    cron = h.put("cron", ECHO + '    - {type: cron, name: mornings, schedule: "0 9 * * *", timezone: Europe/Paris, '
                                "input: {x: 1}}\n")
    disabled = h.put("cron-off", ECHO + '    - {type: cron, schedule: "0 9 * * *", timezone: Europe/Paris, '
                                        "enabled: false}\n")
    tick(datetime(2000, 1, 1, tzinfo=UTC))
    seen["cron_trigger"] = _triggers(h, cron)[0]
    seen["cron_disabled"] = _triggers(h, disabled)[0]
    due = _due(h, cron)
    seen["cron_due"] = due
    seen["cron_before"] = len(_runs(cron))
    tick(due - timedelta(seconds=1))
    seen["cron_early"] = len(_runs(cron))
    tick(due + timedelta(milliseconds=500))
    seen["cron_runs"] = _finished(h, _runs(cron))
    seen["cron_disabled_runs"] = len(_runs(disabled))
    _off(h, cron)
    _off(h, disabled)

    interval = h.put("interval", ECHO + "    - {type: interval, name: hourly, every: 2h, input: {y: 2}}\n")
    interval_off = h.put("interval-off", ECHO + "    - {type: interval, every: 2h, enabled: false}\n")
    tick(datetime(2000, 1, 1, tzinfo=UTC))
    [seen["interval_trigger"]] = _triggers(h, interval)
    first = _due(h, interval)
    times = seen["interval_trigger"]["schedule"]["next_fire_times"]
    seen["interval_times"] = [datetime.fromisoformat(t) for t in times]
    tick(first + timedelta(milliseconds=500))
    seen["interval_runs"] = _finished(h, _runs(interval))
    seen["interval_off_runs"] = len(_runs(interval_off))
    _off(h, interval)
    _off(h, interval_off)

    # After downtime: two days and an hour late, run_once runs once for all of it, skip runs none.
    once = h.put("missed-once", ECHO + '    - {type: cron, schedule: "0 3 * * *", missed: run_once}\n')
    skip = h.put("missed-skip", ECHO + '    - {type: cron, schedule: "0 3 * * *", missed: skip}\n')
    every_once = h.put("missed-every", ECHO + "    - {type: interval, every: 3h, missed: run_once}\n")
    every_skip = h.put("missed-every-skip", ECHO + "    - {type: interval, every: 3h}\n")
    tick(datetime(2000, 1, 1, tzinfo=UTC))
    late = max(_due(h, once), _due(h, every_once)) + timedelta(days=2, hours=1)
    tick(late)
    seen["missed"] = {name: _finished(h, _runs(workflow)) for name, workflow in
                      (("run_once", once), ("skip", skip), ("interval_run_once", every_once),
                       ("interval_skip", every_skip))}
    for workflow in (once, skip, every_once, every_skip):
        _off(h, workflow)
    return seen


def _trigger_of(run: dict[str, Any]) -> dict[str, Any]:
    return run["trigger"]  # what started it, as the API shows it


def check_cron(seen: Seen) -> None:
    assert (seen["cron_before"], seen["cron_early"]) == (0, 0)  # not before its due time
    [run] = seen["cron_runs"]  # once at it
    assert run["status"] == "succeeded", run["error"]
    trigger = _trigger_of(run)
    assert trigger["type"] == "cron" and trigger["id"] == seen["cron_trigger"]["id"]


def check_cron_schedule(seen: Seen) -> None:
    times = [datetime.fromisoformat(t).astimezone(ZoneInfo("Europe/Paris")) for t in
             seen["cron_trigger"]["schedule"]["next_fire_times"]]
    assert all((t.hour, t.minute) == (9, 0) for t in times), times  # 0 9 * * *
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(times)
               if a.utcoffset() == b.utcoffset())
    check_cron(seen)


def check_cron_timezone(seen: Seen) -> None:
    due = seen["cron_due"]
    assert due.astimezone(ZoneInfo("Europe/Paris")).hour == 9 and due.astimezone(UTC).hour in (7, 8)


def check_cron_input(seen: Seen) -> None:
    [run] = seen["cron_runs"]
    assert (run["input"], run["output"]) == ({"x": 1}, {"x": 1})


def check_name(kind: str) -> Any:
    def check(seen: Seen) -> None:
        if kind in ("cron", "interval"):
            [run] = seen[f"{kind}_runs"]
            expected = {"cron": "mornings", "interval": "hourly"}[kind]
            assert seen[f"{kind}_trigger"]["name"] == expected
            assert _trigger_of(run)["name"] == expected  # the run says which trigger started it
        elif kind == "webhook":
            assert seen["hooks"]["async"]["trigger"]["name"] == "inbox"
        elif kind == "event":
            assert seen["events"]["gold"]["trigger"]["name"] == "gold-orders"
        else:
            assert seen["manual"]["trigger"]["name"] == "by-hand"

    return check


def check_enabled(kind: str) -> Any:
    def check(seen: Seen) -> None:
        if kind == "cron":
            assert seen["cron_disabled"]["enabled"] is False and seen["cron_disabled_runs"] == 0
            assert len(seen["cron_runs"]) == 1  # the enabled one, same schedule, ran
        elif kind == "interval":
            assert seen["interval_off_runs"] == 0 and len(seen["interval_runs"]) == 1
        elif kind == "webhook":
            assert seen["hooks"]["disabled"]["status"] == 409, seen["hooks"]["disabled"]
            assert seen["hooks"]["disabled"]["body"]["error"]["code"] == "trigger_disabled"
        elif kind == "event":
            assert seen["events"]["disabled_runs"] == 0 and seen["events"]["gold"]["runs"] == 1
        else:
            assert seen["manual"]["disabled"]["enabled"] is False

    return check


def check_interval(seen: Seen) -> None:
    [run] = seen["interval_runs"]
    assert run["status"] == "succeeded" and _trigger_of(run)["type"] == "interval"


def check_interval_every(seen: Seen) -> None:
    times = seen["interval_times"]
    assert all(b - a == timedelta(hours=2) for a, b in itertools.pairwise(times)), times
    created = datetime.fromisoformat(seen["interval_trigger"]["created_at"])
    assert abs((times[0] - created) - timedelta(hours=2)) < timedelta(seconds=60)  # `every` after it appeared


def check_interval_input(seen: Seen) -> None:
    [run] = seen["interval_runs"]
    assert run["input"] == {"y": 2}


def check_missed(kind: str, value: str | None) -> Any:
    def check(seen: Seen) -> None:
        missed = seen["missed"]
        if kind == "interval":
            if value in (None, "run_once"):
                [run] = missed["interval_run_once"]
                assert _trigger_of(run).get("missed") is True
            if value in (None, "skip"):  # the default
                assert missed["interval_skip"] == []
            return
        if value in (None, "run_once"):
            [run] = missed["run_once"]  # once for the three due times missed
            assert _trigger_of(run).get("missed") is True
        if value in (None, "skip"):
            assert missed["skip"] == []

    return check


# ----------------------------------------------------------------------------- webhooks

HOOKED = """
  nodes:
    - {id: echo, type: transform, config: {mapping: {got: "{{ input }}"}}}
    - {id: answer, type: webhook_response, config: {status: 201, headers: {X-Answer: "n={{ input.n }}"},
       body: {n: "{{ input.n }}"}}}
  output: "{{ nodes.echo.output.got }}"
  triggers:
"""


def _hook(h: Harness, workflow: str, body: Any = None, query: str = "") -> dict[str, Any]:
    [trigger] = _triggers(h, workflow)
    path = urlparse(trigger["webhook"]["url"]).path
    response = APIClient().post(f"{path}{query}", body, format="json")
    content = response.content
    try:
        parsed: Any = response.json()
    except ValueError:
        parsed = content.decode()
    return {"status": response.status_code, "body": parsed, "headers": dict(response.headers), "trigger": trigger}


@group()
def webhooks(h: Harness) -> Seen:
    hooks: Seen = {}
    plain = h.put("hook-async", ECHO + "    - {type: webhook, name: inbox}\n")
    hooks["async"] = _hook(h, plain, {"n": 1})
    hooks["async_run"] = h.finished(hooks["async"]["body"]["execution_id"])
    answering = h.put("hook-sync", HOOKED + "    - {type: webhook, mode: sync}\n")
    hooks["sync"] = _hook(h, answering, {"n": 2})
    output_only = h.put("hook-sync-output", ECHO + "    - {type: webhook, mode: sync}\n")
    hooks["sync_output"] = _hook(h, output_only, {"n": 3})
    requested = h.put("hook-request", ECHO + "    - {type: webhook, input: request}\n")
    hooks["request"] = _hook(h, requested, {"n": 4}, "?q=5")
    hooks["request_run"] = h.finished(hooks["request"]["body"]["execution_id"])
    waiting = h.put("hook-timeout", ECHO.replace("  nodes:\n", "  nodes:\n    - {id: hold, type: delay, config: "
                                                  "{duration: 3s}}\n") + "    - {type: webhook, mode: sync, "
                                                                         "timeout: 300ms}\n")
    started = datetime.now(UTC)
    hooks["timeout"] = _hook(h, waiting, {"n": 6})
    hooks["timeout_took"] = (datetime.now(UTC) - started).total_seconds()
    disabled = h.put("hook-off", ECHO + "    - {type: webhook, enabled: false}\n")
    hooks["disabled"] = _hook(h, disabled, {"n": 7})
    return {"hooks": hooks}


def check_webhook(seen: Seen) -> None:
    hooked = seen["hooks"]
    assert hooked["async"]["status"] == 202, hooked["async"]
    assert hooked["async_run"]["status"] == "succeeded"
    assert _trigger_of(hooked["async_run"])["type"] == "webhook"


def check_webhook_mode(value: str | None) -> Any:
    def check(seen: Seen) -> None:
        hooked = seen["hooks"]
        if value in (None, "async"):
            assert hooked["async"]["status"] == 202 and set(hooked["async"]["body"]) >= {"execution_id", "status_url"}
        if value in (None, "sync"):
            sync = hooked["sync"]
            assert (sync["status"], sync["body"]) == (201, {"n": 2}), sync
            assert sync["headers"].get("X-Answer") == "n=2"
            assert (hooked["sync_output"]["status"], hooked["sync_output"]["body"]) == (200, {"n": 3})

    return check


def check_webhook_input(value: str | None) -> Any:
    def check(seen: Seen) -> None:
        hooked = seen["hooks"]
        if value in (None, "body"):
            assert hooked["async_run"]["input"] == {"n": 1}
        if value in (None, "request"):
            given = hooked["request_run"]["input"]
            assert (given["body"], given["query"], given["method"]) == ({"n": 4}, {"q": "5"}, "POST"), given
            assert "content-type" in given["headers"]

    return check


def check_webhook_timeout(seen: Seen) -> None:
    answer = seen["hooks"]["timeout"]
    assert (answer["status"], answer["body"].get("status")) == (202, "running"), answer
    assert seen["hooks"]["timeout_took"] < 2.5  # not the 3s the run takes


# ----------------------------------------------------------------------------- events

EVENTS = """
  nodes:
    - {id: echo, type: transform, config: {mapping: {got: "{{ input }}"}}}
  output: "{{ nodes.echo.output.got }}"
  triggers:
    - {type: event, name: gold-orders, event: order.created-@tag, source: shop, filter: {customer.tier: gold}}
    - {type: event, name: whole, event: order.created-@tag, filter: "{{ event.data.amount > 100 }}", input: event}
    - {type: event, event: order.created-@tag, enabled: false}
"""


@group()
def events(h: Harness) -> Seen:
    workflow = h.put("events", EVENTS)
    posted = {}
    for name, body in (("gold", {"data": {"customer": {"tier": "gold"}, "amount": 5}, "source": "shop"}),
                       ("silver", {"data": {"customer": {"tier": "silver"}, "amount": 5}, "source": "shop"}),
                       ("elsewhere", {"data": {"customer": {"tier": "gold"}, "amount": 5}, "source": "other"}),
                       ("big", {"data": {"customer": {"tier": "none"}, "amount": 500}, "source": "other"})):
        response = h.editor.post("/api/v1/events", {"type": f"order.created-{h.tag}", **body}, format="json")
        assert response.status_code == 202, response.json()
        started = response.json()["executions"]
        posted[name] = {"runs": len(started), "trigger": started[0]["trigger"] if started else None,
                        "executions": [h.finished(item["execution"]["id"] if isinstance(item["execution"], dict)
                                                  else item["execution"]) for item in started]}
    other = h.editor.post("/api/v1/events", {"type": f"order.updated-{h.tag}", "data": {}}, format="json")
    disabled = [t for t in _triggers(h, workflow) if not t["enabled"]]
    posted["disabled_runs"] = sum(1 for run in _runs(workflow) if run.trigger.get("id") == disabled[0]["id"])
    posted["other"] = len(other.json()["executions"])
    return {"events": posted}


def check_event(seen: Seen) -> None:
    posted = seen["events"]
    assert posted["gold"]["runs"] == 1 and posted["other"] == 0  # only its own event type
    [run] = posted["gold"]["executions"]
    assert run["status"] == "succeeded" and _trigger_of(run)["type"] == "event"


def check_event_event(seen: Seen) -> None:
    assert seen["events"]["other"] == 0
    check_event(seen)


def check_event_source(seen: Seen) -> None:
    assert seen["events"]["elsewhere"]["runs"] == 0  # gold, but from another source: not the gold trigger's


def check_event_filter(seen: Seen) -> None:
    assert seen["events"]["silver"]["runs"] == 0  # a mapping: data fields equal (dotted keys nested)
    assert seen["events"]["big"]["runs"] == 1  # an expression over `event`


def check_event_input(value: str | None) -> Any:
    def check(seen: Seen) -> None:
        if value in (None, "data"):
            [run] = seen["events"]["gold"]["executions"]
            assert run["input"] == {"customer": {"tier": "gold"}, "amount": 5}
        if value in (None, "event"):
            [run] = seen["events"]["big"]["executions"]
            assert set(run["input"]) == {"type", "data", "source", "id", "time"}, run["input"]
            assert run["input"]["data"]["amount"] == 500

    return check


# ----------------------------------------------------------------------------- manual and spec.triggers

MANUAL = ECHO + "    - {type: manual, name: by-hand}\n    - {type: manual, name: off, enabled: false}\n"


@group()
def manual(h: Harness) -> Seen:
    workflow = h.put("manual", MANUAL)
    tick(datetime.now(UTC) + timedelta(days=400))  # a year on: nothing starts it
    listed = {trigger["name"]: trigger for trigger in _triggers(h, workflow)}
    runs = len(_runs(workflow))
    by_hand = h.run(workflow, {"n": 1})  # but the API does
    return {"manual": {"trigger": listed["by-hand"], "disabled": listed["off"], "runs": runs, "by_hand": by_hand}}


def check_manual(seen: Seen) -> None:
    manual_ = seen["manual"]
    assert manual_["trigger"]["type"] == "manual" and manual_["trigger"]["schedule"] is None
    assert manual_["trigger"]["webhook"] is None
    assert manual_["runs"] == 0
    assert manual_["by_hand"]["status"] == "succeeded"


def check_spec_triggers(seen: Seen) -> None:
    check_manual(seen)


SCENARIOS: dict[str, Scenario] = {
    "spec.triggers": Scenario(manual, check_spec_triggers),
    "trigger.cron": Scenario(schedules, check_cron),
    "trigger.cron.schedule": Scenario(schedules, check_cron_schedule),
    "trigger.cron.timezone": Scenario(schedules, check_cron_timezone),
    "trigger.cron.input": Scenario(schedules, check_cron_input),
    "trigger.cron.missed": Scenario(schedules, check_missed("cron", None)),
    "trigger.cron.missed=run_once": Scenario(schedules, check_missed("cron", "run_once")),
    "trigger.cron.missed=skip": Scenario(schedules, check_missed("cron", "skip")),
    "trigger.interval": Scenario(schedules, check_interval),
    "trigger.interval.every": Scenario(schedules, check_interval_every),
    "trigger.interval.input": Scenario(schedules, check_interval_input),
    "trigger.interval.missed": Scenario(schedules, check_missed("interval", None)),
    "trigger.interval.missed=run_once": Scenario(schedules, check_missed("interval", "run_once")),
    "trigger.interval.missed=skip": Scenario(schedules, check_missed("interval", "skip")),
    "trigger.webhook": Scenario(webhooks, check_webhook),
    "trigger.webhook.mode": Scenario(webhooks, check_webhook_mode(None)),
    "trigger.webhook.mode=async": Scenario(webhooks, check_webhook_mode("async")),
    "trigger.webhook.mode=sync": Scenario(webhooks, check_webhook_mode("sync")),
    "trigger.webhook.input": Scenario(webhooks, check_webhook_input(None)),
    "trigger.webhook.input=body": Scenario(webhooks, check_webhook_input("body")),
    "trigger.webhook.input=request": Scenario(webhooks, check_webhook_input("request")),
    "trigger.webhook.timeout": Scenario(webhooks, check_webhook_timeout),
    "trigger.event": Scenario(events, check_event),
    "trigger.event.event": Scenario(events, check_event_event),
    "trigger.event.source": Scenario(events, check_event_source),
    "trigger.event.filter": Scenario(events, check_event_filter),
    "trigger.event.input": Scenario(events, check_event_input(None)),
    "trigger.event.input=data": Scenario(events, check_event_input("data")),
    "trigger.event.input=event": Scenario(events, check_event_input("event")),
    "trigger.manual": Scenario(manual, check_manual),
    **{f"trigger.{kind}.name": Scenario({"cron": schedules, "interval": schedules, "webhook": webhooks,
                                         "event": events, "manual": manual}[kind], check_name(kind))
       for kind in ("cron", "interval", "webhook", "event", "manual")},
    **{f"trigger.{kind}.enabled": Scenario({"cron": schedules, "interval": schedules, "webhook": webhooks,
                                            "event": events, "manual": manual}[kind], check_enabled(kind))
       for kind in ("cron", "interval", "webhook", "event", "manual")},
}

# Defects reported to the lead: their tests are expected to fail, strictly (see conformance.cases).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(("name", "dispatcher"), list(cases(SCENARIOS, "triggers", KNOWN)))
def test_the_runtime_keeps_the_promise(name: str, dispatcher: str, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, missing(name)
    scenario.check(observe(request, scenario.group, dispatcher))
