"""Outbound webhooks: runs of the embedded dispatcher notify a real local receiver, signed, with
retries and backoff, each attempt recorded and shown by the API; redelivery by hand; the SSRF
guard at subscription time and at delivery; tenants apart; the sweep sends what a dead process
left pending."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from executions.engine.store import event_of
from executions.models import ExecutionEvent
from tests.conftest import ClientFor
from tests.triggers.conftest import Store, doc, finished
from tests.triggers.outbound import ECHO, FAILING, run, settled, subscribe
from tests.triggers.receiver import Receiver, verify
from triggers.models import WebhookDelivery
from triggers.outbound import EmbeddedSender
from triggers.services.deliveries import do_record_deliveries
from workflows.models import Role, Tenant


def test_a_delivery_that_fails_twice_is_retried_with_backoff_signed_and_recorded(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient) -> None:
    store(doc("greet", ECHO))
    webhook = subscribe(admin_client, f"{receiver.url}/flaky?fail=2&key=greet", ["execution.succeeded"])
    assert webhook["secret"] and webhook["signature_header"] == "X-MBFlow-Signature"
    execution = run(admin_client, "greet", {"name": "Ada"})

    [delivery] = settled(admin_client, 1)
    calls = receiver.wait_for(3)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 3, 200)
    assert [attempt["status_code"] for attempt in delivery["attempt_log"]] == [503, 503, 200]
    assert [attempt["number"] for attempt in delivery["attempt_log"]] == [1, 2, 3]
    assert "try again later" in delivery["attempt_log"][0]["response"]
    assert all(attempt["duration_ms"] >= 0 for attempt in delivery["attempt_log"])
    # Waited the backoff before each retry (0.2 s, then 0.4 s, up to 10% more).
    assert calls[1].at - calls[0].at >= 0.2 and calls[2].at - calls[1].at >= 0.4
    # The same body each time, signed afresh, verifiable with the secret alone.
    assert len({call.body for call in calls}) == 1
    assert all(verify(call.headers["x-mbflow-signature"], webhook["secret"], call.body, time.time())
               for call in calls)
    assert not verify(calls[0].headers["x-mbflow-signature"], "another-secret-entirely", calls[0].body, time.time())
    assert {call.headers["x-mbflow-event"] for call in calls} == {"execution.succeeded"}
    assert {call.headers["x-mbflow-delivery"] for call in calls} == {delivery["id"]}
    body = json.loads(calls[0].body)
    assert body["event"] == "execution.succeeded" and body["tenant"] == "acme"
    assert body["execution"]["id"] == execution["id"] and body["execution"]["status"] == "succeeded"
    assert body["execution"]["workflow"]["name"] == "greet" and body["output"] == {"name": "Ada"}
    assert delivery["event_id"] == body["event_id"] and body["event_id"].startswith(f"{execution['id']}:")
    detail = admin_client.get(f"/api/v1/webhooks/deliveries/{delivery['id']}").json()
    assert detail["body"] == body


def test_each_kind_of_event_reaches_the_webhooks_that_ask_for_it(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient) -> None:
    store(doc("breaks", FAILING))
    store(doc("greet", ECHO))
    store(doc("waits", "  nodes: [{id: pause, type: delay, config: {duration: 30s}}]\n"))
    subscribe(admin_client, f"{receiver.url}/ok", ["execution.started", "execution.failed", "execution.cancelled",
                                            "node.failed"])
    subscribe(admin_client, f"{receiver.url}/only-greet", ["execution.succeeded"], workflow="greet")
    subscribe(admin_client, f"{receiver.url}/only-breaks", ["execution.succeeded", "execution.failed"],
              workflow="breaks")
    broke = run(admin_client, "breaks")
    greeted = run(admin_client, "greet")
    waiting = run(admin_client, "waits")
    deadline = time.monotonic() + 20
    while admin_client.get(f"/api/v1/executions/{waiting['id']}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert admin_client.post(f"/api/v1/executions/{waiting['id']}/cancel").status_code in (200, 202)
    for execution in (broke, greeted, waiting):
        finished(execution["id"])

    delivered = settled(admin_client, 8)
    seen = sorted((d["webhook"]["url"].rsplit("/", 1)[1], d["event"], d["execution_id"]) for d in delivered)
    assert seen == sorted([
        ("ok", "execution.started", broke["id"]), ("ok", "node.failed", broke["id"]),
        ("ok", "execution.failed", broke["id"]), ("ok", "execution.started", greeted["id"]),
        ("ok", "execution.started", waiting["id"]), ("ok", "execution.cancelled", waiting["id"]),
        ("only-greet", "execution.succeeded", greeted["id"]), ("only-breaks", "execution.failed", broke["id"]),
    ])
    assert all(d["status"] == "succeeded" for d in delivered)
    node_failed = json.loads(next(call.body for call in receiver.wait_for(8)
                                  if call.headers["x-mbflow-event"] == "node.failed"))
    assert node_failed["node"]["id"] == "boom" and "it broke" in json.dumps(node_failed["node"]["error"])
    failed = next(d for d in delivered if d["event"] == "execution.failed" and d["webhook"]["url"].endswith("/ok"))
    listed = admin_client.get(f"/api/v1/webhooks/deliveries?event=node.failed,execution.failed&execution={broke['id']}")
    assert listed.json()["count"] == 3
    ok = admin_client.get(f"/api/v1/webhooks/{failed['webhook']['id']}/deliveries?status=succeeded")
    assert ok.json()["count"] == 6


def test_a_delivery_is_redelivered_by_hand_with_the_same_body(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, editor: APIClient) -> None:
    store(doc("greet", ECHO))
    webhook = subscribe(admin_client, f"{receiver.url}/status/500", ["execution.succeeded"])
    run(admin_client, "greet", {"n": 1})
    [failed] = settled(admin_client, 1)
    assert (failed["status"], failed["attempts"]) == ("failed", 4)  # MBFLOW_DELIVERY_MAX_ATTEMPTS
    assert admin_client.patch(f"/api/v1/webhooks/{webhook['id']}", {"url": f"{receiver.url}/ok"},
                       format="json").status_code == 200
    again = editor.post(f"/api/v1/webhooks/deliveries/{failed['id']}/redeliver")
    assert again.status_code == 202, again.json()
    assert (again.json()["redelivery_of"], again.json()["event_id"]) == (failed["id"], failed["event_id"])
    [ok] = receiver.wait_for(1, path="/ok")
    deliveries = {d["id"]: d for d in settled(admin_client, 2)}
    assert deliveries[again.json()["id"]]["status"] == "succeeded"
    assert deliveries[failed["id"]]["status"] == "failed"  # the first stays as it was
    first = receiver.wait_for(4, path="/status/500")[0]
    assert ok.body == first.body and ok.headers["x-mbflow-delivery"] == again.json()["id"]
    assert verify(ok.headers["x-mbflow-signature"], webhook["secret"], ok.body, time.time())
    assert editor.post("/api/v1/webhooks", {"url": f"{receiver.url}/ok", "events": ["execution.started"]},
                       format="json").status_code == 403  # subscriptions are the admins'


def test_tenants_see_and_hear_only_their_own(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, api_client_for: ClientFor,
        other_tenant: Tenant) -> None:
    theirs = api_client_for(Role.ADMIN, other_tenant)
    store(doc("greet", ECHO))
    mine = subscribe(admin_client, f"{receiver.url}/mine", ["execution.succeeded"])
    subscribe(theirs, f"{receiver.url}/theirs", ["execution.succeeded", "execution.started"])
    run(admin_client, "greet")
    [delivery] = settled(admin_client, 1)
    receiver.wait_for(1, path="/mine")
    assert theirs.get("/api/v1/webhooks/deliveries").json()["count"] == 0
    assert [w["url"] for w in theirs.get("/api/v1/webhooks").json()["results"]] == [f"{receiver.url}/theirs"]
    for path in (f"/api/v1/webhooks/{mine['id']}", f"/api/v1/webhooks/deliveries/{delivery['id']}",
                 f"/api/v1/webhooks/{mine['id']}/deliveries"):
        assert theirs.get(path).status_code == 404
    assert theirs.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver").status_code == 404
    assert theirs.patch(f"/api/v1/webhooks/{mine['id']}", {"enabled": False}, format="json").status_code == 404
    assert not [call for call in receiver.calls if call.path == "/theirs"]
    assert WebhookDelivery.objects.filter(tenant=other_tenant).count() == 0


def test_private_addresses_are_refused_when_subscribing_and_when_delivering(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, settings: Any) -> None:
    settings.MBFLOW_HTTP_ALLOW_HOSTS = []
    for url in (f"{receiver.url}/ok", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook",
                "http://[::1]:8080/hook", "http://metadata.google.internal/"):
        refused = admin_client.post("/api/v1/webhooks", {"url": url, "events": ["execution.started"]}, format="json")
        assert refused.status_code == 400, url
        assert (refused.json()["error"]["code"], list(refused.json()["error"]["details"]["fields"])) == (
            "ssrf_blocked", ["url"]), url
    for body, field in (({"url": "ftp://example.com/x", "events": ["execution.started"]}, "url"),
                        ({"url": "https://example.com/x", "events": ["execution.paused"]}, "events"),
                        ({"url": "https://example.com/x", "events": []}, "events"),
                        ({"url": "https://example.com/x", "events": ["node.failed"], "secret": "short"}, "secret")):
        answer = admin_client.post("/api/v1/webhooks", body, format="json")
        assert answer.status_code == 400 and field in answer.json()["error"]["details"]["fields"], answer.json()
    assert admin_client.post("/api/v1/webhooks", {"url": "https://example.com/x", "events": ["node.failed"],
                                           "workflow": "no-such-flow"}, format="json").status_code == 404
    for query, field in (("event=node.failed,node.paused", "event"), ("status=lost", "status"),
                         ("webhook=nope", "webhook"), ("execution=nope", "execution")):
        listed = admin_client.get(f"/api/v1/webhooks/deliveries?{query}")
        assert listed.status_code == 400 and list(listed.json()["error"]["details"]["fields"]) == [field], query

    # Allowed when subscribing, refused by the time it is delivered (the allow-list changed).
    settings.MBFLOW_HTTP_ALLOW_HOSTS = ["127.0.0.1"]
    store(doc("greet", ECHO))
    subscribe(admin_client, f"{receiver.url}/ok", ["execution.succeeded"])
    settings.MBFLOW_HTTP_ALLOW_HOSTS = []
    run(admin_client, "greet")
    [delivery] = settled(admin_client, 1)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 1, None)
    assert delivery["attempt_log"][0]["error"].startswith("ssrf_blocked")
    assert receiver.calls == []


def test_the_sweep_sends_what_a_process_that_died_left_pending(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, tenant: Tenant) -> None:
    """GIVEN deliveries recorded as the listener records them, by a process that died before
    sending them (one never handed on, one claimed and left mid-attempt, its lease run out)
    WHEN the sweep runs
    THEN both are sent, once each."""
    store(doc("greet", ECHO))
    execution = finished(run(admin_client, "greet")["id"])
    subscribe(admin_client, f"{receiver.url}/ok", ["execution.started", "execution.succeeded"])
    events = [event_of(row) for row in ExecutionEvent.objects.filter(execution=execution).order_by("seq")]
    recorded = do_record_deliveries(tenant.pk, execution.pk, events)
    assert len(recorded) == 2 and receiver.calls == []
    assert do_record_deliveries(tenant.pk, execution.pk, events) and WebhookDelivery.objects.count() == 2  # once
    started, succeeded = WebhookDelivery.objects.order_by("seq")
    long_ago = timezone.now() - timedelta(minutes=5)
    WebhookDelivery.objects.filter(pk=started.pk).update(next_attempt_at=long_ago)  # never handed on
    WebhookDelivery.objects.filter(pk=succeeded.pk).update(next_attempt_at=long_ago + timedelta(minutes=4))  # lease
    assert outbox.sweep() == 2
    calls = receiver.wait_for(2)
    assert sorted(call.headers["x-mbflow-event"] for call in calls) == ["execution.started", "execution.succeeded"]
    assert {d["status"] for d in settled(admin_client, 2)} == {"succeeded"}
    assert outbox.sweep() == 0
    assert len(receiver.calls) == 2
