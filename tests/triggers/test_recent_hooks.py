"""A webhook call reads its trigger once per process and then checks, in the start's own
statement, that the trigger and its workflow still say what was read (``recent_hooks``): a
secret set, a trigger switched off, a new version or a deleted workflow - through the API of
another process, the admin or SQL, none of which reaches this process - is seen at the next
call, and a call refused or stopped on what was read before starts nothing."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from executions.models import Execution
from tests.executions.conftest import pass_on_sqlite
from tests.executions.test_write_path_cost import counted
from tests.triggers.conftest import Store, doc
from triggers.models import Trigger
from workflows.models import Workflow


def answering(name: str, value: str) -> str:
    return doc(name, "  triggers: [{type: webhook, name: in, mode: sync}]\n"
                     f"  nodes:\n    - {{id: a, type: transform, config: {{mapping: {{v: {value}}}}}}}\n"
                     "  output: \"{{ nodes.a.output.v }}\"\n")


def signed(secret: str, body: bytes) -> dict[str, str]:
    at = int(time.time())
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_MBFLOW_SIGNATURE": f"t={at},v1={digest}"}


def call(token: str, body: bytes = b'{"n": 1}', **headers: str) -> tuple[int, Any]:
    answer = Client().post(f"/hooks/{token}", body, content_type="application/json", **headers)
    if answer["Content-Type"].startswith("text/plain"):  # a text output is answered as text
        return answer.status_code, answer.content.decode()
    return answer.status_code, answer.json()


def test_a_new_version_or_a_trigger_switched_off_elsewhere_is_seen_at_the_next_call(
        embedded: Any, store: Store, editor: Any) -> None:
    store(answering("hooked", "first"))
    hook = Trigger.objects.get(workflow__name="hooked")
    for _ in range(2):  # the second call uses the rows read by the first
        assert call(hook.token) == (200, "first")
    assert editor.put("/api/v1/workflows/hooked", {"yaml": answering("hooked", "second")},
                      format="json").status_code == 200
    before = Execution.objects.count()
    assert call(hook.token) == (200, "second")
    assert Execution.objects.count() == before + 1  # the stale start wrote nothing
    Trigger.objects.filter(pk=hook.pk).update(enabled=False)  # as the admin's action does: no save()
    status, answer = call(hook.token)
    assert (status, answer["error"]["code"]) == (409, "trigger_disabled")
    assert Execution.objects.count() == before + 1
    Trigger.objects.filter(pk=hook.pk).update(enabled=True)
    assert call(hook.token) == (200, "second")
    Workflow.objects.filter(name="hooked").update(active=False)
    status, answer = call(hook.token)
    assert (status, answer["error"]["code"]) == (409, "workflow_inactive")
    Workflow.objects.filter(name="hooked").update(active=True)
    assert call(hook.token) == (200, "second")
    hook.refresh_from_db()
    assert hook.last_execution_id == Execution.objects.latest("created_at").pk
    Workflow.objects.filter(name="hooked").delete()
    status, answer = call(hook.token)
    assert (status, answer["error"]["code"]) == (404, "not_found")


def test_a_secret_set_elsewhere_is_the_one_calls_are_checked_against_at_once(
        embedded: Any, store: Store, editor: Any) -> None:
    store(answering("signed-hook", "ok"))
    hook = Trigger.objects.get(workflow__name="signed-hook")
    body = b'{"n": 2}'
    assert call(hook.token, body) == (200, "ok")
    assert call(hook.token, body) == (200, "ok")
    first = "a-first-shared-secret-123"
    assert editor.post(f"/api/v1/triggers/{hook.pk}/secret", {"secret": first}, format="json").status_code == 200
    status, answer = call(hook.token, body)  # the kept row had no secret: the call is checked again
    assert (status, answer["error"]["code"]) == (401, "signature_missing")
    assert call(hook.token, body, **signed(first, body)) == (200, "ok")
    assert call(hook.token, b'{"n": 3}', **signed(first, b'{"n": 3}')) == (200, "ok")
    second = "a-second-shared-secret-45"
    assert editor.post(f"/api/v1/triggers/{hook.pk}/secret", {"secret": second}, format="json").status_code == 200
    before = Execution.objects.count()
    status, answer = call(hook.token, b'{"n": 4}', **signed(first, b'{"n": 4}'))  # the old secret
    assert (status, answer["error"]["code"]) == (401, "signature_invalid")
    assert Execution.objects.count() == before
    assert call(hook.token, b'{"n": 5}', **signed(second, b'{"n": 5}')) == (200, "ok")
    assert Execution.objects.count() == before + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL statements")
def test_a_call_of_a_webhook_read_before_checks_it_in_its_start_statement_instead_of_a_query(
        embedded: Any, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store(answering("quick-hook", "fast"))
    hook = Trigger.objects.get(workflow__name="quick-hook")
    assert call(hook.token) == (200, "fast")
    with counted(monkeypatch) as seen:
        assert call(hook.token) == (200, "fast")
    reads = [sql for sql in seen["sql"] if '"triggers_trigger"' in sql]
    assert len(reads) == 1, seen["sql"]
    assert 'INSERT INTO "executions_execution"' in reads[0] and 'UPDATE "triggers_trigger"' in reads[0]


@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="this run is on SQLite already")
def test_webhooks_read_before_are_checked_on_sqlite_too(tmp_path: Path) -> None:
    pass_on_sqlite(tmp_path, "../triggers/test_recent_hooks.py::test_a_new_version_or_a_trigger_switched_off_"
                             "elsewhere_is_seen_at_the_next_call",
                   "../triggers/test_recent_hooks.py::test_a_secret_set_elsewhere_is_the_one_calls_are_checked_"
                   "against_at_once")
