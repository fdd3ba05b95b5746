"""The `triggers:` keys: what validates is what runs, and what does not run is refused."""

from __future__ import annotations

import pytest

from workflows.spec import load_document, validate_document

HEAD = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: demo}
spec:
  nodes: [{id: a, type: noop}]
  triggers:
"""


def problems(triggers: str) -> list[tuple[str, str, int | None]]:
    report = validate_document(load_document(HEAD + triggers))
    return [(issue.code, issue.message, issue.line) for issue in report.errors]


def test_every_documented_key_validates() -> None:
    report = validate_document(load_document(HEAD + """\
    - {type: cron, name: mornings, schedule: "0 9 * * 1-5", timezone: Europe/Paris, input: {x: 1}, missed: run_once}
    - {type: interval, every: 90s, input: {}, missed: skip, enabled: false}
    - {type: webhook, mode: sync, input: request, timeout: 10s}
    - {type: event, event: order.created, source: shop, filter: "{{ event.data.amount > 100 }}", input: event}
    - {type: event, event: user.created, filter: {verified: true, plan.tier: gold}}
    - {type: manual}
"""))
    assert report.valid, report.errors
    cron, interval, webhook, event, mapping, _ = report.spec.spec.triggers
    assert (cron.timezone, cron.missed) == ("Europe/Paris", "run_once")
    assert interval.every == 90.0 and not interval.enabled
    assert (webhook.mode, webhook.input, webhook.timeout) == ("sync", "request", 10.0)
    assert event.input == "event" and mapping.filter == {"verified": True, "plan.tier": "gold"}


@pytest.mark.parametrize(("trigger", "field", "says"), [
    ('{type: cron, schedule: "* * * * * *"}', "schedule", "5-field"),
    ('{type: cron, schedule: "61 * * * *"}', "schedule", "5-field"),
    ('{type: cron, schedule: "0 9 * * *", timezone: Mars/Olympus}', "timezone", "unknown time zone"),
    ('{type: cron, schedule: "0 9 * * *", missed: all}', "missed", "skip"),
    ("{type: interval, every: 500ms}", "every", "greater than or equal to 1"),
    ("{type: webhook, mode: later}", "mode", "async"),
    ("{type: webhook, timeout: 10m}", "timeout", "300"),
    ("{type: webhook, secret: abc}", "secret", "Unknown field"),
    ('{type: event, event: "order created"}', "event", "pattern"),
    ('{type: event, event: x, filter: "amount > 1"}', "filter", "expression in `{{ }}`"),
    ('{type: event, event: x, filter: "{{ event.data.amount > }}"}', "filter", "syntax"),
    ("{type: event, event: x, input: body}", "input", "data"),
    ("{type: manual, schedule: x}", "schedule", "Unknown field"),
    ("{type: email}", "type", "triggers.0"),
])
def test_a_bad_trigger_key_is_an_error_on_its_line(trigger: str, field: str, says: str) -> None:
    found = problems(f"    - {trigger}\n")
    assert found, f"{trigger} validated"
    code, message, line = found[0]
    assert code in ("invalid_value", "unknown_field") and line == 7
    assert says in message, message


def test_two_triggers_of_one_name_are_refused_at_the_second() -> None:
    found = problems('    - {type: webhook, name: intake}\n    - {type: cron, name: intake, schedule: "* * * * *"}\n')
    assert found == [("duplicate_trigger_name", "Two triggers are named `intake`; give each its own name.", 8)]
