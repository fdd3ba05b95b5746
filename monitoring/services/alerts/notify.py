"""Telling a rule's channels that it fired or resolved.

- ``webhook``: the firing as JSON (``alert.firing`` / ``alert.resolved``), and ``slack``: a
  Slack-compatible message (``text`` and a coloured attachment, which Slack, Mattermost and
  Rocket.Chat incoming webhooks take), both to an outbound webhook of the tenant
  (``/api/v1/webhooks``) that asks for that event: recorded as its deliveries, so they are sent,
  signed, retried and listed as every delivery is (``triggers.services.deliveries``).
- ``email``: a plain text message through Django's mail backend (``EMAIL_*`` settings), sent by
  a thread of the process that evaluated the rule, retried with backoff
  (``EMAIL_ATTEMPTS`` attempts); a process that died leaves it due, and the next tick sends it.

``notify`` runs inside the evaluation's transaction: the notices are recorded with the firing,
and handed on once it commits.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.utils import timezone

from mbflow_site.formats import iso_time
from monitoring.models import AlertFiring, AlertNotification, AlertRule, FiringStatus, NotificationStatus, Severity
from triggers.models import WebhookSubscription
from triggers.services.deliveries import do_record_notice, hand_on

logger = logging.getLogger(__name__)

EMAIL_ATTEMPTS = 5
EMAIL_RETRY_SECONDS = 30
COLORS = {Severity.INFO: "#2f80ed", Severity.WARNING: "#f2994a", Severity.CRITICAL: "#d0021b"}
RESOLVED_COLOR = "#27ae60"


def _url() -> str:
    return f"{settings.MBFLOW_PUBLIC_URL}/dashboard"


def alert_data(firing: AlertFiring, rule: AlertRule) -> dict[str, Any]:
    workflow = rule.workflow
    return {
        "id": str(firing.pk), "status": firing.status, "severity": firing.severity,
        "rule": {"id": str(rule.pk), "name": rule.name},
        "workflow": {"id": str(workflow.pk), "name": workflow.name} if workflow is not None else None,
        "condition": firing.condition, "value": firing.value, "last_value": firing.last_value,
        "message": firing.message, "details": firing.details, "started_at": iso_time(firing.started_at),
        "resolved_at": iso_time(firing.resolved_at), "url": _url(),
    }


def webhook_body(firing: AlertFiring, rule: AlertRule, event: str, subject: str, seq: int) -> dict[str, Any]:
    return {"event": f"alert.{event}", "event_id": f"{subject}:{seq}", "time": iso_time(timezone.now()),
            "tenant": rule.tenant.slug, "alert": alert_data(firing, rule)}


def headline(firing: AlertFiring, rule: AlertRule, event: str) -> str:
    state = "RESOLVED" if event == FiringStatus.RESOLVED else f"FIRING {firing.severity.upper()}"
    scope = f" ({rule.workflow.name})" if rule.workflow is not None else ""
    return f"[{state}] {rule.name}{scope}: {firing.message}"


def slack_body(firing: AlertFiring, rule: AlertRule, event: str) -> dict[str, Any]:
    color = RESOLVED_COLOR if event == FiringStatus.RESOLVED else COLORS.get(firing.severity, COLORS["warning"])
    fields = [{"title": "Condition", "value": firing.condition, "short": False},
              {"title": "Severity", "value": firing.severity, "short": True},
              {"title": "Since", "value": iso_time(firing.started_at), "short": True}]
    if rule.workflow is not None:
        fields.append({"title": "Workflow", "value": rule.workflow.name, "short": True})
    return {"text": headline(firing, rule, event),
            "attachments": [{"color": color, "title": rule.name, "title_link": _url(), "text": firing.message,
                             "fields": fields, "footer": "MBFlow alerts"}]}


def notify(firing: AlertFiring, rule: AlertRule, event: str) -> None:
    """Records what each of the rule's channels is owed for ``event`` (firing or resolved)."""
    seq = 1 if event == FiringStatus.FIRING else 2
    deliveries: list[Any] = []
    emails = False
    now = timezone.now()
    for index, channel in enumerate(rule.channels):
        kind = channel.get("type")
        if kind in ("webhook", "slack"):
            if not _asks_for(rule, channel.get("webhook"), f"alert.{event}"):
                continue  # a webhook may take the firing and not the resolution: its choice
            subject = f"alert:{firing.pk}:{index}"
            body = webhook_body(firing, rule, event, subject, seq) if kind == "webhook" else slack_body(
                firing, rule, event)
            delivery = do_record_notice(rule.tenant_id, channel.get("webhook"), f"alert.{event}", subject, seq, body,
                                        workflow_id=rule.workflow_id)
            AlertNotification.objects.create(
                firing=firing, event=event, channel=kind, target=str(channel.get("webhook")), delivery_id=delivery,
                status=NotificationStatus.PENDING if delivery else NotificationStatus.FAILED,
                error="" if delivery else "The webhook is disabled, or no longer hears of this workflow.")
            if delivery is not None:
                deliveries.append(delivery)
        elif kind == "email":
            AlertNotification.objects.create(firing=firing, event=event, channel="email",
                                             target=", ".join(channel.get("to") or []), next_attempt_at=now)
            emails = True
    if deliveries:
        transaction.on_commit(lambda: hand_on(deliveries))
    if emails:
        transaction.on_commit(send_emails_soon)


def _asks_for(rule: AlertRule, subscription_id: Any, event: str) -> bool:
    """Whether the webhook (if it still exists) lists ``event``; one that is gone asks for all,
    so that its notice is recorded as failed."""
    events = (WebhookSubscription.objects.filter(tenant_id=rule.tenant_id, pk=subscription_id)
              .values_list("events", flat=True).first())
    return events is None or event in events


# --- Email -----------------------------------------------------------------------------------------

_sending = threading.Lock()


def emails_due(now: datetime | None = None) -> bool:
    return AlertNotification.objects.filter(channel="email", status=NotificationStatus.PENDING,
                                            next_attempt_at__lte=now or timezone.now()).exists()


def send_emails_soon() -> None:
    """Sends the due emails from a thread (one at a time per process): a slow mail server never
    holds up the tick that evaluates rules and fires schedules."""
    if _sending.locked():
        return
    threading.Thread(target=_send_in_thread, name="mbflow-alert-email", daemon=True).start()


def _send_in_thread() -> None:
    if not _sending.acquire(blocking=False):
        return
    try:
        send_due_emails()
    except Exception:
        logger.exception("Sending alert emails failed")
    finally:
        _sending.release()
        connections.close_all()


def send_due_emails(now: datetime | None = None) -> int:
    """Sends each pending email whose time has come; how many were sent."""
    now = now or timezone.now()
    sent = 0
    due = list(AlertNotification.objects.filter(channel="email", status=NotificationStatus.PENDING,
                                                next_attempt_at__lte=now).values_list("pk", flat=True)[:100])
    for notification_id in due:
        # Whoever moves the due time on sends this attempt: two processes never both do (a
        # sender that dies lets the lease pass, and the email is due again).
        lease = timezone.now() + timedelta(seconds=settings.EMAIL_TIMEOUT + 60)
        if not AlertNotification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING,
                                                next_attempt_at__lte=timezone.now()).update(next_attempt_at=lease):
            continue
        if _send_one(AlertNotification.objects.select_related("firing__rule__workflow").get(pk=notification_id)):
            sent += 1
    return sent


def _send_one(notification: AlertNotification) -> bool:
    firing = notification.firing
    rule = firing.rule
    recipients = [address.strip() for address in notification.target.split(",") if address.strip()]
    text = "\n".join([headline(firing, rule, notification.event), "",
                      f"Condition: {firing.condition}", f"Severity: {firing.severity}",
                      f"Since: {iso_time(firing.started_at)}",
                      *([f"Resolved: {iso_time(firing.resolved_at)}"] if firing.resolved_at else []),
                      f"Workflow: {rule.workflow.name if rule.workflow else 'every workflow'}", "", _url()])
    attempts = notification.attempts + 1
    try:
        send_mail(f"[MBFlow] {headline(firing, rule, notification.event)}"[:250], text, settings.DEFAULT_FROM_EMAIL,
                  recipients, fail_silently=False)
    except Exception as exc:
        failed = attempts >= EMAIL_ATTEMPTS
        AlertNotification.objects.filter(pk=notification.pk).update(
            attempts=attempts, error=f"{type(exc).__name__}: {exc}"[:1000],
            status=NotificationStatus.FAILED if failed else NotificationStatus.PENDING,
            next_attempt_at=None if failed else timezone.now() + timedelta(
                seconds=EMAIL_RETRY_SECONDS * 2 ** (attempts - 1)))
        return False
    AlertNotification.objects.filter(pk=notification.pk).update(
        attempts=attempts, status=NotificationStatus.SENT, sent_at=timezone.now(), next_attempt_at=None, error="")
    return True
