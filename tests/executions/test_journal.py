"""A process reuses the rows of the journal it committed last, and only while nobody else wrote."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from executions.engine.projection import NODE_FIELDS, NodeState
from executions.engine.store import Journal, new_row, node_run_values, open_journal, stored_state
from executions.models import Execution, NodeRun
from tests.executions.conftest import Store, doc

WAITING = doc("waiting", """
  nodes:
    - {id: later, type: delay, config: {duration: 60s}}
""")


@pytest.fixture
def execution_id(embedded: object, store: Store, editor: Any) -> str:
    """A running execution whose one node waits a minute; its start committed in this process."""
    store(WAITING)
    response = editor.post("/api/v1/executions", {"workflow": "waiting"}, format="json")
    assert response.json()["status"] == "running"
    return str(response.json()["id"])


def test_the_next_step_reads_only_the_lock_when_its_process_wrote_last(execution_id: str) -> None:
    with CaptureQueriesContext(connection) as queries, open_journal(execution_id) as journal:
        journal.append("execution.paused")
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(reads) == 1 and "noderun" not in reads[0], reads
    assert ("FOR UPDATE" in reads[0]) == connection.features.has_select_for_update  # SQLite locks at BEGIN
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "paused"
    assert stored_state(execution).nodes["later"].status == "pending"


def test_a_step_sees_what_another_process_wrote_since(execution_id: str) -> None:
    with transaction.atomic():  # another process's step: its own journal, read from the rows
        execution = Execution.objects.select_for_update().get(pk=execution_id)
        other = Journal(execution, list(NodeRun.objects.filter(execution_id=execution_id)))
        other.append("execution.paused")
        other.flush()
    with open_journal(execution_id) as journal:
        assert journal.state.status == "paused"
        assert journal.state.last_seq == Execution.objects.get(pk=execution_id).last_seq
        journal.append("execution.resumed")  # follows the other process's event, no gap
    assert Execution.objects.get(pk=execution_id).status == "running"


def test_a_rolled_back_step_leaves_nothing_behind(execution_id: str) -> None:
    seq = Execution.objects.get(pk=execution_id).last_seq
    with pytest.raises(RuntimeError), open_journal(execution_id) as journal:
        journal.append("execution.paused")
        journal.flush()
        raise RuntimeError("the step failed before its commit")
    with open_journal(execution_id) as journal:
        assert journal.state.status == "running"
        assert journal.state.last_seq == seq


@pytest.mark.parametrize("output_seq", [7, None])
def test_a_new_node_run_holds_what_a_model_built_from_keywords_holds(output_seq: int | None) -> None:
    """With its output in event ``output_seq`` the row holds none of its own (a row of before
    holds it)."""
    node = NodeState("fetch", status="succeeded", attempt=2, input={"url": "u"}, output={"n": 1},
                     output_seq=output_seq, error=None, started_at=datetime(2026, 12, 7, tzinfo=UTC), order=4,
                     limit_key="api")
    execution_id = uuid.uuid4()
    by_keywords = NodeRun(execution_id=execution_id, node_id="fetch",
                          stored_output=None if output_seq else node.output,
                          **{name: getattr(node, name) for name in NODE_FIELDS if name != "output"})
    values = node_run_values(execution_id, node)
    assert values == [getattr(by_keywords, field.attname) for field in NodeRun._meta.concrete_fields]
    built = new_row(values, node)  # as a later step of the journal sees the row it inserted
    for field in NodeRun._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(by_keywords, field.attname), field.attname
    assert not built._state.adding and built.pk is None
    assert built.output == {"n": 1}
