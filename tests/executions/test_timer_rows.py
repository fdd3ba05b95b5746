"""The timer pump reads due rows with SQL of its own: what it reads back (a due time, an
execution's id) must be what the models hold, on PostgreSQL and on SQLite (the embedded default
of `make run`, whose raw rows carry naive times and ids without dashes: its pump died on the
first and failed every claim on the second, so a delay ended ~35 s late there)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from executions.engine import timers
from executions.models import NodeRun
from tests.executions.conftest import Store, doc, pass_on_sqlite


def test_due_rows_read_back_as_the_models_values(embedded: Any, store: Store, editor: Any, settings: Any) -> None:
    settings.MBFLOW_TIMERS = "messages"  # the pump stays out of this one
    store(doc("rows", """
  nodes:
    - {id: park, type: delay, config: {duration: 60s}}
"""))
    ids = [editor.post("/api/v1/executions", {"workflow": "rows"}, format="json").json()["id"] for _ in range(3)]
    due = timezone.now() - timedelta(seconds=1)
    NodeRun.objects.filter(execution_id__in=ids).update(scheduled_at=due)
    found = timers.next_due()
    assert found is not None and timezone.is_aware(found) and found == due
    with transaction.atomic():
        claimed = timers.claim_due(10, timezone.now())
    assert sorted(execution_id for execution_id, _, _ in claimed) == sorted(ids)
    assert {(node_id, attempt) for _, node_id, attempt in claimed} == {("park", 1)}


@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="this run is on SQLite already")
def test_the_pump_resumes_delays_on_sqlite(tmp_path: Path) -> None:
    pass_on_sqlite(tmp_path, "test_timer_rows.py::test_due_rows_read_back_as_the_models_values",
                   "test_timers.py::test_delays_due_together_all_resume_once",
                   "test_timers.py::test_a_paused_execution_keeps_its_due_timer_until_it_is_resumed")
