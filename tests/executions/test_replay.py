"""The event log is the truth: folding it rebuilds the stored projection exactly."""

from __future__ import annotations

import pytest

from executions.engine.projection import Event, ExecutionState, apply_event
from executions.engine.store import replay, stored_state
from executions.models import Execution, ExecutionEvent
from executions.models.events import ImmutableEventError
from tests.executions.conftest import Run, Store, doc
from tests.executions.servers import LocalServer
from tests.executions.test_engine_basics import CHAIN, ROUTING


def test_replaying_every_log_rebuilds_every_projection(embedded: object, store: Store, run: Run,
                                                       http_server: LocalServer) -> None:
    store(CHAIN)
    store(ROUTING)
    store(doc("mixed", f"""
  nodes:
    - id: flaky
      type: http
      config: {{url: "{http_server.url}/flaky?fail=1&key={{{{ input.key }}}}"}}
      retry: {{max_attempts: 2, backoff: fixed, initial_delay: 10ms, jitter: false}}
    - {{id: fail, type: fail, when: "{{{{ input.fail }}}}", config: {{message: stop}}}}
    - {{id: after, type: noop}}
  edges:
    - {{from: flaky, to: fail}}
    - {{from: fail, to: after, on: always}}
"""))
    for n in range(8):
        run("chain", {"n": n})
        run("routing", {"plan": ["pro", "free", "x"][n % 3], "age": n * 5})
        run("mixed", {"key": f"replay-{n}", "fail": n % 2 == 0})
    executions = list(Execution.objects.all())
    assert len(executions) == 24
    assert {e.status for e in executions} == {"succeeded"}
    for execution in executions:
        rebuilt, stored = replay(execution), stored_state(execution)
        assert rebuilt == stored, execution.pk
        seqs = list(execution.events.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))


def test_events_are_append_only(embedded: object, store: Store, run: Run) -> None:
    store(CHAIN)
    run("chain", {"n": 1})
    event = ExecutionEvent.objects.first()
    assert event is not None
    event.type = "tampered"
    with pytest.raises(ImmutableEventError):
        event.save()


def test_an_event_out_of_sequence_is_refused() -> None:
    from django.utils import timezone

    state = ExecutionState()
    with pytest.raises(ValueError, match="follows"):
        apply_event(state, Event(2, "execution.started", "", {}, timezone.now()))
