"""Retention benchmark: chain-40 latency with and without the pruner deleting a million events.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_retention \\
        .venv/bin/python bench/retention.py [--events 1000000] [--window 10] [--batch 100] [--pause S]

How: the database (PostgreSQL) is migrated; a tenant gets a 40-node chain of light `transform`
nodes with ``retention: {succeeded: 1d}``, and old runs of it are written straight by SQL
(``generate_series``): executions finished 30 days ago, each with 40 node runs and 40 events,
until ``--events`` events are stored. Then, in one process, one client runs the chain through the
whole Django stack in-process (Django's test client: routing, API-key auth, DRF, the engine, the
database; light nodes run inline, no socket), one request after the other, in interleaved rounds
until every old execution is deleted (or ``--rounds``):
  - ``--window`` seconds with the pruner idle ("off"),
  - ``--window`` seconds while ``retention.prune`` (the function Celery beat and the embedded
    tick call, in a process of its own as a Celery worker would run it, set up before the clock
    starts) deletes old executions in batches of ``--batch`` ("on"); by default it rests after
    each batch so as to work MBFLOW_RETENTION_DUTY of the time, as in production (``--pause``
    seconds instead).
Between the windows (not timed) this process rolls the metrics up as the scheduler's tick does
every few seconds in production (``monitoring.services.rollups.roll_up``): it takes the marks each
run leaves for its hour's rollup, which would otherwise pile up (a hundred thousand in a run) and
make every batch's ``keep_pruned`` look through all of them. Each round prints p50/p95 of the
request's wall time off and on, what the pruner deleted and the 1-minute load average; then the
rounds pooled, the pruning rate (per second of the "on" windows and per second the pruner worked),
the share of its work spent in the ``on_prune`` cleaners (the payload store, the metrics'
``keep_pruned``), its process's CPU, and the batches that gave way to a lock. The client,
PostgreSQL and the pruner share the machine's cores (with whatever else runs on it): interleaving
spreads that noise over both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import selectors
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from executions.dispatch import use_dispatcher  # noqa: E402
from executions.dispatch.embedded import EmbeddedDispatcher  # noqa: E402
from executions.models import Execution, ExecutionEvent, NodeRun  # noqa: E402
from executions.services import retention  # noqa: E402
from monitoring.services import rollups  # noqa: E402
from workflows.models import ApiKey, Role, Tenant, Workflow  # noqa: E402
from workflows.models.keys import generate_raw_key  # noqa: E402
from workflows.services.documents import check_document  # noqa: E402
from workflows.services.workflows import do_create_workflow  # noqa: E402

LENGTH = 40


def chain(name: str) -> str:
    nodes = ["    - {id: n0, type: transform, config: {mapping: {v: \"{{ input.v }}\"}}}"]
    nodes += [f"    - {{id: n{i}, type: transform, config: {{mapping: {{v: \"{{{{ upstream.v + 1 }}}}\"}}}}}}"
              for i in range(1, LENGTH)]
    edges = [f"    - {{from: n{i - 1}, to: n{i}}}" for i in range(1, LENGTH)]
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n"
            "  retention: {succeeded: 1d}\n  nodes:\n" + "\n".join(nodes) + "\n  edges:\n" + "\n".join(edges)
            + f"\n  output: \"{{{{ nodes.n{LENGTH - 1}.output.v }}}}\"\n")


def _insert(model: type, values: dict[str, str], source: str, params: list[object]) -> None:
    """INSERT INTO model SELECT ... FROM source: each column from ``values`` (SQL) or its default."""
    columns, selects, args = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.get_internal_type() in ("AutoField", "BigAutoField"):
            continue  # the database numbers the rows
        columns.append(connection.ops.quote_name(field.column))
        if field.column in values:
            selects.append(values[field.column])
        else:
            default = field.get_default()
            selects.append("%s")
            args.append(field.get_db_prep_save(default, connection))
    sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
           f"SELECT {', '.join(selects)} FROM {source}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, *params])


def seed(tenant: Tenant, workflow: Workflow, events: int) -> int:
    """Old runs of ``workflow`` with LENGTH events and node runs each; returns how many."""
    executions = max(1, events // LENGTH)
    finished = timezone.now() - timedelta(days=30)
    table = Execution._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE old_runs AS SELECT gen_random_uuid() AS id "
                       f"FROM generate_series(1, {executions})")
    values = {"id": "old_runs.id", "tenant_id": f"'{tenant.pk}'", "workflow_id": f"'{workflow.pk}'",
              "version_id": f"'{workflow.active_version_id}'", "status": "'succeeded'",
              "total_steps": str(LENGTH), "last_seq": str(LENGTH), "created_at": f"'{finished.isoformat()}'",
              "started_at": f"'{finished.isoformat()}'", "finished_at": f"'{finished.isoformat()}'"}
    _insert(Execution, values, "old_runs", [])
    stamp = f"'{finished.isoformat()}'::timestamptz"
    _insert(ExecutionEvent, {"execution_id": "old_runs.id", "seq": "s", "type": "'node.succeeded'",
                             "node_id": "'n' || (s - 1)", "payload": "'{\"output\": {\"v\": 1}}'::jsonb",
                             "time": stamp}, f"old_runs, generate_series(1, {LENGTH}) AS s", [])
    _insert(NodeRun, {"execution_id": "old_runs.id", "node_id": "'n' || (s - 1)", "status": "'succeeded'",
                      "attempt": "1", "input": "'{\"v\": 1}'::jsonb", "output": "'{\"v\": 1}'::jsonb",
                      "started_at": stamp, "finished_at": stamp, "order": "s - 1"},
            f"old_runs, generate_series(1, {LENGTH}) AS s", [])
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE old_runs")
        cursor.execute(f"ANALYZE {table}; ANALYZE {ExecutionEvent._meta.db_table}; ANALYZE {NodeRun._meta.db_table}")
    return executions


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def figures(name: str, samples: list[float]) -> str:
    return (f"{name:<28} runs {len(samples):>4}  p50 {statistics.median(samples) * 1000:6.1f} ms  "
            f"p95 {pct(samples, 95) * 1000:6.1f} ms  p99 {pct(samples, 99) * 1000:6.1f} ms")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def pruner_process(args: argparse.Namespace) -> None:
    """The pruner's side: each ``go SECONDS`` line prunes for that long (or until nothing is left)
    and answers one JSON line with what it did."""
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "go":
            return
        begin, cpu = time.perf_counter(), time.process_time()
        result = retention.prune(batch=args.batch or None, pause=args.pause,
                                 until=time.monotonic() + float(words[1]))
        print(json.dumps({**vars(result), "seconds": time.perf_counter() - begin,
                          "cpu": time.process_time() - cpu}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of each off and on window")
    parser.add_argument("--rounds", type=int, default=None, help="stop after this many rounds")
    parser.add_argument("--batch", type=int, default=None, help="executions per batch (MBFLOW_RETENTION_BATCH)")
    parser.add_argument("--pause", type=float, default=None,
                        help="seconds the pruner waits between batches (default: MBFLOW_RETENTION_DUTY's)")
    parser.add_argument("--prune", action="store_true", help=argparse.SUPPRESS)  # the pruner process
    args = parser.parse_args()
    if args.prune:
        pruner_process(args)
        return
    if not settings.IS_POSTGRES:
        raise SystemExit("bench/retention.py measures PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    # A tenant of its own per run (what earlier runs left is old and succeeded: pruned as well).
    tenant = Tenant.objects.create(slug=f"bench-retention-{secrets.token_hex(4)}", name="Bench retention")
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name="bench", role=Role.EDITOR)
    key.set_secret(raw)
    key.save()
    do_create_workflow(tenant, check_document({"yaml": chain("chain40")}), message="", author="bench")
    workflow = Workflow.objects.get(tenant=tenant, name="chain40")
    started = time.perf_counter()
    executions = seed(tenant, workflow, args.events)
    stored = ExecutionEvent.objects.filter(execution__tenant=tenant).count()
    print(f"MBFlow retention benchmark - PostgreSQL {settings.DATABASES['default']['NAME']}, {os.cpu_count()} CPUs, "
          f"load average {load()}")
    print(f"seeded {executions:,} old executions, {stored:,} events and {executions * LENGTH:,} node runs "
          f"in {time.perf_counter() - started:.1f} s")
    dispatcher = EmbeddedDispatcher(workers=8)
    use_dispatcher(dispatcher)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def one_run() -> float:
        begin = time.perf_counter()
        response = client.post("/api/v1/executions", {"workflow": "chain40", "input": {"v": 1}, "wait": 30},
                               content_type="application/json")
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200 and response.json()["status"] == "succeeded", response.content[:300]
        return elapsed

    # The pruner runs where Celery beat sends it in production: a process of its own (started and
    # set up before the measuring starts, so its imports are not counted against the runs).
    pause = ["--pause", str(args.pause)] if args.pause is not None else []
    pruner = subprocess.Popen([sys.executable, __file__, "--prune", "--batch", str(args.batch or 0), *pause],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert pruner.stdin and pruner.stdout and pruner.stdout.readline().strip() == "ready"
    for _ in range(20):
        one_run()  # warm-up
    off: list[float] = []
    on: list[float] = []
    totals = {"executions": 0, "events": 0, "node_runs": 0, "batches": 0, "gave_way": 0, "seconds": 0.0,
              "working": 0.0, "cleaning": 0.0, "cpu": 0.0}
    worse = rounds = 0
    selector = selectors.DefaultSelector()
    selector.register(pruner.stdout, selectors.EVENT_READ)
    while args.rounds is None or rounds < args.rounds:
        quiet: list[float] = []
        deadline = time.perf_counter() + args.window
        while time.perf_counter() < deadline:
            quiet.append(one_run())
        rollups.roll_up()  # the tick's rollups, between the windows (see the module)
        pruner.stdin.write(f"go {args.window}\n")
        pruner.stdin.flush()
        busy: list[float] = []
        while not selector.select(timeout=0):
            busy.append(one_run())
        done = json.loads(pruner.stdout.readline())
        rollups.roll_up()
        if not done["executions"]:
            break  # nothing was left to prune: this window measured nothing
        rounds += 1
        off += quiet
        if busy:
            on += busy
            worse += pct(busy, 95) > pct(quiet, 95)
        for name in totals:
            totals[name] += done[name]
        print(f"round {rounds:>3}  off p50 {statistics.median(quiet) * 1000:6.1f} p95 {pct(quiet, 95) * 1000:6.1f} ms"
              f"  on p50 {statistics.median(busy or [0]) * 1000:6.1f} p95 {pct(busy or [0], 95) * 1000:6.1f} ms"
              f"  pruned {done['executions']:>5} executions ({done['events']:>7,} events)  load {load()}",
              flush=True)
    pruner.stdin.write("quit\n")
    pruner.stdin.flush()
    pruner.wait()
    use_dispatcher(None)
    dispatcher.close()
    if not rounds or not on:
        print("nothing was pruned")
        return
    print(figures("chain-40, pruner idle", off))
    print(figures("chain-40, while pruning", on))
    print(f"p50 on/off {statistics.median(on) / statistics.median(off):.2f}, "
          f"p95 on/off {pct(on, 95) / pct(off, 95):.2f}; the round's p95 was higher "
          f"while pruning in {worse} of {rounds} rounds")
    seconds, working = totals["seconds"], max(totals["working"], 1e-9)
    rest = (f"{args.pause:g} s apart" if args.pause is not None
            else f"working {settings.MBFLOW_RETENTION_DUTY:g} of the time")
    print(f"pruner: {totals['executions']:,} executions, {totals['events']:,} events, {totals['node_runs']:,} node "
          f"runs in {totals['batches']} batches of {args.batch or settings.MBFLOW_RETENTION_BATCH}, {rest}; "
          f"{totals['gave_way']} gave way to a lock")
    print(f"pruning rate: {totals['executions'] / seconds:,.0f} executions/s, {totals['events'] / seconds:,.0f} "
          f"events/s over {seconds:.1f} s of windows; {totals['executions'] / working:,.0f} executions/s, "
          f"{totals['events'] / working:,.0f} events/s while working ({working:.1f} s, "
          f"{working / seconds:.0%} of the time, {totals['working'] / totals['batches'] * 1000:.0f} ms a batch); "
          f"on_prune cleaners {totals['cleaning'] / working:.0%} of the work; pruner process CPU "
          f"{totals['cpu']:.1f} s; load average {load()}")


if __name__ == "__main__":
    main()
