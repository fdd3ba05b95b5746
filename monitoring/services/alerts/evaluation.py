"""Evaluating alert rules: run by the schedule tick (``triggers``' tick signal, sent by Celery
beat's task or the embedded server's timer; see ``monitoring.apps``), each rule every
``MBFLOW_ALERT_EVALUATION_SECONDS``.

A rule is evaluated by whoever moves its ``next_evaluation_at`` on (a conditional UPDATE), in the
same transaction that records what it found: several processes ticking at once evaluate each
rule once. A rule whose condition holds while it is ``ok`` fires (an ``AlertFiring`` opens and its
channels are told); one that no longer holds while firing resolves. A condition that cannot be
decided (a business metric no longer declared, an expression error) leaves the state as it is
and says why in ``last_error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mbflow_site.formats import iso_time
from monitoring.models import AlertFiring, AlertRule, AlertState, FiringStatus
from monitoring.services.alerts import figures
from monitoring.services.alerts.conditions import ConditionError, parse_condition
from monitoring.services.alerts.conditions import decide as decide_expression
from monitoring.services.alerts.notify import emails_due, notify, send_emails_soon
from monitoring.services.business import purge_observations
from workflows.spec.expressions import ExpressionError

logger = logging.getLogger(__name__)

BATCH = 200
SHOWN = 20


@dataclass
class Outcome:
    holds: bool | None  # None: could not decide
    value: float | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def _spell(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def check_rule(rule: AlertRule, now: datetime) -> Outcome:
    """What the rule's condition finds now (no state changes)."""
    try:
        condition = parse_condition(rule.condition)
    except ConditionError as exc:
        return Outcome(None, error=str(exc))
    start = now - timedelta(seconds=condition.window)
    if condition.kind == "failed":
        failed = figures.failed_within(rule.tenant, rule.workflow, start)
        shown = [{"id": str(row["id"]), "workflow": row["workflow__name"], "finished_at": iso_time(row["finished_at"]),
                  "error": row["error"]} for row in failed[:SHOWN]]
        return Outcome(bool(failed), float(len(failed)),
                       f"{len(failed)} execution(s) failed in the last {_spell(condition.window)}",
                       {"failed": len(failed), "executions": shown})
    if condition.kind == "running":
        stuck = figures.not_ended_since(rule.tenant, rule.workflow, now - timedelta(seconds=condition.window))
        shown = [{"id": str(row["id"]), "workflow": row["workflow__name"], "created_at": iso_time(row["created_at"]),
                  "status": row["status"]} for row in stuck[:SHOWN]]
        return Outcome(bool(stuck), float(len(stuck)),
                       f"{len(stuck)} execution(s) running longer than {_spell(condition.window)}",
                       {"running": len(stuck), "executions": shown})
    execution_figures = figures.execution_window(rule.tenant, rule.workflow, start, now) if condition.figures else {}
    metric_figures = figures.metric_window(rule.tenant, rule.workflow, condition.metrics, start, now)
    try:
        verdict = decide_expression(condition, execution_figures, metric_figures)
    except ExpressionError as exc:
        return Outcome(None, error=exc.message)
    return Outcome(verdict.holds, verdict.value, f"{verdict.shown} over the last {_spell(condition.window)}",
                   {"figures": {name: execution_figures.get(name) for name in condition.figures},
                    "metrics": {name: metric_figures[name] for name in condition.metrics}})


def do_evaluate_rule(rule_id: Any, now: datetime | None = None) -> Outcome | None:
    """Evaluates the rule if it is due and this caller claims it; what it found (None: not claimed)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Whoever moves the due time on evaluates: of several ticks at once, one does.
        interval = timedelta(seconds=settings.MBFLOW_ALERT_EVALUATION_SECONDS)
        if not AlertRule.objects.filter(pk=rule_id, enabled=True, next_evaluation_at__lte=now).update(
                next_evaluation_at=now + interval):
            return None
        rule = AlertRule.objects.select_related("tenant", "workflow").get(pk=rule_id)
        outcome = check_rule(rule, now)
        rule.evaluated_at, rule.last_error = now, outcome.error
        if outcome.holds is not None:
            rule.value = outcome.value
            _change_state(rule, outcome, now)
        rule.save(update_fields=["evaluated_at", "last_error", "value", "state", "updated_at"])
    return outcome


def _change_state(rule: AlertRule, outcome: Outcome, now: datetime) -> None:
    open_firing = AlertFiring.objects.select_for_update().filter(rule=rule, status=FiringStatus.FIRING).first()
    if outcome.holds and open_firing is None:
        firing = AlertFiring.objects.create(rule=rule, tenant_id=rule.tenant_id, severity=rule.severity,
                                            condition=rule.condition, value=outcome.value, last_value=outcome.value,
                                            message=outcome.message, details=outcome.details, started_at=now)
        rule.state = AlertState.FIRING
        notify(firing, rule, FiringStatus.FIRING)
    elif outcome.holds and open_firing is not None:
        open_firing.last_value = outcome.value
        open_firing.save(update_fields=["last_value"])
        rule.state = AlertState.FIRING
    elif not outcome.holds and open_firing is not None:
        resolve(open_firing, rule, now, outcome.value, outcome.message)
    else:
        rule.state = AlertState.OK


def resolve(firing: AlertFiring, rule: AlertRule, now: datetime, value: float | None, message: str) -> None:
    """Ends a firing (inside the caller's transaction) and tells the rule's channels."""
    firing.status, firing.resolved_at, firing.last_value = FiringStatus.RESOLVED, now, value
    firing.details = {**firing.details, "resolved": message}
    firing.save(update_fields=["status", "resolved_at", "last_value", "details"])
    rule.state = AlertState.OK
    notify(firing, rule, FiringStatus.RESOLVED)


def evaluate_due(now: datetime | None = None, **_: Any) -> int:
    """The tick's work for alerts: the rules that are due, the emails that are due, and the
    observations past their keeping time. How many rules it evaluated."""
    now = now or timezone.now()
    evaluated = 0
    due = list(AlertRule.objects.filter(enabled=True, next_evaluation_at__lte=now)
               .order_by("next_evaluation_at").values_list("pk", flat=True)[:BATCH])
    for rule_id in due:
        try:
            if do_evaluate_rule(rule_id, now) is not None:
                evaluated += 1
        except Exception:  # one rule's trouble does not stop the others
            logger.exception("Alert rule %s could not be evaluated", rule_id)
    if emails_due(now):
        send_emails_soon()
    purge_observations(now)
    return evaluated
