"""A start by reference reads the workflow's row once per process and then checks, in the
start's own statement, that the row still says what was read (``recent_workflows``): a workflow
saved, rolled back, renamed or deleted elsewhere - through another process, the admin or SQL,
none of which reaches this process - is never started as it was, and the stale start writes
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from executions.models import Execution, ExecutionEvent, NodeRun
from tests.executions.conftest import Run, Store, doc, pass_on_sqlite
from tests.executions.test_write_path_cost import counted
from workflows.models import Tenant, Workflow, WorkflowVersion


def answering(name: str, value: str) -> str:
    return doc(name, f"  nodes:\n    - {{id: a, type: transform, config: {{mapping: {{v: {value}}}}}}}\n"
                     "  output: \"{{ nodes.a.output.v }}\"\n")


def nothing_left_over() -> None:
    """No event or node run without its execution (a stale start's rows are taken back)."""
    executions = Execution.objects.values("pk")
    assert not ExecutionEvent.objects.exclude(execution_id__in=executions).exists()
    assert not NodeRun.objects.exclude(execution_id__in=executions).exists()


def test_a_version_saved_or_rolled_back_elsewhere_is_the_one_the_next_start_runs(
        embedded: Any, store: Store, run: Run, editor: Any) -> None:
    store(answering("moving", "first"))
    for _ in range(2):  # the second start uses the row read by the first
        assert run("moving")["output"] == "first"
    saved = editor.put("/api/v1/workflows/moving", {"yaml": answering("moving", "second")}, format="json")
    assert saved.status_code == 200, saved.json()
    before = Execution.objects.count()
    answer = run("moving")
    assert answer["output"] == "second", answer
    assert Execution.objects.get(pk=answer["id"]).version.number == 2
    assert Execution.objects.count() == before + 1  # one execution: the stale start wrote nothing
    nothing_left_over()
    # Back to version 1 by SQL (as the admin or a script would), which no cache hears of.
    first = WorkflowVersion.objects.get(workflow__name="moving", number=1)
    Workflow.objects.filter(name="moving").update(active_version=first)
    assert run("moving")["output"] == "first"
    assert run("moving")["output"] == "first"
    assert Execution.objects.count() == before + 3
    nothing_left_over()


def test_a_renamed_or_deleted_workflow_is_not_started_by_what_was_read_before(
        embedded: Any, store: Store, run: Run, editor: Any) -> None:
    workflow_id = store(answering("renamed", "here"))["id"]
    for ref in ("renamed", "renamed", workflow_id, workflow_id):
        assert run(ref)["output"] == "here"
    Workflow.objects.filter(pk=workflow_id).update(name="now-called")
    before = Execution.objects.count()
    gone = run("renamed", expect=404)
    assert gone["error"]["code"] == "not_found", gone
    answer = run(workflow_id)
    assert answer["output"] == "here" and answer["workflow"]["name"] == "now-called", answer
    assert run("now-called")["output"] == "here"
    assert Execution.objects.count() == before + 2
    Workflow.objects.filter(pk=workflow_id).delete()  # and its executions
    for ref in ("now-called", workflow_id):
        assert run(ref, expect=404)["error"]["code"] == "not_found"
    assert not Execution.objects.exists()
    nothing_left_over()


def test_each_tenant_starts_its_own_workflow_of_the_same_name(
        embedded: Any, store: Store, run: Run, api_client_for: Any, other_tenant: Tenant) -> None:
    store(answering("shared-name", "ours"))
    theirs = api_client_for(tenant=other_tenant)
    assert theirs.post("/api/v1/workflows", {"yaml": answering("shared-name", "theirs")},
                       format="json").status_code == 201
    for _ in range(2):
        assert run("shared-name")["output"] == "ours"
        answer = theirs.post("/api/v1/executions", {"workflow": "shared-name", "wait": 20}, format="json").json()
        assert answer["output"] == "theirs", answer
    Workflow.objects.filter(tenant=other_tenant).delete()
    assert run("shared-name")["output"] == "ours"
    gone = theirs.post("/api/v1/executions", {"workflow": "shared-name", "wait": 20}, format="json")
    assert gone.status_code == 404, gone.json()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL statements")
def test_a_start_of_a_workflow_read_before_checks_it_in_its_one_statement_instead_of_a_query(
        embedded: Any, store: Store, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    store(answering("quick", "fast"))
    assert run("quick")["output"] == "fast"
    with counted(monkeypatch) as seen:
        assert run("quick")["output"] == "fast"
    reads = [sql for sql in seen["sql"] if '"workflows_workflow"' in sql]
    assert len(reads) == 1, seen["sql"]
    assert 'INSERT INTO "executions_execution"' in reads[0] and "EXISTS (SELECT 1" in reads[0], reads


@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="this run is on SQLite already")
def test_stale_workflows_are_read_again_on_sqlite(tmp_path: Path) -> None:
    pass_on_sqlite(tmp_path, "test_recent_workflows.py::test_a_version_saved_or_rolled_back_elsewhere_is_the_one_"
                             "the_next_start_runs",
                   "test_recent_workflows.py::test_a_renamed_or_deleted_workflow_is_not_started_by_what_was_read_"
                   "before")
