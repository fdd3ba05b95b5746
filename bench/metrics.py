"""The metrics API on a million executions: the time of each call (PostgreSQL).

Run: `DATABASE_URL=postgresql://... .venv/bin/python bench/metrics.py [--executions 1000000]
[--days 30] [--rounds 15] [--periods 1h,24h,7d,30d] [--tail-executions 15000] [--fresh]`.

How: the bench works in a database of its own, `<the DATABASE_URL database>_metrics_bench`
(created, migrated), so a development database is left alone. It fills it once, by COPY, with
one tenant's executions spread evenly over the last `--days` days, among 20 workflows of very
unequal traffic (the busiest has 28% of the runs, 1/(rank) each), and 4 node runs each:
91% succeeded, 7% failed (its third node failed after 3 attempts), 2% cancelled; 30% of those
of the last 10 minutes and 1 in 2,000 of the others still running with a node waiting; durations
log-normal (median 2 s). A later run reuses the data
when it holds as many executions (`--fresh` makes it again), then VACUUM ANALYZE. Then the data
is rolled up as `manage.py mbflow_rollup_metrics` does (timed; the first run rolls up every hour
and day, later ones only those since; then VACUUM ANALYZE of the rollup tables, as autovacuum
would), so the calls read the hourly and daily rollups for whole hours and days and the raw rows
for the rest, as in production (`--no-rollups` drops them: every call reads the raw rows). Each call
goes through Django's test client (URL routing, API-key auth, the view, the JSON answer; no
socket) and is timed `--rounds` times after one warm-up: median, p95 and the slowest wall time,
and the CPU time per call of this process and the PostgreSQL backends (read from /proc when the
database runs on this machine; it does not grow with the machine's load as wall time does), per
endpoint (a workflow's metrics for the busiest workflow, the tenant summary, the tenant's node
rankings) and period. The executions in each window are printed beside the figure. Then
`/metrics` is timed with the events of `--tail-executions` executions (11 events each, as if
they all ran in the last 70 s: 100 executions a second, the most a scrape's tail holds at that
rate) in its tail, not yet folded, and the fold of those events is timed once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_database_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_metrics_bench"
    return urlunparse(parsed._replace(path="/" + name)), name


def _create_database(url: str, name: str) -> None:
    import psycopg

    parsed = urlparse(url)
    maintenance = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--executions", type=int, default=1_000_000)
parser.add_argument("--days", type=int, default=30)
parser.add_argument("--rounds", type=int, default=15)
parser.add_argument("--fresh", action="store_true", help="make the data again")
parser.add_argument("--periods", default="1h,24h,7d,30d", help="the periods timed, comma-separated")
parser.add_argument("--no-rollups", action="store_true",
                    help="time the calls on the raw rows only (drops the bench tenant's metrics rollups)")
parser.add_argument("--tail-executions", type=int, default=7_000,
                    help="executions whose events (10 each) are in /metrics' tail when it is timed (0: not timed)")
ARGS = parser.parse_args()

SOURCE_URL = os.environ.get("DATABASE_URL", "")
if not SOURCE_URL.startswith(("postgres://", "postgresql://")):
    sys.exit("bench/metrics.py needs DATABASE_URL pointing at PostgreSQL")
BENCH_URL, BENCH_NAME = _bench_database_url(SOURCE_URL)
_create_database(SOURCE_URL, BENCH_NAME)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from executions.models import Execution, ExecutionEvent, NodeRun  # noqa: E402
from monitoring.models import (  # noqa: E402
    ExecutionRollup,
    NodeRollup,
    RollupDirty,
    RollupPeriod,
    Tally,
    TallyCursor,
)
from monitoring.services import tallies  # noqa: E402
from monitoring.services.rollups import backfill  # noqa: E402
from workflows.models import ApiKey, Role, Tenant, Workflow, WorkflowVersion  # noqa: E402
from workflows.models.keys import generate_raw_key  # noqa: E402

WORKFLOWS = 20
NODES = ("validate", "charge", "ship", "notify")
TENANT = "bench-metrics"
CHUNK = 20_000


def _copy(model: Any, columns: list[str], rows: Any) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


EXECUTION_COLUMNS = ["id", "tenant_id", "workflow_id", "version_id", "status", "input", "output", "error",
                     "parent_node_id", "depth", "trigger", "total_steps", "last_seq", "created_at", "started_at",
                     "finished_at", "metadata"]
NODE_COLUMNS = ["execution_id", "node_id", "status", "attempt", "input", "output", "error", "started_at",
                "finished_at", "worker", "first_attempt", '"order"']


def _fill(tenant: Tenant, workflows: list[Workflow], count: int, days: int) -> None:
    """Executions in the order they were created, as the engine writes them, a chunk at a time,
    each chunk's node runs after it."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    ages = sorted((rng.uniform(0, days * 86400) for _ in range(count)), reverse=True)
    weights = [1 / rank for rank in range(1, len(workflows) + 1)]
    chosen = rng.choices([(w.pk, w.active_version_id) for w in workflows], weights=weights, k=count)
    ok_output = json.dumps({"ok": True, "total": 12.5})
    error = json.dumps({"code": "http_error", "message": "502 from the carrier"})
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        executions, nodes = [], []
        for index in range(first, min(first + CHUNK, count)):
            created = now - timedelta(seconds=ages[index])
            roll = rng.random()
            status = "failed" if 0.90 <= roll < 0.97 else "cancelled" if 0.97 <= roll < 0.99 else "succeeded"
            if (ages[index] < 600 and roll < 0.3) or roll > 0.9995:
                status = "running"  # the last 10 minutes' in flight, and a few waiting for approval
            begun = created + timedelta(milliseconds=rng.uniform(0, 50))
            seconds = math.exp(rng.gauss(0.7, 1.0))
            ended = begun + timedelta(seconds=seconds) if status != "running" else None
            execution_id = uuid.uuid4()
            payload = json.dumps({"order_id": index, "customer": f"c{index % 5000}", "items": 3})
            executions.append((execution_id, tenant.pk, *chosen[index], status, payload,
                               ok_output if status == "succeeded" else None, error if status == "failed" else None,
                               "", 0, '{"type": "api"}', len(NODES), 12, created, begun, ended, "{}"))
            nodes.extend(_node_rows(rng, execution_id, status, begun, seconds, ok_output, error))
        _copy(Execution, EXECUTION_COLUMNS, executions)
        _copy(NodeRun, NODE_COLUMNS, nodes)
        done = first + len(executions)
        print(f"\r  {done:,} executions and their node runs, {time.perf_counter() - started:.0f}s", end="",
              flush=True)
    print(flush=True)


def _node_rows(rng: random.Random, execution_id: Any, status: str, begun: datetime, seconds: float,
               ok_output: str, error: str) -> list[tuple[Any, ...]]:
    # Node by node: succeeded up to where the execution stopped; then the one that stopped it.
    outcome = {"succeeded": ["succeeded"] * 4, "failed": ["succeeded", "succeeded", "failed", "pending"],
               "cancelled": ["succeeded", "cancelled", "pending", "pending"],
               "running": ["succeeded", "waiting", "pending", "pending"]}[status]
    rows = []
    at = begun
    share = seconds / len(NODES)
    for order, (node_id, node_status) in enumerate(zip(NODES, outcome, strict=True)):
        if node_status == "pending":
            rows.append((execution_id, node_id, "pending", 0, None, None, None, None, None, "", 1, order))
            continue
        attempt = 3 if node_status == "failed" else (2 if rng.random() < 0.05 else 1)
        took = share * rng.uniform(0.5, 1.5)
        ends = node_status in ("succeeded", "failed")
        rows.append((execution_id, node_id, node_status, attempt, '{"order_id": 1}',
                     ok_output if node_status == "succeeded" else None, error if node_status == "failed" else None,
                     at, at + timedelta(seconds=took) if ends else None, "", 1, order))
        at += timedelta(seconds=took)
    return rows


def _prepare() -> tuple[str, str]:
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench metrics"})
    workflows = [_workflow(tenant, f"wf-{rank:02d}") for rank in range(WORKFLOWS)]
    have = Execution.objects.filter(tenant=tenant).count()
    if ARGS.fresh or have != ARGS.executions:
        print(f"Filling {BENCH_NAME}: {ARGS.executions:,} executions over {ARGS.days} days ({have:,} there)",
              flush=True)
        Execution.objects.filter(tenant=tenant).delete() if have < 50_000 else _truncate()
        for model in (ExecutionRollup, NodeRollup, RollupPeriod):  # the old data's, read as the new's otherwise
            model.objects.filter(tenant=tenant).delete()
        RollupDirty.objects.filter(tenant_id=tenant.pk).delete()
        _fill(tenant, workflows, ARGS.executions, ARGS.days)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Execution._meta.db_table}")
            cursor.execute(f"VACUUM ANALYZE {NodeRun._meta.db_table}")
    with connection.cursor() as cursor:  # data filled before executions had their version
        cursor.execute("UPDATE executions_execution e SET version_id = w.active_version_id FROM workflows_workflow w "
                       "WHERE e.workflow_id = w.id AND e.version_id IS NULL AND e.tenant_id = %s", [tenant.pk])
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name="bench", role=Role.VIEWER)
    key.set_secret(raw)
    key.save()
    return raw, workflows[0].name


def _workflow(tenant: Tenant, name: str) -> Workflow:
    """A workflow with one version of the four nodes (their types label /metrics' node figures)."""
    workflow, _ = Workflow.objects.get_or_create(tenant=tenant, name=name)
    if workflow.active_version_id is None:
        nodes = [{"id": node_id, "type": node_type, "config": {}} for node_id, node_type in zip(
            NODES, ("transform", "http", "http", "log"), strict=True)]
        spec = {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": name}, "spec": {"nodes": nodes}}
        version = WorkflowVersion.objects.create(workflow=workflow, number=1, yaml_text="", spec=spec,
                                                 checksum=uuid.uuid4().hex)
        Workflow.objects.filter(pk=workflow.pk).update(active_version=version)
        workflow.active_version = version
    return workflow


def _truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {NodeRun._meta.db_table}, {Execution._meta.db_table} CASCADE")


def _backends_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the bench database (read
    from /proc: the database runs on this machine; 0 when it does not)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_NAME])
        pids = [row[0] for row in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def _timed(client: Client, path: str, rounds: int) -> tuple[list[float], dict[str, Any], float]:
    """Wall times of each call (ms), the last answer, and the CPU per call (ms) of this process
    and the database backends: unlike the wall time, it does not grow with the machine's load."""
    body: dict[str, Any] = {}
    samples = []
    cpu = 0.0
    for index in range(rounds + 1):
        cpu_before = time.process_time() + _backends_cpu()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        if index:  # the first call warms caches (the key, the workflow lookup, plans)
            samples.append(elapsed)
            cpu += time.process_time() + _backends_cpu() - cpu_before
    return samples, body, cpu * 1000 / rounds


def _figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(samples):>8.1f} {p95:>8.1f} {max(samples):>8.1f}"


def _events_of_a_busy_minute(count: int, seconds: int) -> int:
    """The event log of the ``count`` newest executions as if they all ran in the last
    ``seconds`` (a busy install): created, started, each node started and ended, the end."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    ExecutionEvent.objects.filter(execution__tenant__slug=TENANT).delete()
    rows = []
    newest = Execution.objects.filter(tenant__slug=TENANT).order_by("-created_at").values_list("pk", "status")[:count]
    for execution_id, status in newest:
        at = now - timedelta(seconds=rng.uniform(0, seconds))
        kinds = [("execution.created", ""), ("execution.started", "")]
        for node_id in NODES:
            kinds += [("node.started", node_id), ("node.succeeded", node_id)]
        kinds.append((f"execution.{'succeeded' if status == 'running' else status}", ""))
        rows += [(execution_id, seq, kind, node, "{}", at) for seq, (kind, node) in enumerate(kinds, start=1)]
    _copy(ExecutionEvent, ["execution_id", "seq", "type", "node_id", "payload", "time"], rows)
    return len(rows)


def _time_metrics_scrape(client: Client) -> None:
    """GET /metrics with a busy install's last minutes in the tail (nothing folded yet), then
    the fold of those events once they are settled."""
    events = _events_of_a_busy_minute(ARGS.tail_executions, 70)
    first = ExecutionEvent.objects.filter(execution__tenant__slug=TENANT).order_by("id").values_list("id", flat=True)[0]
    TallyCursor.objects.all().delete()
    Tally.objects.all().delete()
    # Folded "in the future": no scrape folds while they are timed, each counts the whole tail.
    TallyCursor.objects.create(pk=1, event_id=first - 1, folded_at=datetime.now(UTC) + timedelta(hours=1))
    samples = []
    for index in range(ARGS.rounds + 1):
        started = time.perf_counter()
        response = client.get("/metrics")
        if index:
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"mbflow_executions_started_total" in response.content
    label = f"/metrics, {ARGS.tail_executions:,} executions in the tail"
    print(f"{label:<44} {events:>11,} {_figures(samples)}   (events)")
    TallyCursor.objects.filter(pk=1).update(folded_at=datetime.now(UTC) - timedelta(hours=1))
    started = time.perf_counter()
    moved = tallies.fold(datetime.now(UTC) + timedelta(minutes=10))
    elapsed = (time.perf_counter() - started) * 1000
    assert moved and Tally.objects.exists()
    print(f"{'fold of those events (once)':<44} {events:>11,} {elapsed:>8.1f}")


def _roll_up() -> None:
    """As ``manage.py mbflow_rollup_metrics`` does after an upgrade: rolls up what is not yet
    (all of it the first time; then the hours since the last run), timed."""
    tenant = Tenant.objects.get(slug=TENANT)
    if ARGS.no_rollups:
        RollupPeriod.objects.filter(tenant=tenant).delete()
        print("rollups dropped: every call reads the raw rows")
        return
    started = time.perf_counter()
    hours, days = backfill([tenant.pk])
    with connection.cursor() as cursor:  # as autovacuum would after the rollups' writes
        for model in (ExecutionRollup, NodeRollup, RollupPeriod):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    print(f"rollups: {hours:,} hours and {days:,} days rolled up in {time.perf_counter() - started:.1f}s "
          f"(manage.py mbflow_rollup_metrics); {ExecutionRollup.objects.filter(tenant=tenant).count():,} "
          f"execution rows, {NodeRollup.objects.filter(tenant=tenant).count():,} node rows in all")


def main() -> None:
    raw, busiest = _prepare()
    _roll_up()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    total = Execution.objects.count()
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"\n{total:,} executions, {NodeRun.objects.count():,} node runs in {BENCH_NAME}; "
          f"{ARGS.rounds} calls each (ms); load average {load} on {os.cpu_count()} CPUs\n")
    print(f"{'call':<44} {'executions':>11} {'median':>8} {'p95':>8} {'max':>8} {'cpu/call':>8}")
    for period in ARGS.periods.split(","):
        for label, path in ((f"workflows/{busiest}/metrics?period={period}",
                             f"/api/v1/workflows/{busiest}/metrics?period={period}"),
                            (f"metrics/summary?period={period}", f"/api/v1/metrics/summary?period={period}"),
                            (f"metrics/nodes?period={period}", f"/api/v1/metrics/nodes?period={period}")):
            samples, body, cpu = _timed(client, path, ARGS.rounds)
            count = f"{body['metrics']['execution_count']:,}" if "metrics" in body else "(as above)"
            print(f"{label:<44} {count:>11} {_figures(samples)} {cpu:>8.1f}", flush=True)
    if ARGS.tail_executions:
        _time_metrics_scrape(Client())
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
