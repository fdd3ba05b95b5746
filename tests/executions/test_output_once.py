"""A node's output is written once, in the event that ended the node: its row names that event
(``output_seq``) and holds no copy; ``NodeRun.objects`` read the output from there, every JSON
type as it was, and rows written before (with the output in their own column) read as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from executions.engine.store import replay, stored_state
from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.verification import compare
from tests.executions.conftest import Run, Store, doc, pass_on_sqlite

# Outputs of every JSON type, among them texts a JSON reader would take for other types.
OUTPUTS = {"text": "hello", "digits": "123", "quoted": '"q"', "number": 4.5, "integer": 7, "yes": True,
           "no": False, "nothing": None, "list": [1, "a", None], "object": {"a": {"b": [1, 2]}}, "empty": {}}


def _outputs_doc() -> str:
    """One transform per output, each returning it (``jmespath`` of a literal)."""
    nodes = [f"    - {{id: {name}, type: transform, config: {{jmespath: {json.dumps('`' + json.dumps(value) + '`')}}}}}"
             for name, value in OUTPUTS.items()]
    return doc("json-types", "  nodes:\n" + "\n".join(nodes) + "\n")


def test_a_row_names_the_event_holding_its_output_and_reads_it_back(
        embedded: Any, store: Store, run: Run, editor: Any) -> None:
    store(_outputs_doc())
    answer = run("json-types")
    assert answer["status"] == "succeeded", answer
    runs = {row.node_id: row for row in NodeRun.objects.filter(execution_id=answer["id"])}
    events = {row.seq: row for row in ExecutionEvent.objects.filter(execution_id=answer["id"])}
    for name, value in OUTPUTS.items():
        row = runs[name]
        assert row.stored_output is None, name  # no second copy
        assert events[row.output_seq].type == "node.succeeded" and events[row.output_seq].node_id == name
        assert events[row.output_seq].payload["output"] == value
        assert row.output == value and type(row.output) is type(value), (name, row.output)
    # What the API shows, and what the values of a query read.
    steps = editor.get(f"/api/v1/executions/{answer['id']}?include=steps,io").json()["steps"]
    assert {step["node_id"]: step["output"] for step in steps} == OUTPUTS
    assert dict(NodeRun.objects.filter(execution_id=answer["id"]).values_list("node_id", "output")) == OUTPUTS
    execution = Execution.objects.get(pk=answer["id"])
    assert not compare(stored_state(execution), replay(execution))


def test_a_row_written_before_keeps_its_own_output_until_its_node_runs_again(
        embedded: Any, store: Store, run: Run, editor: Any) -> None:
    store(doc("flaky-once", """
  nodes:
    - {id: a, type: transform, config: {mapping: {v: "{{ input.v }}"}}}
    - {id: b, type: fail, config: {message: "no"}}
  edges:
    - {from: a, to: b}
"""))
    answer = run("flaky-once", {"v": 1})
    assert answer["status"] == "failed", answer
    # As a row of before: the output in its own column, no event named.
    NodeRun.objects.filter(execution_id=answer["id"], node_id="a").update(stored_output={"v": "old"},
                                                                            output_seq=None)
    row = NodeRun.objects.get(execution_id=answer["id"], node_id="a")
    assert row.output == {"v": "old"}
    steps = editor.get(f"/api/v1/executions/{answer['id']}?include=steps,io").json()["steps"]
    assert {step["node_id"]: step["output"] for step in steps}["a"] == {"v": "old"}
    # Its node runs again in place (a retry of the execution): the copy of before goes.
    NodeRun.objects.filter(execution_id=answer["id"], node_id="b").update(stored_output={"stale": True})
    assert NodeRun.objects.get(execution_id=answer["id"], node_id="b").output == {"stale": True}
    retried = editor.post(f"/api/v1/executions/{answer['id']}/retry?wait=20")
    assert retried.status_code in (200, 202), retried.json()
    assert retried.json()["status"] == "failed", retried.json()
    again = NodeRun.objects.get(execution_id=answer["id"], node_id="b")
    assert again.attempt == 2 and again.stored_output is None and again.output is None
    assert NodeRun.objects.get(execution_id=answer["id"], node_id="a").output == {"v": "old"}  # not run again
    # A replay from ``a`` runs it in a new execution, whose row holds no copy.
    replayed = editor.post(f"/api/v1/executions/{answer['id']}/replay", {"from": "a", "wait": 20}, format="json")
    assert replayed.status_code in (200, 201), replayed.json()
    row = NodeRun.objects.get(execution_id=replayed.json()["id"], node_id="a")
    assert row.stored_output is None and row.output == {"v": 1}


@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="this run is on SQLite already")
def test_outputs_read_back_on_sqlite(tmp_path: Path) -> None:
    pass_on_sqlite(tmp_path, "test_output_once.py::test_a_row_names_the_event_holding_its_output_and_reads_it_back",
                   "test_output_once.py::test_a_row_written_before_keeps_its_own_output_until_its_node_runs_again")
