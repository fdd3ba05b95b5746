"""/metrics: executions and nodes counted from the event log (whichever process wrote it),
queue depths, database pools and live subscribers of every process, bounded labels."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from executions.models import Execution, ExecutionEvent, NodeRun
from monitoring.models import Tally, TallyCursor
from monitoring.services import system, tallies
from tests.executions.conftest import Run, Store, doc
from workflows.models import Tenant, Workflow, WorkflowVersion

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

COUNTED = doc("counted", """
  nodes:
    - {id: first, type: transform, config: {mapping: {n: "{{ input.n }}"}}}
    - {id: check, type: condition, config: {expression: "input.n > 0"}}
    - {id: done, type: noop}
  edges:
    - {from: first, to: check}
    - {from: check, to: done, port: "true"}
""")
FAILING = doc("failing", """
  nodes:
    - {id: boom, type: fail, config: {message: no}}
""")


def scrape(client: Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_the_metrics_are_counted_from_the_event_log_whichever_process_wrote_it(
        dispatcher: str, store: Store, run: Run, client: Client) -> None:
    """GIVEN a first scrape (counting starts there) WHEN runs succeed and fail (on a Celery
    worker, in another process, or in this one) THEN the next scrape counts each exactly."""
    store(COUNTED)
    store(FAILING)
    before = scrape(client)
    assert value(before, "mbflow_metrics_source_up", source="executions") == 1
    for n in (1, 2, -1):
        assert run("counted", {"n": n}, expect=200)["status"] == "succeeded"
    assert run("failing", {}, expect=200)["status"] == "failed"
    samples = scrape(client)
    counted, failing = {"tenant": "acme", "workflow": "counted"}, {"tenant": "acme", "workflow": "failing"}
    assert value(samples, "mbflow_executions_started_total", **counted) == 3
    assert value(samples, "mbflow_executions_finished_total", **counted, status="succeeded") == 3
    assert value(samples, "mbflow_executions_started_total", **failing) == 1
    assert value(samples, "mbflow_executions_finished_total", **failing, status="failed") == 1
    assert value(samples, "mbflow_executions_finished_total", **failing, status="succeeded") is None
    assert value(samples, "mbflow_execution_duration_seconds_count", **counted) == 3
    assert value(samples, "mbflow_execution_duration_seconds_bucket", **counted, le="+Inf") == 3
    assert value(samples, "mbflow_execution_duration_seconds_sum", **counted) > 0
    # Nodes by type: 3 transforms, 3 conditions, 2 noops (skipped when n <= 0: not counted).
    assert value(samples, "mbflow_node_runs_total", type="transform", status="succeeded") == 3
    assert value(samples, "mbflow_node_runs_total", type="condition", status="succeeded") == 3
    assert value(samples, "mbflow_node_runs_total", type="noop", status="succeeded") == 2
    assert value(samples, "mbflow_node_runs_total", type="fail", status="failed") == 1
    assert value(samples, "mbflow_node_duration_seconds_count", type="transform") == 3
    assert not [name for name, labels in samples if any(key in ("execution_id", "id") for key, _ in labels)]


@pytest.fixture
def known(db: None, tenant: Tenant) -> Callable[..., Execution]:
    """Executions with events at known times, written as the engine writes them."""
    workflow = Workflow.objects.create(tenant=tenant, name="known")
    version = WorkflowVersion.objects.create(workflow=workflow, number=1, yaml_text="", spec=_spec(),
                                             checksum=uuid.uuid4().hex)

    def make(ended: str, seconds: float, node_seconds: float, at: Any, retried: bool = False) -> Execution:
        execution = Execution.objects.create(tenant=tenant, workflow=workflow, version=version, status=ended,
                                             created_at=at, started_at=at, finished_at=at + timedelta(seconds=seconds))
        NodeRun.objects.create(execution=execution, node_id="call", status="succeeded", attempt=1, started_at=at,
                               finished_at=at + timedelta(seconds=node_seconds))
        retry = [("node.started", "call", at), ("node.retrying", "call", at)] if retried else []
        for seq, (kind, node, moment) in enumerate([
                ("execution.created", "", at), ("execution.started", "", at), *retry, ("node.started", "call", at),
                ("node.succeeded", "call", at + timedelta(seconds=node_seconds)),
                (f"execution.{ended}", "", at + timedelta(seconds=seconds))], start=1):
            ExecutionEvent.objects.create(execution=execution, seq=seq, type=kind, node_id=node, time=moment)
        return execution

    return make


def _spec() -> dict[str, Any]:
    return {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "known"},
            "spec": {"nodes": [{"id": "call", "type": "http", "config": {"url": "http://127.0.0.1/"}}]}}


def test_histograms_and_counters_are_exact_and_stay_so_once_folded(known: Callable[..., Execution],
                                                                   client: Client) -> None:
    scrape(client)  # counting starts here
    long_ago = timezone.now() - timedelta(hours=3)
    known("succeeded", 0.2, 0.004, long_ago)
    known("succeeded", 3.0, 0.3, long_ago)
    known("failed", 4000.0, 70.0, long_ago, retried=True)
    labels = {"tenant": "acme", "workflow": "known"}
    expected = {
        ("mbflow_executions_started_total", ()): 3,
        ("mbflow_executions_finished_total", (("status", "succeeded"),)): 2,
        ("mbflow_executions_finished_total", (("status", "failed"),)): 1,
        ("mbflow_execution_duration_seconds_bucket", (("le", "0.1"),)): 0,
        ("mbflow_execution_duration_seconds_bucket", (("le", "0.25"),)): 1,
        ("mbflow_execution_duration_seconds_bucket", (("le", "2.5"),)): 1,
        ("mbflow_execution_duration_seconds_bucket", (("le", "5.0"),)): 2,
        ("mbflow_execution_duration_seconds_bucket", (("le", "3600.0"),)): 2,
        ("mbflow_execution_duration_seconds_bucket", (("le", "+Inf"),)): 3,
        ("mbflow_execution_duration_seconds_count", ()): 3,
        ("mbflow_execution_duration_seconds_sum", ()): 4003.2,
    }
    node = {
        ("mbflow_node_runs_total", (("status", "succeeded"),)): 3,
        ("mbflow_node_duration_seconds_bucket", (("le", "0.005"),)): 1,
        ("mbflow_node_duration_seconds_bucket", (("le", "0.25"),)): 1,
        ("mbflow_node_duration_seconds_bucket", (("le", "0.5"),)): 2,
        ("mbflow_node_duration_seconds_bucket", (("le", "60.0"),)): 2,
        ("mbflow_node_duration_seconds_bucket", (("le", "300.0"),)): 3,
        ("mbflow_node_duration_seconds_sum", ()): 70.304,
        ("mbflow_node_retries_total", ()): 1,
    }

    def check(samples: Samples) -> None:
        for (name, extra), figure in expected.items():
            assert value(samples, name, **labels, **dict(extra)) == pytest.approx(figure), name
        for (name, extra), figure in node.items():
            assert value(samples, name, type="http", **dict(extra)) == pytest.approx(figure), name

    check(scrape(client))  # from the tail
    assert TallyCursor.objects.get().event_id < ExecutionEvent.objects.order_by("-id").first().pk
    assert tallies.fold(timezone.now() + timedelta(minutes=5)) > 0
    assert TallyCursor.objects.get().event_id == ExecutionEvent.objects.order_by("-id").first().pk
    assert Tally.objects.filter(metric="executions_started_total").get().value == 3
    check(scrape(client))  # from the tallies: the same
    known("succeeded", 1.0, 0.1, timezone.now())
    samples = scrape(client)
    assert value(samples, "mbflow_executions_started_total", **labels) == 4
    assert value(samples, "mbflow_execution_duration_seconds_bucket", **labels, le="1.0") == 2


def test_only_settled_events_are_folded(known: Callable[..., Execution], client: Client) -> None:
    """An event id is folded only once an event stamped 2 x SETTLE_SECONDS ago has a larger id:
    a smaller one still being committed then would be counted in the tail, not lost."""
    scrape(client)
    now = timezone.now()
    known("succeeded", 1.0, 0.5, now)
    cursor = TallyCursor.objects.get()
    TallyCursor.objects.filter(pk=1).update(folded_at=now - timedelta(hours=1))
    assert tallies.fold(now + timedelta(seconds=2 * tallies.SETTLE_SECONDS - 1)) == 0
    assert TallyCursor.objects.get().event_id == cursor.event_id
    TallyCursor.objects.filter(pk=1).update(folded_at=now - timedelta(hours=1))
    assert tallies.fold(now + timedelta(seconds=2 * tallies.SETTLE_SECONDS + 1)) > 0
    # Folded at most every FOLD_SECONDS.
    known("succeeded", 1.0, 0.5, now)
    assert tallies.fold(now + timedelta(seconds=2 * tallies.SETTLE_SECONDS + 2)) == 0


def test_workflows_beyond_the_bound_count_as_other(db: None, tenant: Tenant, client: Client, settings: Any
                                                   ) -> None:
    settings.MBFLOW_METRICS_MAX_WORKFLOWS = 2
    scrape(client)
    now = timezone.now()
    for name in ("wf-a", "wf-b", "wf-c", "wf-d"):
        workflow = Workflow.objects.create(tenant=tenant, name=name)
        execution = Execution.objects.create(tenant=tenant, workflow=workflow, status="running", started_at=now)
        ExecutionEvent.objects.create(execution=execution, seq=1, type="execution.created", time=now)
    samples = scrape(client)
    started = {dict(labels)["workflow"]: figure for (name, labels), figure in samples.items()
               if name == "mbflow_executions_started_total"}
    assert started == {"wf-a": 1, "wf-b": 1, "other": 2}


def test_metrics_need_the_token_when_one_is_set(db: None, client: Client, settings: Any) -> None:
    settings.MBFLOW_METRICS_TOKEN = "s3cret"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the connection pool is PostgreSQL's")
def test_this_process_pool_is_shown(db: None, client: Client) -> None:
    samples = scrape(client)
    mine = {"process": system.process_name(), "role": "web"}
    assert value(samples, "mbflow_db_pool_connections_max", **mine) == settings.DB_MAX_CONNECTIONS
    assert value(samples, "mbflow_db_pool_connections", **mine) >= 1
    assert value(samples, "mbflow_db_pool_requests_waiting", **mine) == 0


def test_a_celery_worker_process_reports_its_pool(dispatcher: str, client: Client) -> None:
    """GIVEN a real worker process (started by the tests) THEN a scrape of this process shows
    that worker's pool, from the snapshot it writes to Redis every REPORT_SECONDS."""
    if dispatcher != "celery":
        pytest.skip("a worker process runs with the Celery dispatcher")
    deadline = time.monotonic() + 3 * system.REPORT_SECONDS
    workers: list[dict[str, str]] = []
    while not workers and time.monotonic() < deadline:
        workers = [dict(labels) for name, labels in scrape(client) if name == "mbflow_db_pool_connections_max"
                   and dict(labels)["role"] == "worker"]
        if not workers:
            time.sleep(0.5)
    assert workers, "no worker snapshot within three report periods"
    assert all(worker["process"] != system.process_name() for worker in workers)


async def test_sse_streams_are_counted(transactional_db: None) -> None:
    from asgiref.sync import sync_to_async

    from executions.live.sse import event_stream

    execution = await sync_to_async(_running_execution)()
    subscribers = sync_to_async(_live)
    before = await subscribers()
    stream = event_stream(str(execution.pk), 0)
    assert (await anext(stream)).startswith("retry:")
    assert await subscribers() == {**before, "sse": before["sse"] + 1}
    await stream.aclose()
    assert await subscribers() == before
    await sync_to_async(connections.close_all)()  # those of asgiref's thread


def _running_execution() -> Execution:
    tenant = Tenant.objects.create(slug=f"t-{uuid.uuid4().hex[:8]}", name="T")
    return Execution.objects.create(tenant=tenant, status="running")


def _live() -> dict[str, float]:
    samples = scrape(Client())
    return {transport: value(samples, "mbflow_live_subscribers", transport=transport) or 0
            for transport in ("sse", "websocket")}


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs a Redis broker")
def test_queue_depths_count_waiting_messages(db: None) -> None:
    name = f"mbflow-test-depth-{uuid.uuid4().hex[:8]}"
    with Connection(settings.REDIS_URL) as broker:
        queue = broker.SimpleQueue(name)
        for n in range(3):
            queue.put({"n": n})
        try:
            assert system.queue_depths([name, f"{name}-never-used"]) == {name: 3, f"{name}-never-used": 0}
        finally:
            queue.clear()
            queue.close()


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs a Redis broker")
def test_the_scrape_shows_each_queue_with_a_broker(db: None, client: Client, settings: Any) -> None:
    settings.MBFLOW_DISPATCHER = "celery"
    samples = scrape(client)
    assert value(samples, "mbflow_metrics_source_up", source="broker") == 1
    queues = {dict(labels)["queue"] for name, labels in samples if name == "mbflow_queue_messages"}
    assert queues == {f"{settings.MBFLOW_QUEUE_PREFIX}.{kind}" for kind in ("light", "io", "llm")}
