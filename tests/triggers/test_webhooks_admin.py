"""The admin's outbound webhook pages: subscriptions and deliveries with their attempts, turning a
webhook off, and redelivering by hand."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.triggers.conftest import Store, doc, finished
from tests.triggers.outbound import ECHO, run, settled, subscribe
from tests.triggers.receiver import Receiver
from triggers.models import WebhookDelivery, WebhookSubscription
from triggers.outbound import EmbeddedSender


def test_an_admin_sees_deliveries_and_their_attempts_and_redelivers(
        outbox: EmbeddedSender, receiver: Receiver, store: Store, admin_client: APIClient, db: Any) -> None:
    store(doc("greet", ECHO))
    webhook = subscribe(admin_client, f"{receiver.url}/flaky?fail=1&key=admin", ["execution.succeeded"])
    run(admin_client, "greet")
    [delivery] = settled(admin_client, 1)
    site = Client()
    site.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = site.get("/admin/triggers/webhookdelivery/")
    assert listed.status_code == 200 and b"execution.succeeded" in listed.content
    page = site.get(f"/admin/triggers/webhookdelivery/{delivery['id']}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert b"503" in page.content and b"try again later" in page.content  # the first attempt, recorded
    assert site.get("/admin/triggers/webhooksubscription/").status_code == 200

    sent = site.post("/admin/triggers/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery["id"]]})
    assert sent.status_code == 302
    again = WebhookDelivery.objects.get(redelivery_of_id=delivery["id"])
    receiver.wait_for(3, path="/flaky")  # 503, 200, and the redelivery
    assert {d["status"] for d in settled(admin_client, 2)} == {"succeeded"} and again.body

    off = site.post("/admin/triggers/webhooksubscription/", {"action": "disable", "_selected_action": [webhook["id"]]})
    assert off.status_code == 302 and not WebhookSubscription.objects.get(pk=webhook["id"]).enabled
    finished(run(admin_client, "greet")["id"])
    assert admin_client.get("/api/v1/webhooks").json()["results"][0]["enabled"] is False
    assert WebhookDelivery.objects.count() == 2  # a disabled webhook hears of nothing
