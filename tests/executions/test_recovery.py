"""At least once: a node whose worker vanished is re-dispatched by the lease sweep, a worker that
lives keeps its node, and a stale or duplicate delivery never runs a node again.

Here a worker is this test process: ``runner.claim`` / ``runner.run_node`` are what a Celery
task runs. tests/executions/test_worker_crash.py kills real worker processes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from executions.dispatch import use_dispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.engine import runner
from executions.engine.leases import heartbeat
from executions.engine.ports import Dispatch
from executions.executors import Executor, NodeContext, executor
from executions.models import Execution, NodeRun
from executions.services.waiting import wait_for_finish
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.holding import HoldingServer
from tests.executions.servers import LocalServer
from workflows.spec import NodeConfig, node_type


@node_type("test_overstay", title="Overstay (tests)", category="Tests")
class OverstayConfig(NodeConfig):
    """Runs until the test lets it go, whatever its timeout."""


@executor("test_overstay")
class OverstayExecutor(Executor):
    runs = 0
    let_go = threading.Event()

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        type(self).runs += 1
        type(self).let_go.wait(120)
        return {"late": True}


class LosesNodes:
    """Drops the node dispatches of attempts in ``lose`` (node id, attempt), as if the worker
    holding each was killed, and the first node dispatch when ``lose`` is empty."""

    name = "lossy"

    def __init__(self, inner: EmbeddedDispatcher) -> None:
        self.inner = inner
        self.lose: set[tuple[str, int]] = set()
        self.lost: list[Dispatch] = []

    def dispatch_all(self, works: list[Dispatch]) -> None:
        for work in works:
            if work.kind == "node" and ((work.node_id, work.attempt) in self.lose or not (self.lose or self.lost)):
                self.lost.append(work)
                continue
            self.inner.dispatch(work)


@pytest.fixture
def lossy(transactional_db: None, settings: Any) -> Iterator[LosesNodes]:
    # The tests sweep by themselves; the dispatcher's timer must not sweep between their steps.
    settings.MBFLOW_LEASE_SWEEP_SECONDS = 3600
    inner = EmbeddedDispatcher(workers=4)
    dispatcher = LosesNodes(inner)
    use_dispatcher(dispatcher)
    yield dispatcher
    use_dispatcher(None)
    inner.close()


@pytest.fixture
def target() -> Iterator[HoldingServer]:
    server = HoldingServer()
    yield server
    server.close()


def start(editor: Any, workflow: str) -> str:
    response = editor.post("/api/v1/executions", {"workflow": workflow}, format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def keys_sent(server: LocalServer, marker: str) -> list[str]:
    """The Idempotency-Key of each request that reached ``server`` with ``?x=<marker>``."""
    with server.lock:
        return [request["headers"].get("idempotency-key") for request in server.requests
                if request["query"].get("x") == marker]


def expire_lease(execution_id: str, node_id: str) -> None:
    """Time passes: the lease in the row runs out (behind the engine's back, with no event)."""
    NodeRun.objects.filter(execution_id=execution_id, node_id=node_id).update(
        lease_until=timezone.now() - timedelta(seconds=1))


def run_as_worker(execution_id: str, node_id: str, attempt: int) -> None:
    """What the Celery task of one node runs, on a thread of its own."""
    try:
        runner.run_node(execution_id, node_id, attempt)
    finally:
        connection.close()


def one_call(marker: str, url: str) -> str:
    return f"""
  nodes:
    - {{id: call, type: http, config: {{method: POST, url: "{url}/echo?x={marker}"}}}}
  output: "{{{{ nodes.call.output.body.query }}}}"
"""


def test_a_lost_node_is_rerun_after_its_lease_and_the_execution_finishes(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer) -> None:
    store(doc("recover", one_call("recover", http_server.url)))
    execution_id = start(editor, "recover")
    assert lossy.lost, "the first dispatch was dropped"
    assert not wait_for_finish(execution_id, 0.3)
    run = NodeRun.objects.get(execution_id=execution_id, node_id="call")
    assert run.status == "running"
    assert runner.sweep_expired_leases() == 0  # the lease has not run out yet

    # This process's copy of the execution's journal still has the lease the node started
    # with: the sweep goes by the row's.
    expire_lease(execution_id, "call")
    assert runner.sweep_expired_leases() == 1
    assert wait_for_finish(execution_id, 5)
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "succeeded"
    assert execution.output == {"x": "recover"}
    assert NodeRun.objects.get(pk=run.pk).attempt == 2
    types = list(execution.events.values_list("type", flat=True))
    assert "node.requeued" in types
    # Attempt 2 makes attempt 1's call again, under attempt 1's key.
    assert keys_sent(http_server, "recover") == [f"{execution_id}:call:1"]
    started = execution.events.filter(type="node.started").order_by("seq")
    assert [event.payload.get("redelivery_of") for event in started] == [None, 1]


def test_a_stale_delivery_of_a_lost_attempt_does_not_run_the_node_again(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer) -> None:
    """GIVEN a node lost with its worker, requeued and run again to success
    WHEN the broker delivers the lost attempt's message again (its visibility timeout passed),
    and the requeued attempt's message a second time
    THEN neither runs the node, alone or in a message of several nodes."""
    store(doc("stale", one_call("stale", http_server.url)))
    execution_id = start(editor, "stale")
    expire_lease(execution_id, "call")
    assert runner.sweep_expired_leases() == 1
    assert wait_for_finish(execution_id, 5)
    events = Execution.objects.get(pk=execution_id).events.count()

    runner.run_node(execution_id, "call", 1)
    runner.run_node(execution_id, "call", 2)
    won = runner.claim_together(execution_id, [("call", 1), ("call", 2)])
    assert won == set()

    assert keys_sent(http_server, "stale") == [f"{execution_id}:call:1"]
    assert Execution.objects.get(pk=execution_id).events.count() == events
    assert NodeRun.objects.get(execution_id=execution_id, node_id="call").attempt == 2


def test_a_node_lost_twice_keeps_the_key_of_the_call_it_makes_again(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer) -> None:
    """GIVEN attempt 1 lost, and attempt 2 (its redelivery) started by a worker that died too
    THEN attempt 3 still sends attempt 1's key."""
    store(doc("twice", one_call("twice", http_server.url)))
    lossy.lose = {("call", 1), ("call", 2)}
    execution_id = start(editor, "twice")
    expire_lease(execution_id, "call")
    assert runner.sweep_expired_leases() == 1
    assert runner.claim(execution_id, "call", 2) is not None  # started, then its worker died
    expire_lease(execution_id, "call")
    assert runner.sweep_expired_leases() == 1
    assert wait_for_finish(execution_id, 5)
    assert Execution.objects.get(pk=execution_id).status == "succeeded"
    assert NodeRun.objects.get(execution_id=execution_id, node_id="call").attempt == 3
    assert keys_sent(http_server, "twice") == [f"{execution_id}:call:1"]


def test_a_claimed_node_whose_worker_stopped_is_requeued_within_the_worker_lease(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer, settings: Any) -> None:
    """GIVEN a node without a timeout (it waits in the queue up to 330 s) claimed by a worker
    WHEN that worker renews nothing (it died)
    THEN a delivery of its message meanwhile runs nothing, and the sweep requeues the node once
    the worker's lease ran out, long before 330 s."""
    settings.MBFLOW_LEASE_SECONDS = 3
    store(doc("claimed", one_call("claimed", http_server.url)))
    execution_id = start(editor, "claimed")
    queued = NodeRun.objects.get(execution_id=execution_id, node_id="call").lease_until
    assert queued is not None and queued > timezone.now() + timedelta(seconds=300)

    assert runner.claim_together(execution_id, [("call", 1)]) == {"call"}
    held = NodeRun.objects.get(execution_id=execution_id, node_id="call").lease_until
    assert held is not None and held <= timezone.now() + timedelta(seconds=3)
    # The broker gives the dead worker's message back at once (RabbitMQ, or a short visibility
    # timeout): the attempt is its dead worker's until the sweep takes it back.
    runner.run_node(execution_id, "call", 1)
    assert keys_sent(http_server, "claimed") == []
    deadline = time.monotonic() + 60
    while runner.sweep_expired_leases() == 0:
        assert time.monotonic() < deadline, "the worker's lease never ran out"
        time.sleep(0.2)
    assert timezone.now() >= held
    assert wait_for_finish(execution_id, 5)
    assert Execution.objects.get(pk=execution_id).status == "succeeded"
    assert keys_sent(http_server, "claimed") == [f"{execution_id}:call:1"]


def test_a_live_worker_keeps_its_node_past_the_lease_by_its_heartbeat(
        lossy: LosesNodes, store: Store, editor: object, target: HoldingServer, settings: Any) -> None:
    """GIVEN a worker running a node whose remote call takes longer than the worker lease
    THEN the heartbeat keeps renewing the lease, the sweep leaves the node alone, and the node
    runs once."""
    settings.MBFLOW_LEASE_SECONDS = 3
    store(doc("slow", f"""
  nodes:
    - {{id: call, type: http, config: {{method: POST, url: "{target.url}/slow?execution={{{{ execution.id }}}}"}}}}
"""))
    execution_id = start(editor, "slow")
    worker = threading.Thread(target=run_as_worker, args=(execution_id, "call", 1))
    worker.start()
    try:
        assert target.wait_until(lambda calls: len(calls) == 1, 30)
        first = NodeRun.objects.get(execution_id=execution_id, node_id="call").lease_until
        assert first is not None and first <= timezone.now() + timedelta(seconds=3)
        # Wait until the lease the claim set has run out, and the heartbeat moved it on.
        deadline = time.monotonic() + 60
        while timezone.now() <= first + timedelta(seconds=1):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert runner.sweep_expired_leases() == 0
        renewed = NodeRun.objects.get(execution_id=execution_id, node_id="call").lease_until
        assert renewed is not None and renewed > timezone.now()
    finally:
        target.released.set()
        worker.join(30)
    assert wait_for_finish(execution_id, 5)
    run = NodeRun.objects.get(execution_id=execution_id, node_id="call")
    assert (run.status, run.attempt) == ("succeeded", 1)
    assert target.keys_by_execution() == {execution_id: [f"{execution_id}:call:1"]}


def test_the_heartbeat_only_moves_leases_later_and_only_of_running_nodes_it_holds(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer, settings: Any) -> None:
    store(doc("beats", one_call("beats", http_server.url)))
    lossy.lose = {("call", 1)}
    claimed, queued = start(editor, "beats"), start(editor, "beats")
    lossy.lose = set()
    finished = start(editor, "beats")
    assert wait_for_finish(finished, 5)
    settings.MBFLOW_LEASE_SECONDS = 3
    assert runner.claim_together(claimed, [("call", 1)]) == {"call"}
    short = lease_of(claimed)
    waiting_in_queue = lease_of(queued)  # the lease of a node no worker took yet: 330 s

    settings.MBFLOW_LEASE_SECONDS = 30
    with heartbeat.holding(claimed, "call", 1, None), heartbeat.holding(queued, "call", 1, None), \
            heartbeat.holding(finished, "call", 1, None):
        assert heartbeat.beat() == 1
    assert heartbeat.held() == []

    assert lease_of(claimed) > short + timedelta(seconds=20)
    assert lease_of(queued) == waiting_in_queue
    assert NodeRun.objects.get(execution_id=finished, node_id="call").lease_until is None


def lease_of(execution_id: str) -> Any:
    lease = NodeRun.objects.get(execution_id=execution_id, node_id="call").lease_until
    assert lease is not None
    return lease


def test_a_duplicate_delivery_does_not_run_the_node_twice(embedded: EmbeddedDispatcher, store: Store,
                                                         editor: object, http_server: LocalServer) -> None:
    store(doc("once", f"""
  nodes:
    - {{id: call, type: delay, config: {{duration: 5s}}}}
    - {{id: other, type: http, config: {{url: "{http_server.url}/echo"}}}}
"""))
    execution_id = start(editor, "once")
    # The delay node waits as scheduled; two deliveries of its task race to start it.
    first = runner.claim(execution_id, "call", 1)
    second = runner.claim(execution_id, "call", 1)
    assert first is not None
    assert second is None


def test_a_node_that_overstays_its_timeout_on_a_live_worker_times_out_there_and_runs_nowhere_else(
        lossy: LosesNodes, store: Store, editor: object, settings: Any) -> None:
    """GIVEN a node whose executor ignores its 1 s timeout, on a worker that lives
    THEN past its timeout and the worker lease its worker fails it with a timeout, instead of
    leaving it for the sweep to send to another worker; what it returns later is ignored."""
    settings.MBFLOW_LEASE_SECONDS = 3
    OverstayExecutor.runs = 0
    OverstayExecutor.let_go.clear()
    store(doc("overstay", """
  nodes:
    - {id: stuck, type: test_overstay, timeout: 1s, config: {}}
"""))
    execution_id = start(editor, "overstay")
    worker = threading.Thread(target=run_as_worker, args=(execution_id, "stuck", 1))
    worker.start()
    try:
        assert wait_for_finish(execution_id, 60)
        run = NodeRun.objects.get(execution_id=execution_id, node_id="stuck")
        assert (run.status, run.attempt, run.error["code"]) == ("timed_out", 1, "timeout")
        assert "did not finish within 4s on its worker" in run.error["message"]
        assert Execution.objects.get(pk=execution_id).status == "failed"
        assert runner.sweep_expired_leases() == 0
        events = Execution.objects.get(pk=execution_id).events.count()
    finally:
        OverstayExecutor.let_go.set()
        worker.join(30)
    assert not worker.is_alive()  # the run returned; its late output was dropped
    assert OverstayExecutor.runs == 1
    assert NodeRun.objects.get(execution_id=execution_id, node_id="stuck").status == "timed_out"
    assert Execution.objects.get(pk=execution_id).events.count() == events


def test_a_sub_workflow_node_handed_to_its_child_gets_its_long_lease_back(
        lossy: LosesNodes, store: Store, editor: object, http_server: LocalServer, settings: Any) -> None:
    """GIVEN a worker that claimed a sub_workflow node (a short lease, renewed while it runs)
    WHEN its run starts the child and hands the node over to it
    THEN the node keeps running with the long lease of a node waiting for its child, which the
    sweep leaves alone once the worker's lease would have run out."""
    settings.MBFLOW_LEASE_SECONDS = 3
    store(doc("child", one_call("child", http_server.url)))
    store(doc("parent", """
  nodes:
    - {id: sub, type: sub_workflow, config: {workflow: child}}
"""))
    lossy.lose = {("sub", 1), ("call", 1)}  # the child's node too: the child stays running
    execution_id = start(editor, "parent")
    run_as_worker(execution_id, "sub", 1)
    run = NodeRun.objects.get(execution_id=execution_id, node_id="sub")
    assert run.status == "running"
    assert run.lease_until is not None and run.lease_until > timezone.now() + timedelta(days=6)
    assert runner.sweep_expired_leases() == 0


def test_the_sweep_sends_again_a_retry_whose_timed_message_was_lost(embedded: Any, store: Store, run: Run,
                                                                    http_server: LocalServer, settings: Any) -> None:
    """GIVEN a retry's timed message dropped (its worker died before the broker gave it back)
    WHEN its time is a lease past and the sweep runs THEN the node is sent again and the run ends."""
    # Timers as messages: kept as rows (the default), the retry has no message to lose.
    settings.MBFLOW_TIMERS = "messages"
    key = uuid.uuid4().hex
    store(doc("lost-retry", f"""
  nodes:
    - id: flaky
      type: http
      retry: {{max_attempts: 2, initial_delay: 0.05s}}
      config: {{url: "{http_server.url}/flaky?fail=1&key={key}"}}
"""))

    class DropsTimed:
        name = "drops-timed"

        def dispatch_all(self, works: Any) -> None:
            embedded.dispatch_all([work for work in works if work.eta is None])

    use_dispatcher(DropsTimed())
    try:
        started = run("lost-retry", wait=10)
        assert steps(started)["flaky"]["status"] == "retrying"
    finally:
        use_dispatcher(embedded)
    NodeRun.objects.filter(execution_id=started["id"], node_id="flaky").update(
        scheduled_at=Execution.objects.get(pk=started["id"]).created_at - timedelta(minutes=5))
    runner.sweep_expired_leases()
    assert wait_for_finish(started["id"], 30)
    assert Execution.objects.get(pk=started["id"]).status == "succeeded"


def test_the_sweep_sends_an_overdue_node_again_once_a_lease_not_on_every_sweep(
        embedded: Any, store: Store, run: Run, http_server: LocalServer, settings: Any) -> None:
    """GIVEN a node a lease overdue that has not started (lost, or only behind a backlog of due
    runs) WHEN the sweep runs again and again THEN it is sent again once per lease, not once per
    sweep (each duplicate would add to the backlog), and again after a lease."""
    settings.MBFLOW_TIMERS = "messages"  # kept as rows (the default), a timer has no message to lose
    key = uuid.uuid4().hex
    store(doc("overdue-once", f"""
  nodes:
    - id: flaky
      type: http
      retry: {{max_attempts: 2, initial_delay: 0.05s}}
      config: {{url: "{http_server.url}/flaky?fail=1&key={key}"}}
"""))
    sent: list[Any] = []

    class DropsTimed:
        name = "drops-timed"

        def dispatch_all(self, works: Any) -> None:
            embedded.dispatch_all([work for work in works if work.eta is None])

    class Records:
        name = "records"

        def dispatch_all(self, works: Any) -> None:
            sent.extend(works)

    use_dispatcher(DropsTimed())
    try:
        started = run("overdue-once", wait=10)
        assert steps(started)["flaky"]["status"] == "retrying"
        NodeRun.objects.filter(execution_id=started["id"], node_id="flaky").update(
            scheduled_at=Execution.objects.get(pk=started["id"]).created_at - timedelta(minutes=5))
        use_dispatcher(Records())
        for _ in range(3):
            runner.sweep_expired_leases()
        mine = [work.node_id for work in sent if work.execution_id == started["id"]]
        assert mine == ["flaky"]  # once, not three times
        for resent in [entry for entry in runner._resent if entry[0] == started["id"]]:
            runner._resent[resent] -= settings.MBFLOW_LEASE_SECONDS + 1  # a lease later
        runner.sweep_expired_leases()
        assert [work.node_id for work in sent if work.execution_id == started["id"]] == ["flaky", "flaky"]
    finally:
        use_dispatcher(embedded)
    for resent in [entry for entry in runner._resent if entry[0] == started["id"]]:
        runner._resent[resent] -= settings.MBFLOW_LEASE_SECONDS + 1
    runner.sweep_expired_leases()
    assert wait_for_finish(started["id"], 30)
    assert Execution.objects.get(pk=started["id"]).status == "succeeded"
