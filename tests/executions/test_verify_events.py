"""``manage.py mbflow verify_events`` and the admin's event log: the stored projection of each
execution is rebuilt from its events and every field that differs is reported."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from executions import admin as executions_admin
from executions.engine.projection import ExecutionState, NodeState
from executions.engine.store import open_journal
from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services import verification
from executions.services.verification import Difference, compare
from tests.executions.conftest import ROOT, Run, Store, doc
from tests.executions.servers import LocalServer
from tests.executions.test_approval import expense, start_waiting
from tests.executions.test_engine_basics import CHAIN, ROUTING
from workflows.models import Tenant

FAILING = doc("failing", """
  nodes:
    - {id: first, type: transform, config: {mapping: {n: "{{ input.n }}"}}}
    - {id: boom, type: fail, config: {message: "stop at {{ nodes.first.output.n }}"}}
  edges:
    - {from: first, to: boom}
""")


def flaky(url: str) -> str:
    return doc("flaky", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{url}/flaky?fail=1&key={{{{ input.key }}}}"}}
      retry: {{max_attempts: 2, backoff: fixed, initial_delay: 10ms, jitter: false}}
    - {{id: after, type: noop}}
  edges:
    - {{from: call, to: after}}
""")


def verify(*args: str) -> str:
    """Runs the command; its output (a ``CommandError`` when it exits non-zero)."""
    out = StringIO()
    call_command("mbflow", "verify_events", *args, stdout=out)
    return out.getvalue()


def verify_failing(*args: str) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("mbflow", "verify_events", *args, stdout=out)
    return out.getvalue(), raised.value


@pytest.fixture
def runs(embedded: object, store: Store, run: Run, http_server: LocalServer) -> list[Execution]:
    """Executions run to the end by the engine: chains, routes, retries and failures."""
    store(CHAIN)
    store(ROUTING)
    store(FAILING)
    store(flaky(http_server.url))
    answers = []
    for n in range(3):
        answers.append(run("chain", {"n": n}, expect=200))
        answers.append(run("routing", {"plan": ["pro", "free", "x"][n], "age": n * 10}, expect=200))
        answers.append(run("failing", {"n": n}, expect=200))
        answers.append(run("flaky", {"key": f"verify-{uuid.uuid4()}"}, expect=200))  # the server counts per key
    assert {a["status"] for a in answers} == {"succeeded", "failed"}, answers
    assert NodeRun.objects.filter(node_id="call", attempt=2, status="succeeded").count() == 3  # retried
    return list(Execution.objects.filter(pk__in=[a["id"] for a in answers]))


def test_every_execution_run_by_the_engine_matches_its_log(runs: list[Execution]) -> None:
    out = verify()
    assert out.strip() == "checked 12 execution(s): 12 matching, 0 differing"


def test_a_node_run_changed_behind_the_engine_is_reported_with_its_field(runs: list[Execution]) -> None:
    changed = next(e for e in runs if e.status == "succeeded" and e.node_runs.filter(node_id="b").exists())
    NodeRun.objects.filter(execution=changed, node_id="b").update(status="failed")

    out, error = verify_failing()

    assert error.returncode == 1
    assert "1 execution(s) differ from their event log" in str(error)
    assert f'{changed.pk} b status: stored "failed", replayed "succeeded"' in out.splitlines()
    assert out.splitlines()[-1] == "checked 12 execution(s): 11 matching, 1 differing"
    assert len(out.splitlines()) == 2  # that field only


# Python's == takes 3.0 for 3 and True for 1; the stored JSON differs all the same.
@pytest.mark.parametrize(("result", "shown"), [(99, "99"), (3.0, "3.0"), (True, "true")])
def test_an_execution_output_changed_behind_the_engine_is_reported(runs: list[Execution], result: Any,
                                                                   shown: str) -> None:
    changed = next(e for e in runs if e.output == {"result": 3, "greeting": "hello world"})
    Execution.objects.filter(pk=changed.pk).update(output={"result": result, "greeting": "hello world"})

    out, error = verify_failing("--execution", str(changed.pk))

    assert error.returncode == 1
    assert out.splitlines() == [
        f'{changed.pk} - output: stored {{"greeting": "hello world", "result": {shown}}}, '
        'replayed {"greeting": "hello world", "result": 3}',
        "checked 1 execution(s): 0 matching, 1 differing",
    ]


def test_a_missing_node_run_and_a_gap_in_the_log_are_reported(runs: list[Execution]) -> None:
    chains = [e for e in runs if e.node_runs.filter(node_id="c").exists()]
    NodeRun.objects.filter(execution=chains[0], node_id="c").delete()
    ExecutionEvent.objects.filter(execution=chains[1], seq=3).delete()

    out, error = verify_failing()

    assert error.returncode == 1
    lines = out.splitlines()
    assert f'{chains[0].pk} c node run: stored "missing", replayed "present"' in lines
    assert f"{chains[1].pk} - log: event #4 follows #2" in lines
    assert lines[-1] == "checked 12 execution(s): 10 matching, 2 differing"


def test_the_options_choose_the_executions(runs: list[Execution]) -> None:
    Tenant.objects.create(slug="other", name="Other")
    assert verify("--tenant", "acme").splitlines()[-1] == "checked 12 execution(s): 12 matching, 0 differing"
    assert verify("--tenant", "other").splitlines()[-1] == "checked 0 execution(s): 0 matching, 0 differing"
    assert verify("--limit", "5").splitlines()[-1] == "checked 5 execution(s): 5 matching, 0 differing"
    later = timezone.now() + timedelta(minutes=1)
    assert verify("--since", later.isoformat()).splitlines()[-1] == "checked 0 execution(s): 0 matching, 0 differing"
    earliest = min(e.created_at for e in runs)
    assert verify("--since", earliest.isoformat()).splitlines()[-1].startswith("checked 12 execution(s)")


def test_batches_cover_every_execution_once(runs: list[Execution]) -> None:
    results = list(verification.verify_executions(Execution.objects.all(), batch_size=5))
    assert sorted(r.execution_id for r in results) == sorted(str(e.pk) for e in runs)
    assert all(r.matches for r in results)
    assert len(list(verification.verify_executions(Execution.objects.all(), batch_size=5, limit=7))) == 7


@pytest.mark.parametrize(("args", "message"), [
    (["--execution", "not-a-uuid"], "'not-a-uuid' is not an execution id."),
    (["--execution", "00000000-0000-0000-0000-000000000000"], "No execution 00000000-0000-0000-0000-000000000000."),
    (["--tenant", "nobody"], "No tenant 'nobody'."),
    (["--limit", "0"], "'0' is not a positive whole number"),
    (["--since", "yesterday"], "'yesterday' is not an ISO 8601 date or time"),
])
def test_bad_options_are_refused_naming_the_value(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("mbflow", "verify_events", *args, stdout=StringIO())


def test_running_executions_are_checked_only_when_asked(embedded: object, store: Store, editor: APIClient,
                                                        runs: list[Execution]) -> None:
    store(expense())
    waiting = start_waiting(editor)

    assert verify().splitlines()[-1] == "checked 12 execution(s): 12 matching, 0 differing"
    assert verify("--include-running").splitlines()[-1] == "checked 13 execution(s): 13 matching, 0 differing"
    assert verify("--execution", waiting["id"]).splitlines() == ["checked 1 execution(s): 1 matching, 0 differing"]


def test_an_execution_written_to_while_it_is_read_is_read_again(embedded: object, store: Store,
                                                                editor: APIClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a waiting execution whose rows and events were read
    WHEN the engine appends an event before the check ends
    THEN the check reads it again and compares the state after that event, not a mix."""
    store(expense())
    waiting = start_waiting(editor)
    mapped = verification.event_of

    def write_once(row: ExecutionEvent) -> Any:
        if not written:
            written.append(True)
            with open_journal(waiting["id"]) as journal:
                journal.append("execution.paused")
        return mapped(row)

    written: list[bool] = []
    monkeypatch.setattr(verification, "event_of", write_once)
    results = list(verification.verify_executions(Execution.objects.filter(pk=waiting["id"])))

    assert written
    assert [r.matches for r in results] == [True]
    assert Execution.objects.get(pk=waiting["id"]).status == "paused"


def test_an_execution_written_to_at_every_read_is_reported_unchecked(embedded: object, store: Store,
                                                                     editor: APIClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store(expense())
    waiting = start_waiting(editor)
    mapped = verification.event_of
    writes: list[str] = []

    def write_always(row: ExecutionEvent) -> Any:
        if row.seq == 1:
            kind = "execution.paused" if len(writes) % 2 == 0 else "execution.resumed"
            with open_journal(waiting["id"]) as journal:
                journal.append(kind)
            writes.append(kind)
        return mapped(row)

    monkeypatch.setattr(verification, "event_of", write_always)
    out = verify("--execution", waiting["id"])

    assert len(writes) == verification.READS
    assert out.splitlines() == [
        f"{waiting['id']} -: not checked, written to while it was read",
        "checked 0 execution(s): 0 matching, 0 differing; 1 not checked (written to while read)"]


def test_a_lease_moved_by_a_heartbeat_is_not_a_difference_while_the_node_runs() -> None:
    now = timezone.now()
    replayed = ExecutionState(status="running", nodes={"a": NodeState("a", status="running", lease_until=now)})
    moved = ExecutionState(status="running", nodes={
        "a": NodeState("a", status="running", lease_until=now + timedelta(seconds=30))})
    assert compare(moved, replayed) == []
    replayed.nodes["a"].status = moved.nodes["a"].status = "succeeded"
    assert compare(moved, replayed) == [Difference("a", "lease_until", now + timedelta(seconds=30), now)]


def test_the_command_exits_with_its_status_from_the_command_line(runs: list[Execution]) -> None:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the command's own process reads the test database through DATABASE_URL (PostgreSQL)")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{host}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "manage.py", "mbflow", "verify_events"]

    ok = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout) == (0, "checked 12 execution(s): 12 matching, 0 differing\n"), ok.stderr

    changed = runs[0]
    Execution.objects.filter(pk=changed.pk).update(total_steps=changed.total_steps + 1)
    bad = subprocess.run([*command, "--execution", str(changed.pk)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1
    assert f"{changed.pk} - total_steps: stored {changed.total_steps + 1}, replayed {changed.total_steps}" in bad.stdout
    assert "1 execution(s) differ from their event log" in bad.stderr


# The admin

@pytest.fixture
def superuser(client: Client, db: None) -> Client:
    get_user_model().objects.create_superuser("root", "root@localhost", "pass-word-123")
    client.login(username="root", password="pass-word-123")
    return client


@pytest.fixture
def chain(runs: list[Execution]) -> Iterator[Execution]:
    yield next(e for e in runs if e.node_runs.filter(node_id="c").exists())


def test_the_change_page_shows_the_event_log_in_seq_order(superuser: Client, chain: Execution) -> None:
    html = superuser.get(f"/admin/executions/execution/{chain.pk}/change/").content.decode()
    events = list(chain.events.order_by("seq"))
    assert len(events) == chain.last_seq > 5
    cells = [f"<tr><td>{event.seq}</td>" for event in events]
    positions = [html.index(cell) for cell in cells]
    assert positions == sorted(positions)
    for event in events:
        row = html[html.index(f"<tr><td>{event.seq}</td>"):]
        row = row[:row.index("</tr>")]
        assert f"<td>{event.type}</td>" in row
        assert f"<td>{event.node_id or '-'}</td>" in row
    b_output = chain.node_runs.get(node_id="b").output
    assert f"&quot;n&quot;: {b_output['n']}" in html  # a payload, pretty-printed
    assert f"/admin/executions/execution/{chain.pk}/verify/" in html
    assert 'name="_save"' not in html


def test_a_long_log_shows_its_start_and_links_to_the_event_list(superuser: Client, chain: Execution,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executions_admin, "EVENT_LOG_SHOWN", 3)
    html = superuser.get(f"/admin/executions/execution/{chain.pk}/change/").content.decode()
    assert "<tr><td>3</td>" in html and "<tr><td>4</td>" not in html
    assert (f'The first 3 of {chain.last_seq} events: <a href="/admin/executions/executionevent/'
            f'?execution__id__exact={chain.pk}">all of them</a>') in html


def test_the_verify_action_reports_matching_and_differing_executions(superuser: Client,
                                                                     runs: list[Execution]) -> None:
    ids = [str(e.pk) for e in runs[:4]]
    answer = superuser.post("/admin/executions/execution/", {"action": "verify_events", "_selected_action": ids},
                            follow=True)
    assert answer.status_code == 200
    assert [str(m) for m in answer.context["messages"]] == [
        "Event log: checked 4 execution(s): 4 matching, 0 differing"]

    NodeRun.objects.filter(execution_id=ids[1], order=0).update(error={"message": "edited"})
    answer = superuser.post("/admin/executions/execution/", {"action": "verify_events", "_selected_action": ids},
                            follow=True)
    [message] = list(answer.context["messages"])
    assert message.level_tag == "error"
    assert str(message).startswith("Event log: checked 4 execution(s): 3 matching, 1 differing; ")
    first = NodeRun.objects.get(execution_id=ids[1], order=0)
    assert first.status == "succeeded"
    assert f'{ids[1]} {first.node_id} error: stored {{"message": "edited"}}, replayed null' in str(message)


def test_the_verify_button_checks_one_execution(superuser: Client, chain: Execution) -> None:
    answer = superuser.get(f"/admin/executions/execution/{chain.pk}/verify/", follow=True)
    assert answer.redirect_chain == [(f"/admin/executions/execution/{chain.pk}/change/", 302)]
    assert [str(m) for m in answer.context["messages"]] == [
        "Event log: checked 1 execution(s): 1 matching, 0 differing"]

    Execution.objects.filter(pk=chain.pk).update(status="cancelled")
    answer = superuser.get(f"/admin/executions/execution/{chain.pk}/verify/", follow=True)
    [message] = list(answer.context["messages"])
    assert message.level_tag == "error"
    assert f'{chain.pk} - status: stored "cancelled", replayed "succeeded"' in str(message)

    assert superuser.get("/admin/executions/execution/00000000-0000-0000-0000-000000000000/verify/").status_code == 404


def test_a_long_verification_message_lists_the_first_differences(superuser: Client, runs: list[Execution],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executions_admin, "VERIFY_MESSAGE_LINES", 2)
    Execution.objects.filter(pk__in=[e.pk for e in runs[:3]]).update(status="cancelled")
    answer = superuser.post("/admin/executions/execution/",
                            {"action": "verify_events", "_selected_action": [str(e.pk) for e in runs]}, follow=True)
    [message] = [str(m) for m in answer.context["messages"]]
    parts = message.split("; ")
    assert parts[0] == "Event log: checked 12 execution(s): 9 matching, 3 differing"
    assert [" - status: stored \"cancelled\"" in part for part in parts[1:3]] == [True, True]
    assert parts[3] == "and 1 more (`manage.py mbflow verify_events` lists them all)"
