"""The SSE stream ends only after the last events of the run: a run that ends between the
stream's read of the events (none yet) and its read of the status still has them sent."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.live import sse
from executions.models import Execution, ExecutionEvent
from tests.executions.conftest import Run, Store
from tests.executions.test_engine_basics import CHAIN


class EndsMeanwhile:
    """``Execution`` as the stream's status read finds it, with the engine's last commit (the
    rest of the events and the final status) landing just before that read."""

    def __init__(self, execution_id: str, held: list[ExecutionEvent]) -> None:
        self.execution_id, self.held = execution_id, held

    @property
    def objects(self) -> EndsMeanwhile:
        return self

    def filter(self, **lookups: Any) -> Any:
        if self.held:
            ExecutionEvent.objects.bulk_create(self.held)
            Execution.objects.filter(pk=self.execution_id).update(status="succeeded")
            self.held = []
        return Execution.objects.filter(**lookups)


def test_a_run_ending_between_the_two_reads_has_its_last_events_sent(
        embedded: object, store: Store, run: Run, editor: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    store(CHAIN)
    execution_id = run("chain", {"n": 1})["id"]
    late = list(ExecutionEvent.objects.filter(execution_id=execution_id, seq__gt=2).order_by("seq"))
    assert late and late[-1].type == "execution.succeeded"
    ExecutionEvent.objects.filter(execution_id=execution_id, seq__gt=2).delete()
    Execution.objects.filter(pk=execution_id).update(status="running")
    for event in late:
        event.pk = None
    monkeypatch.setattr(sse, "Execution", EndsMeanwhile(execution_id, late))

    events, status = sse._read(execution_id, 2)
    assert [event.seq for event in events] == [event.seq for event in late] and status is None
    assert sse._read(execution_id, late[-1].seq) == ([], "succeeded")  # then, and only then, the end
