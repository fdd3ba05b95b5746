"""The event log's ceiling on one PostgreSQL: rows per second that step writes reach here.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_log .venv/bin/python bench/event_log.py \\
        [--seconds 20] [--clients 1,4,8]

How: PostgreSQL is migrated and a tenant of its own gets a 40-node chain of light `transform`
nodes. For each number of clients, two measurements of ``--seconds`` each:
  engine  each client (a thread with its own connection) runs chain-40 executions through the
          whole Django stack in-process (Django's test client, the engine inline, no socket),
          one after the other; the rows the runs wrote (executions, events, node runs: counted in
          the database afterwards, not timed) divided by the time gives the journal's rows/s;
  raw     each client commits step-shaped transactions by SQL alone: 43 event rows and 40 node-run
          rows (one INSERT ... SELECT generate_series each) and an UPDATE of an execution row,
          as the journal writes one chain-40; what PostgreSQL itself takes, without Python.
Both commit with ``synchronous_commit`` as the server has it (printed), on this machine's disk
and 2 cores, shared with whatever else runs: figures of one run, not a lab measurement.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
os.environ.setdefault("LOG_LEVEL", "warning")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from executions.dispatch import use_dispatcher  # noqa: E402
from executions.dispatch.embedded import EmbeddedDispatcher  # noqa: E402
from executions.models import Execution, ExecutionEvent, NodeRun  # noqa: E402
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
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  nodes:\n"
            + "\n".join(nodes) + "\n  edges:\n" + "\n".join(edges)
            + f"\n  output: \"{{{{ nodes.n{LENGTH - 1}.output.v }}}}\"\n")


def in_threads(clients: int, seconds: float, work: Callable[[], None]) -> int:
    """Runs ``work()`` in ``clients`` threads until ``seconds`` pass; returns how many calls ended."""
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def loop(index: int) -> None:
        try:
            while time.perf_counter() < stop:
                work()
                done[index] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=loop, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", default="1,4,8")
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        raise SystemExit("bench/event_log.py measures PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(slug=f"bench-log-{secrets.token_hex(4)}", name="Bench event log")
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name="bench", role=Role.EDITOR)
    key.set_secret(raw)
    key.save()
    do_create_workflow(tenant, check_document({"yaml": chain("chain40")}), message="", author="bench")
    workflow = Workflow.objects.get(tenant=tenant, name="chain40")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        synchronous = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(f"MBFlow event log ceiling - {version}, synchronous_commit={synchronous}, {os.cpu_count()} CPUs, "
          f"{args.seconds:g} s per figure")
    dispatcher = EmbeddedDispatcher(workers=16)
    use_dispatcher(dispatcher)
    Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
        "/api/v1/executions", {"workflow": "chain40", "input": {"v": 1}, "wait": 30}, content_type="application/json")

    local = threading.local()  # one client per thread: a new one loads the middleware again

    def engine_run() -> None:
        if not hasattr(local, "client"):
            local.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        response = local.client.post(
            "/api/v1/executions", {"workflow": "chain40", "input": {"v": 1}, "wait": 30},
            content_type="application/json")
        assert response.status_code == 200 and response.json()["status"] == "succeeded", response.content[:300]

    events_table, runs_table = ExecutionEvent._meta.db_table, NodeRun._meta.db_table
    # Raw step-shaped writes, one per client thread at a time, each on its own execution row.
    per_thread: dict[int, object] = {}
    pinned = Execution.objects.filter(tenant=tenant, workflow=workflow).first().version

    def raw_step_own() -> None:
        ident = threading.get_ident()
        if ident not in per_thread:
            per_thread[ident] = Execution.objects.create(
                tenant=tenant, workflow=workflow, version=pinned, status="succeeded")
        execution = per_thread[ident]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT last_seq FROM {Execution._meta.db_table} WHERE id = %s FOR UPDATE",
                           [execution.pk])
            base = cursor.fetchone()[0]
            cursor.execute(
                f"INSERT INTO {events_table} (execution_id, seq, type, node_id, payload, time) "
                "SELECT %s, %s + s, 'node.succeeded', 'n' || s, '{\"output\": {\"v\": 1}}'::jsonb, now() "
                "FROM generate_series(1, 43) s", [execution.pk, base])
            cursor.execute(
                f"INSERT INTO {runs_table} (execution_id, node_id, status, attempt, input, output, "
                "started_at, finished_at, worker, first_attempt, reused_from, limit_key, \"order\") "
                "SELECT %s, 'n' || (%s + s), 'succeeded', 1, '{\"v\": 1}'::jsonb, '{\"v\": 1}'::jsonb, "
                "now(), now(), '', 1, NULL, NULL, s FROM generate_series(1, 40) s", [execution.pk, base])
            cursor.execute(f"UPDATE {Execution._meta.db_table} SET last_seq = %s WHERE id = %s",
                           [base + 43, execution.pk])

    print(f"{'clients':>8} {'what':>7} {'executions/s':>13} {'rows/s':>9} {'events/s':>9}")
    for clients in [int(value) for value in args.clients.split(",")]:
        before = Execution.objects.filter(tenant=tenant).count()
        events_before = ExecutionEvent.objects.filter(execution__tenant=tenant).count()
        runs_before = NodeRun.objects.filter(execution__tenant=tenant).count()
        started = time.perf_counter()
        in_threads(clients, args.seconds, engine_run)
        elapsed = time.perf_counter() - started
        executions = Execution.objects.filter(tenant=tenant).count() - before
        events = ExecutionEvent.objects.filter(execution__tenant=tenant).count() - events_before
        runs = NodeRun.objects.filter(execution__tenant=tenant).count() - runs_before
        rows = executions + events + runs  # inserted; each execution row is also updated as it goes
        print(f"{clients:>8} {'engine':>7} {executions / elapsed:>13.1f} {rows / elapsed:>9.0f} "
              f"{events / elapsed:>9.0f}")
        started = time.perf_counter()
        steps = in_threads(clients, args.seconds, raw_step_own)
        elapsed = time.perf_counter() - started
        print(f"{clients:>8} {'raw':>7} {steps / elapsed:>13.1f} {steps * 84 / elapsed:>9.0f} "
              f"{steps * 43 / elapsed:>9.0f}")
    use_dispatcher(None)
    dispatcher.close()


if __name__ == "__main__":
    main()
