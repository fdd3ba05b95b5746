"""Alert rules: evaluated by the schedule tick, firing and resolving into a real local webhook
receiver (signed, as every outbound webhook), a Slack-compatible one and email; their figures
exact on known executions; written and read through the API within the tenant."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from monitoring.models import AlertFiring, AlertNotification, AlertRule, MetricObservation, MetricSeries
from monitoring.services.alerts.evaluation import do_evaluate_rule
from tests.conftest import ClientFor
from tests.monitoring.conftest import MakeExecution
from tests.triggers.conftest import Store, doc, finished
from tests.triggers.outbound import FAILING, run, subscribe
from tests.triggers.receiver import Receiver, verify
from triggers.outbound import EmbeddedSender
from triggers.services.schedules import tick
from workflows.models import Role, Tenant, Workflow

Rules = Callable[..., dict[str, Any]]


@pytest.fixture
def rule(editor: APIClient) -> Rules:
    def create(condition: str, name: str = "watch", **more: Any) -> dict[str, Any]:
        answer = editor.post("/api/v1/alerts/rules", {"name": name, "condition": condition, **more}, format="json")
        assert answer.status_code == 201, answer.json()
        return answer.json()

    return create


def until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"never reached: {value}"
        time.sleep(0.05)


def test_an_alert_fires_into_a_local_webhook_server_and_resolves(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, editor: APIClient,
        rule: Rules, settings: Any) -> None:
    """GIVEN a rule `execution failed` telling a signed webhook, a Slack-compatible webhook and an
    email address WHEN a run fails and the schedule tick comes THEN each is told once that it
    fires; WHEN the failure leaves the window THEN the webhook is told it resolved."""
    store(doc("breaks", FAILING))
    hook = subscribe(admin_client, f"{receiver.url}/alerts", ["alert.firing", "alert.resolved"])
    slack = subscribe(admin_client, f"{receiver.url}/slack", ["alert.firing"])
    created = rule("execution failed over 5m", name="breaks failing", workflow="breaks", severity="critical",
                   channels=[{"type": "webhook", "webhook": hook["id"]}, {"type": "slack", "webhook": slack["id"]},
                             {"type": "email", "to": ["ops@example.com"]}])
    assert (created["state"], created["workflow"]["name"], created["evaluated_at"]) == ("ok", "breaks", None)

    tick()  # nothing failed yet
    assert editor.get(f"/api/v1/alerts/rules/{created['id']}").json()["state"] == "ok"
    failed = run(admin_client, "breaks")
    finished(failed["id"])
    later = timezone.now() + timedelta(seconds=settings.MBFLOW_ALERT_EVALUATION_SECONDS)
    tick(later)

    [call] = receiver.wait_for(1, "/alerts")
    assert verify(call.headers["x-mbflow-signature"], hook["secret"], call.body, time.time())
    assert call.headers["x-mbflow-event"] == "alert.firing"
    body = json.loads(call.body)
    alert = body["alert"]
    assert (body["event"], body["tenant"], alert["status"], alert["severity"]) == ("alert.firing", "acme", "firing",
                                                                                  "critical")
    assert (alert["rule"]["name"], alert["workflow"]["name"], alert["value"]) == ("breaks failing", "breaks", 1.0)
    assert alert["message"] == "1 execution(s) failed in the last 5m"
    assert [execution["id"] for execution in alert["details"]["executions"]] == [failed["id"]]
    [message] = receiver.wait_for(1, "/slack")
    slack_body = json.loads(message.body)
    assert slack_body["text"] == "[FIRING CRITICAL] breaks failing (breaks): 1 execution(s) failed in the last 5m"
    assert slack_body["attachments"][0]["color"] == "#d0021b"
    until(lambda: len(mail.outbox), lambda count: count == 1)
    assert mail.outbox[0].to == ["ops@example.com"]
    assert mail.outbox[0].subject.startswith("[MBFlow] [FIRING CRITICAL] breaks failing (breaks)")

    firings = until(lambda: editor.get("/api/v1/alerts/firings").json()["results"],
                    lambda found: all(n["status"] == "sent" for n in found[0]["notifications"]))
    [firing] = firings
    assert (firing["status"], firing["rule"]["id"], firing["value"]) == ("firing", created["id"], 1.0)
    assert sorted((n["channel"], n["event"]) for n in firing["notifications"]) == [
        ("email", "firing"), ("slack", "firing"), ("webhook", "firing")]
    assert editor.get(f"/api/v1/alerts/rules/{created['id']}").json()["state"] == "firing"
    deliveries = admin_client.get("/api/v1/webhooks/deliveries", {"event": "alert.firing"}).json()["results"]
    assert {(d["execution_id"], d["event_id"]) for d in deliveries} == {
        (None, f"alert:{firing['id']}:0:1"), (None, f"alert:{firing['id']}:1:1")}

    # Still failing at the next evaluation: no second firing, nobody told again.
    tick(later + timedelta(seconds=settings.MBFLOW_ALERT_EVALUATION_SECONDS))
    assert AlertFiring.objects.count() == 1 and AlertNotification.objects.count() == 3

    tick(later + timedelta(minutes=6))  # the failure is out of the window
    [_, resolved] = receiver.wait_for(2, "/alerts")
    body = json.loads(resolved.body)
    assert (body["event"], body["alert"]["status"], body["alert"]["id"]) == ("alert.resolved", "resolved", firing["id"])
    assert body["alert"]["resolved_at"] is not None
    assert len(receiver.wait_for(1, "/slack")) == 1  # the Slack webhook asked for firings only
    shown = editor.get(f"/api/v1/alerts/firings/{firing['id']}").json()
    assert shown["status"] == "resolved" and shown["resolved_at"]
    assert editor.get(f"/api/v1/alerts/rules/{created['id']}").json()["state"] == "ok"
    until(lambda: len(mail.outbox), lambda count: count == 2)
    assert mail.outbox[1].subject.startswith("[MBFlow] [RESOLVED] breaks failing")


@pytest.fixture
def orders(tenant: Tenant) -> Workflow:
    return Workflow.objects.create(tenant=tenant, name="orders")


def test_figures_over_the_window_decide_exactly(db: None, tenant: Tenant, orders: Workflow, editor: APIClient,
                                                make_execution: MakeExecution, rule: Rules) -> None:
    """GIVEN executions of known outcomes and durations in the last 15 minutes (and older ones)
    THEN each rule reads exactly their figures, and holds or not by them."""
    now = timezone.now()
    for minutes_ago, status, seconds in ((1, "succeeded", 10), (2, "succeeded", 20), (3, "failed", 30),
                                         (4, "succeeded", 100), (20, "failed", 5)):
        make_execution(tenant, orders, now - timedelta(minutes=minutes_ago), status, seconds)
    make_execution(tenant, orders, now - timedelta(minutes=30), "running")
    other = Workflow.objects.create(tenant=tenant, name="other")
    make_execution(tenant, other, now - timedelta(minutes=1), "failed", 1)

    def check(condition: str, **more: Any) -> dict[str, Any]:
        created = rule(condition, name=condition, **more)
        answer = editor.get(f"/api/v1/alerts/rules/{created['id']}/check")
        assert answer.status_code == 200, answer.json()
        return answer.json()

    rate = check("failure_rate > 20% over 15m", workflow="orders")
    assert (rate["holds"], rate["value"]) == (True, 0.25)
    assert rate["message"] == "failure_rate = 0.25 over the last 15m"
    assert check("failure_rate > 0.25", workflow="orders")["holds"] is False  # 15m by default
    everywhere = check("failure_count >= 2 over 15m")  # both workflows
    assert (everywhere["holds"], everywhere["value"]) == (True, 2.0)
    # p95 of 10, 20, 30, 100 s: 30 + (100 - 30) * 0.85 = 89.5 s.
    slow = check("p95_duration > 60s over 15m", workflow="orders")
    assert (slow["holds"], slow["value"]) == (True, 89.5)
    assert check("p95_duration > 1.5m over 15m", workflow="orders")["holds"] is False
    assert check("failure_rate > 0 over 1h", workflow="other")["value"] == 1.0
    empty = check("failure_rate > 0.1 over 30s", workflow="orders")  # nothing ended in the window
    assert (empty["holds"], empty["value"], empty["message"]) == (False, None, "failure_rate = null (no data) over "
                                                                               "the last 30s")
    stuck = check("running longer than 10m", workflow="orders")
    assert (stuck["holds"], stuck["value"], stuck["details"]["running"]) == (True, 1.0, 1)
    assert check("running longer than 1h", workflow="orders")["holds"] is False
    assert check("execution failed over 5m", workflow="orders")["value"] == 1.0


def test_a_business_metric_condition_reads_the_window(db: None, tenant: Tenant, orders: Workflow, editor: APIClient,
                                                      rule: Rules) -> None:
    now = timezone.now()
    series = MetricSeries.objects.create(tenant=tenant, workflow=orders, metric="order_value", type="counter",
                                         labels="{}")
    for minutes_ago, amount in ((5, 30.0), (10, 40.0), (90, 1000.0)):
        MetricObservation.objects.create(series=series, execution_id=Execution.objects.create(tenant=tenant).pk,
                                         seq=1, value=amount, time=now - timedelta(minutes=minutes_ago))
    low = rule("sum(order_value) < 100 over 1h", name="low", workflow="orders")
    found = editor.get(f"/api/v1/alerts/rules/{low['id']}/check").json()
    assert (found["holds"], found["value"]) == (True, 70.0)
    assert found["details"]["metrics"]["order_value"]["count"] == 2
    bare = rule("order_value >= 70 and avg(order_value) == 35 over 1h", name="bare", workflow="orders")
    assert editor.get(f"/api/v1/alerts/rules/{bare['id']}/check").json()["holds"] is True
    day = rule("max(order_value) > 500 over 1d", name="day")
    assert editor.get(f"/api/v1/alerts/rules/{day['id']}/check").json()["holds"] is True


def test_one_evaluation_per_due_time_however_many_tick(db: None, tenant: Tenant, orders: Workflow,
                                                       make_execution: MakeExecution, rule: Rules,
                                                       settings: Any) -> None:
    make_execution(tenant, orders, timezone.now() - timedelta(minutes=1), "failed", 1)
    created = rule("execution failed", workflow="orders")
    now = timezone.now()
    first, second = do_evaluate_rule(created["id"], now), do_evaluate_rule(created["id"], now)
    assert first is not None and first.holds and second is None
    assert AlertFiring.objects.filter(status="firing").count() == 1
    again = now + timedelta(seconds=settings.MBFLOW_ALERT_EVALUATION_SECONDS)
    assert do_evaluate_rule(created["id"], again) is not None
    assert AlertFiring.objects.count() == 1


def test_a_rule_changed_or_disabled_while_firing_resolves(db: None, tenant: Tenant, orders: Workflow,
                                                          make_execution: MakeExecution, rule: Rules,
                                                          editor: APIClient) -> None:
    make_execution(tenant, orders, timezone.now() - timedelta(minutes=1), "failed", 1)
    created = rule("execution failed", workflow="orders")
    tick(timezone.now())
    assert AlertRule.objects.get(pk=created["id"]).state == "firing"
    changed = editor.patch(f"/api/v1/alerts/rules/{created['id']}", {"enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["state"] == "ok"
    firing = AlertFiring.objects.get()
    assert (firing.status, firing.details["resolved"]) == ("resolved", "the rule was disabled")
    tick(timezone.now() + timedelta(hours=1))  # disabled: not evaluated
    assert AlertFiring.objects.count() == 1 and AlertRule.objects.get(pk=created["id"]).state == "ok"


def test_rules_are_checked_when_written(db: None, tenant: Tenant, orders: Workflow, editor: APIClient,
                                        admin_client: APIClient, viewer: APIClient, rule: Rules) -> None:
    def refused(body: dict[str, Any], field: str, words: str) -> None:
        answer = editor.post("/api/v1/alerts/rules", {"name": "r", "condition": "failure_rate > 0.1", **body},
                             format="json")
        assert answer.status_code == 400, answer.json()
        error = answer.json()["error"]
        assert field in error["details"]["fields"], error
        assert words in " ".join(error["details"]["fields"][field]), error

    refused({"condition": "failure_rate >"}, "condition", "syntax")
    refused({"condition": "orders_per_hour > 3"}, "condition", "`orders_per_hour` is neither a figure")
    refused({"condition": "failure_rate > 0.1 over soon"}, "condition", "not a duration")
    refused({"condition": "running longer than 90d"}, "condition", "at most 31d")
    refused({"severity": "dire"}, "severity", "")
    refused({"channels": [{"type": "email", "to": ["not an address"]}]}, "channels", "is not an email address")
    refused({"channels": [{"type": "pager", "to": "x"}]}, "channels", "")
    quiet = subscribe(admin_client, "http://127.0.0.1:9/", ["execution.failed"])
    refused({"channels": [{"type": "webhook", "webhook": quiet["id"]}]}, "channels", "does not ask for alert.firing")
    assert editor.post("/api/v1/alerts/rules", {"name": "r", "condition": "failure_rate > 0.1", "workflow": "nowhere"},
                       format="json").status_code == 404
    rule("failure_rate > 0.1", name="taken")
    taken = editor.post("/api/v1/alerts/rules", {"name": "taken", "condition": "failure_rate > 0.1"}, format="json")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "name_taken")
    assert viewer.post("/api/v1/alerts/rules", {"name": "v", "condition": "failure_rate > 0.1"},
                       format="json").status_code == 403
    assert viewer.get("/api/v1/alerts/rules").json()["count"] == 1
    assert editor.patch("/api/v1/alerts/rules/" + AlertRule.objects.get().pk.hex,
                        {"condition": "nonsense >"}, format="json").status_code == 400


def test_tenants_see_only_their_rules_and_firings(db: None, tenant: Tenant, orders: Workflow, editor: APIClient,
                                                  outsider: APIClient, api_client_for: ClientFor,
                                                  make_execution: MakeExecution, rule: Rules) -> None:
    make_execution(tenant, orders, timezone.now() - timedelta(minutes=1), "failed", 1)
    mine = rule("execution failed", workflow="orders")
    tick(timezone.now())
    [firing] = editor.get("/api/v1/alerts/firings", {"status": "firing"}).json()["results"]
    assert outsider.get(f"/api/v1/alerts/rules/{mine['id']}").status_code == 404
    assert outsider.get(f"/api/v1/alerts/firings/{firing['id']}").status_code == 404
    assert outsider.patch(f"/api/v1/alerts/rules/{mine['id']}", {"enabled": False}, format="json").status_code == 404
    assert outsider.delete(f"/api/v1/alerts/rules/{mine['id']}").status_code == 404
    assert outsider.get("/api/v1/alerts/rules").json()["count"] == 0
    assert outsider.get("/api/v1/alerts/firings").json()["count"] == 0
    # Their own workflow named alike is theirs; ours cannot be watched from there.
    refused = outsider.post("/api/v1/alerts/rules", {"name": "x", "condition": "execution failed",
                                                     "workflow": "orders"}, format="json")
    assert refused.status_code == 404
    assert editor.get("/api/v1/alerts/firings", {"status": "later"}).json()["error"]["details"]["fields"]["status"]
    assert editor.delete(f"/api/v1/alerts/rules/{mine['id']}").status_code == 204
    assert AlertFiring.objects.count() == 0
    assert api_client_for(Role.VIEWER, tenant).get("/api/v1/alerts/firings").json()["count"] == 0
