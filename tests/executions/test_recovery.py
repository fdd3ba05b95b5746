"""At least once: a node whose worker vanished is re-dispatched by the lease sweep."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from executions.dispatch import use_dispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.engine.runner import sweep_expired_leases
from executions.engine.step import Dispatch
from executions.engine.store import recent_journals
from executions.models import Execution, NodeRun
from executions.services.waiting import wait_for_finish
from tests.executions.conftest import Store, doc
from tests.executions.servers import LocalServer


class LosesFirstNode:
    """Drops the first node dispatch, as if the worker holding it was killed."""

    name = "lossy"

    def __init__(self, inner: EmbeddedDispatcher) -> None:
        self.inner = inner
        self.lost: list[Dispatch] = []

    def dispatch_all(self, works: list[Dispatch]) -> None:
        for work in works:
            if work.kind == "node" and not self.lost:
                self.lost.append(work)
                continue
            self.inner.dispatch(work)


@pytest.fixture
def lossy(transactional_db: None) -> Iterator[LosesFirstNode]:
    inner = EmbeddedDispatcher(workers=4)
    dispatcher = LosesFirstNode(inner)
    use_dispatcher(dispatcher)
    yield dispatcher
    use_dispatcher(None)
    inner.close()


def test_a_lost_node_is_rerun_after_its_lease_and_the_execution_finishes(
        lossy: LosesFirstNode, store: Store, editor: object, http_server: LocalServer) -> None:
    store(doc("recover", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/echo?x=1"}}}}
  output: "{{{{ nodes.call.output.body.query }}}}"
"""))
    response = editor.post("/api/v1/executions", {"workflow": "recover"}, format="json")  # type: ignore[attr-defined]
    execution_id = response.json()["id"]
    assert lossy.lost, "the first dispatch was dropped"
    assert not wait_for_finish(execution_id, 0.3)
    run = NodeRun.objects.get(execution_id=execution_id, node_id="call")
    assert run.status == "running"
    assert sweep_expired_leases() == 0  # the lease has not run out yet

    # Time passes: the lease is moved into the past behind the engine's back (no event), so
    # this process's copy of the execution's journal is stale and must be dropped with it.
    NodeRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    recent_journals.clear()
    assert sweep_expired_leases() == 1
    assert wait_for_finish(execution_id, 5)
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "succeeded"
    assert execution.output == {"x": "1"}
    assert NodeRun.objects.get(pk=run.pk).attempt == 2
    types = list(execution.events.values_list("type", flat=True))
    assert "node.requeued" in types


def test_a_duplicate_delivery_does_not_run_the_node_twice(embedded: EmbeddedDispatcher, store: Store,
                                                         editor: object, http_server: LocalServer) -> None:
    from executions.engine.runner import claim

    store(doc("once", f"""
  nodes:
    - {{id: call, type: delay, config: {{duration: 5s}}}}
    - {{id: other, type: http, config: {{url: "{http_server.url}/echo"}}}}
"""))
    response = editor.post("/api/v1/executions", {"workflow": "once"}, format="json")  # type: ignore[attr-defined]
    execution_id = response.json()["id"]
    # The delay node waits as scheduled; two deliveries of its task race to start it.
    first = claim(execution_id, "call", 1)
    second = claim(execution_id, "call", 1)
    assert first is not None
    assert second is None
