"""Webhooks in: ``POST /hooks/<token>`` starts the trigger's workflow with the request as input.

The token in the URL is the credential. A trigger with a signing secret also wants
``X-MBFlow-Signature`` (``triggers.signatures``): a call without it, with a wrong one, or with
one whose time is more than five minutes away is refused with 401 and starts nothing; the same
signature twice within that window is a replay (409). Each trigger takes at most
``MBFLOW_WEBHOOK_RATE_LIMIT`` calls per ``MBFLOW_WEBHOOK_RATE_WINDOW`` seconds (then 429).

``mode: sync`` callers wait (``timeout``, 30 s by default) for the answer of the run's
``webhook_response`` node, or for the run to finish (its output as JSON).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction

from executions.engine.store import release_connection
from executions.models import Execution, NodeRun
from executions.services.waiting import wait_for_finish
from executions.vault import fernet
from mbflow_site.errors import ApiError, Conflict, NotFound
from mbflow_site.queries import Precondition, PreconditionFailed, PreparedQuery, RecentRows
from mbflow_site.turns import stepped_aside
from triggers.models import SeenSignature, Trigger, TriggerKind
from triggers.services.firing import check_live, not_live_reason, start_from, started_by
from triggers.services.specs import parse
from triggers.signatures import HEADER, SignatureError, Verified, verify
from workflows.models import Workflow
from workflows.public import spec_for

# Request headers that authenticate someone: never handed to a run.
PRIVATE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-csrftoken",
                             HEADER.lower()})
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class HookRequest:
    """What a webhook call brought: the raw body (signed), its parsed value (None when empty),
    the query parameters, the headers (names in lower case)."""

    body: bytes
    data: Any
    query: dict[str, Any]
    headers: dict[str, str]
    method: str = "POST"


# Every webhook call looks its trigger up: compiled once (a join of four tables, which Django
# took longer to build and compile than PostgreSQL to answer).
_BY_TOKEN = PreparedQuery(lambda token: started_by(Trigger.objects.filter(token=token, kind=TriggerKind.WEBHOOK))
                          .order_by()[:1], token="\0token")


def find_webhook(token: str) -> Trigger:
    found = _BY_TOKEN(token=token) if token else []
    if not found:
        raise NotFound("No webhook at this URL.", code="not_found")
    return found[0]


def _unchanged(trigger: Trigger) -> Precondition | None:
    """The trigger's row and its workflow's still say what a call read of them: the trigger's
    token, kind, name, switches, secret and the version its declaration came from; the
    workflow's name, switches and active version (None for a trigger that starts nothing now:
    not kept, so that turning it on is seen at once)."""
    if not_live_reason(trigger) is not None or trigger.workflow.active_version_id is None:
        return None
    quote = connection.ops.quote_name
    conditions, params = [], []
    for alias, row, names in (("t", trigger, ("id", "tenant", "workflow", "token", "kind", "name", "enabled",
                                               "declared", "version", "secret")),
                              ("w", trigger.workflow, ("name", "archived", "active", "active_version"))):
        for name in names:
            field = type(row)._meta.get_field(name)
            column, value = f"{alias}.{quote(field.column)}", getattr(row, field.attname)  # type: ignore[union-attr]
            if value is None:
                conditions.append(f"{column} IS NULL")
            else:
                conditions.append(f"{column} = %s")
                params.append(field.get_db_prep_value(value, connection))  # type: ignore[union-attr]
    workflow_id = quote(Trigger._meta.get_field("workflow").column)
    sql = (f"EXISTS (SELECT 1 FROM {quote(Trigger._meta.db_table)} t JOIN {quote(Workflow._meta.db_table)} w "
           f"ON w.{quote(Workflow._meta.pk.column)} = t.{workflow_id} WHERE {' AND '.join(conditions)})")
    return Precondition(sql, tuple(params))


# Webhook triggers as this process last read them, by token: a call then reads nothing before
# its start, whose statement checks that what was read still holds (``_unchanged``). A call
# that a kept row refused or whose start found it changed goes again on the rows as they are
# now (``receive_webhook``).
recent_hooks: RecentRows[Trigger] = RecentRows(_unchanged)


def recent_webhook(token: str) -> tuple[Trigger, Precondition | None]:
    """The webhook at ``token`` as this process read it before (with what its start must
    check), or read now (NotFound when there is none)."""
    return recent_hooks.get(token, partial(find_webhook, token))


def rate_limit_wait(trigger: Trigger, now: float | None = None) -> int | None:
    """Counts this call; the seconds to wait before the next one is taken, when over the limit.

    A fixed window per trigger in the cache (Redis when REDIS_URL is set, so that every process
    counts together): ``incr`` counts atomically, one round trip; the window's first call finds
    no counter and makes it with ``add`` (of two first calls, one makes it, the other counts)."""
    window = settings.MBFLOW_WEBHOOK_RATE_WINDOW
    now = time.time() if now is None else now
    slot = int(now // window)
    key = f"triggers:hook-rate:{trigger.pk}:{slot}"
    try:
        count = cache.incr(key)
    except ValueError:  # no counter yet: this call opens the window
        count = 1
        if not cache.add(key, 1, timeout=window + 1):
            try:
                count = cache.incr(key)
            except ValueError:  # made and expired since: a window of its own
                cache.add(key, 1, timeout=window + 1)
    if count <= settings.MBFLOW_WEBHOOK_RATE_LIMIT:
        return None
    return max(1, math.ceil((slot + 1) * window - now))


def secret_of(trigger: Trigger) -> str | None:
    if not trigger.secret:
        return None
    return fernet().decrypt(bytes(trigger.secret)).decode()


def hook_input(trigger: Trigger, request: HookRequest) -> Any:
    """The run's input: the body (``input: body``, the default; the query parameters when there
    is no body), or the request (``input: request``)."""
    if parse(trigger.spec).input == "request":
        return {"body": request.data, "query": request.query,
                "headers": {name: value for name, value in request.headers.items() if name not in PRIVATE_HEADERS},
                "method": request.method}
    return request.data if request.data is not None else request.query


def check_signature(trigger: Trigger, body: bytes, header: str | None, now: float | None = None) -> Verified | None:
    """The call's signature, verified against the raw body before anything reads the body (401
    otherwise); None when the trigger wants no signature. It is spent by ``do_receive_webhook``."""
    secret = secret_of(trigger)
    if secret is None:
        return None
    try:
        return verify(header, secret, body, time.time() if now is None else now)
    except SignatureError as exc:
        raise ApiError(exc.message, code=exc.code, status_code=401) from None


def _spend(trigger: Trigger, verified: Verified) -> None:
    try:
        with transaction.atomic():
            SeenSignature.objects.create(trigger=trigger, signature=verified.signature)
    except IntegrityError:
        raise Conflict("This signature was already used: a replayed call starts nothing.",
                       code="signature_replayed") from None


def do_receive_webhook(trigger: Trigger, request: HookRequest, verified: Verified | None = None,
                       only_if: Precondition | None = None) -> Execution:
    """Starts the run of a call whose signature ``check_signature`` verified (None: an unsigned
    trigger). The signature is spent only when the run started: the same one again is a replay.
    ``only_if``: what the start checks of the trigger read earlier (``recent_webhook``)."""
    model = parse(trigger.spec)
    if trigger.secret and verified is None:  # a signed trigger's call must have been checked
        raise ApiError(f"This webhook is signed: send {HEADER}.", code="signature_missing", status_code=401)
    if verified is None:  # nothing to spend: the start is its own transaction
        check_live(trigger)
        return start_from(trigger, hook_input(trigger, request), {"mode": model.mode, "signed": False}, only_if)
    with transaction.atomic():
        _spend(trigger, verified)
        check_live(trigger)
        return start_from(trigger, hook_input(trigger, request), {"mode": model.mode, "signed": True}, only_if)


def receive_webhook(token: str, trigger: Trigger, only_if: Precondition | None, body: bytes, signature: str | None,
                    request: Callable[[], HookRequest]) -> tuple[Trigger, Execution]:
    """Verifies the call's signature over the raw ``body`` (before ``request`` reads the body)
    and starts its run on ``trigger`` as ``recent_webhook`` gave it. When that was a row read
    before (``only_if``) and it refused the call (a secret or a switch changed since) or its
    start found it changed, nothing was written: the call goes once more on the trigger as it
    is now. Returns the trigger the run started from."""
    try:
        verified = check_signature(trigger, body, signature)
        return trigger, do_receive_webhook(trigger, request(), verified, only_if)
    except (PreconditionFailed, ApiError):
        if only_if is None:
            raise
    recent_hooks.forget(token)
    trigger = find_webhook(token)
    verified = check_signature(trigger, body, signature)
    return trigger, do_receive_webhook(trigger, request(), verified)


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """What a sync caller gets: ``kind`` is ``response`` (a webhook_response node answered),
    ``output`` (the run succeeded), ``failed`` (it failed or was cancelled) or ``pending``."""

    kind: str
    status: int = 200
    headers: dict[str, Any] = field(default_factory=dict)
    body: Any = None


def _responding_nodes(execution: Execution) -> list[str]:
    if execution.version is None:
        return []
    return [node.id for node in spec_for(execution.version).nodes if node.type == "webhook_response"]


def _answer_of(status: str, output: Any, error: Any) -> SyncAnswer | None:
    if status not in TERMINAL:
        return None
    if status == "succeeded":
        return SyncAnswer("output", 200, body=output)
    return SyncAnswer("failed", body={"status": status, "error": error})


def _response_of(output: Any) -> SyncAnswer:
    return SyncAnswer("response", int(output.get("status") or 200), output.get("headers") or {}, output.get("body"))


def _answer_known(execution: Execution, nodes: list[str]) -> SyncAnswer | None:
    """The answer from what the start already ran (light nodes run in the request's first
    step), without reading it back: a ``webhook_response`` node that succeeded, or the end."""
    runs = [run for run in getattr(execution, "known_runs", ()) if run.node_id in nodes and run.status == "succeeded"]
    answered = min(runs, key=lambda run: run.finished_at).output if runs else None
    if isinstance(answered, dict):
        return _response_of(answered)
    return _answer_of(execution.status, execution.output, execution.error)


def _answer_now(execution_id: Any, nodes: list[str]) -> SyncAnswer | None:
    if nodes:
        answered = (NodeRun.objects.filter(execution_id=execution_id, node_id__in=nodes, status="succeeded")
                    .order_by("finished_at").values_list("output", flat=True).first())
        if isinstance(answered, dict):
            return _response_of(answered)
    row = Execution.objects.filter(pk=execution_id).values("status", "output", "error").first()
    return None if row is None else _answer_of(row["status"], row["output"], row["error"])


def wait_for_answer(execution: Execution, timeout: float) -> SyncAnswer:
    """The run's answer to a sync caller, waiting up to ``timeout`` seconds for it."""
    nodes = _responding_nodes(execution)
    known = _answer_known(execution, nodes)
    if known is not None:
        return known
    deadline = time.monotonic() + timeout
    poll = 0.02
    with stepped_aside():
        while True:
            answer = _answer_now(execution.pk, nodes)
            if answer is not None:
                return answer
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return SyncAnswer("pending", 202)
            release_connection()
            # Wakes at once when the run finishes; a webhook_response node is looked for at
            # each poll, backing off from 20 ms to 250 ms.
            wait_for_finish(str(execution.pk), min(poll, remaining))
            poll = min(poll * 2, 0.25)
