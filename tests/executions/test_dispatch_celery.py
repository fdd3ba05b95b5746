"""Nodes started together travel to Celery together, and a worker runs them side by side, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from executions.dispatch import use_dispatcher
from executions.dispatch.celery import _grouped
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.engine.delivery import run_delivered_nodes
from executions.engine.ports import Dispatch
from executions.models import Execution, NodeRun
from executions.services.waiting import wait_for_finish
from tests.executions.conftest import Store, doc
from tests.executions.servers import LocalServer


def node(execution: str, node_id: str, queue: str = "io", eta: Any = None) -> Dispatch:
    return Dispatch("node", execution, node_id, 1, eta, queue)


def test_nodes_due_now_of_one_execution_and_queue_are_grouped_up_to_the_limit(settings: Any) -> None:
    settings.MBFLOW_NODES_PER_MESSAGE = 3
    later = timezone.now() + timedelta(minutes=1)
    works = [node("e1", "a"), node("e1", "b"), Dispatch("expire", "e1", eta=later, queue="light"),
             node("e1", "c", queue="llm"), node("e1", "d"), node("e2", "x"), node("e1", "e"),
             node("e1", "delayed", eta=later), node("e1", "f")]
    groups = [[(work.execution_id, work.kind, work.node_id) for work in group] for group in _grouped(works)]
    assert groups == [
        [("e1", "expire", "")],
        [("e1", "node", "a"), ("e1", "node", "b"), ("e1", "node", "d")],  # full: sent at once
        [("e1", "node", "delayed")],  # due later: alone, with its eta
        [("e1", "node", "c")],
        [("e2", "node", "x")],
        [("e1", "node", "e"), ("e1", "node", "f")],
    ]


class HoldsNodes:
    """Keeps the nodes a step starts, as a broker holds a message, and runs the rest here."""

    name = "holding"

    def __init__(self, inner: EmbeddedDispatcher) -> None:
        self.inner = inner
        self.held: list[Dispatch] = []

    def dispatch_all(self, works: list[Dispatch]) -> None:
        for work in works:
            if work.kind == "node" and work.eta is None:
                self.held.append(work)
            else:
                self.inner.dispatch(work)


@pytest.fixture
def holding(transactional_db: None) -> Iterator[HoldsNodes]:
    inner = EmbeddedDispatcher(workers=4)
    dispatcher = HoldsNodes(inner)
    use_dispatcher(dispatcher)
    yield dispatcher
    use_dispatcher(None)
    inner.close()


def test_a_message_of_several_nodes_runs_each_once_even_when_delivered_twice(
        holding: HoldsNodes, store: Store, editor: Any, http_server: LocalServer) -> None:
    store(doc("pair", f"""
  nodes:
    - {{id: left, type: http, config: {{url: "{http_server.url}/echo?key=pair-left"}}}}
    - {{id: right, type: http, config: {{url: "{http_server.url}/echo?key=pair-right"}}}}
    - {{id: join, type: merge, config: {{strategy: list}}}}
  edges:
    - {{from: left, to: join}}
    - {{from: right, to: join}}
  output: "{{{{ nodes.join.output | length }}}}"
"""))
    execution_id = editor.post("/api/v1/executions", {"workflow": "pair"}, format="json").json()["id"]
    items = [[work.node_id, work.attempt, work.portable] for work in holding.held]
    assert [item[0] for item in items] == ["left", "right"]
    assert set(NodeRun.objects.filter(execution_id=execution_id, status="running").values_list("worker", flat=True)) \
        == {""}

    run_delivered_nodes(execution_id, items)
    run_delivered_nodes(execution_id, items)  # the broker delivers the message again

    assert wait_for_finish(execution_id, 5)
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "succeeded", execution.error
    assert execution.output == 2
    assert http_server.hits["/echo?pair-left"] == 1
    assert http_server.hits["/echo?pair-right"] == 1
    assert all(worker for worker in NodeRun.objects.filter(execution_id=execution_id, node_id__in=["left", "right"])
               .values_list("worker", flat=True))
