"""Parked runs: many executions waiting at once in `delay`, `wait_until`, `approval` and `function`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_parked REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/parked.py [--runs 10000] [--kinds delay,wait_until,approval,function] \\
        [--spreads 0,60] [--due 120]

How: PostgreSQL is migrated, a tenant of its own gets four workflows, each one waiting node then a
`noop`: `delay` (its duration from the run's input), `wait_until` (the run's input time: ``--due``
seconds after its start), `approval`, and a `function` task. A real Celery worker process
(``--pool threads -c 16``, Redis broker) runs the nodes; this process is the web side: the API
through Django's test client in-process (routing, API-key auth, DRF, the engine; no socket), 8
client threads. For each kind, ``--runs`` executions are started (``wait: 0``) as fast as the
clients go, then, once all are parked, the tables are analyzed (as autovacuum would; it may be off
on a test machine) and the bench reads:
  - memory: the RSS of this process (web) and of the worker (/proc), after the kind's first 200
    runs (which warm the code paths up) and once all are parked: MB per 1,000 parked runs;
  - what a parked run holds: the worker's threads (/proc/<pid>/status) and the database
    connections (pg_stat_activity for this database), before and while parked;
  - resuming: delay and wait_until run out by themselves; lateness is the waiting node's start
    (its NodeRun ``started_at``) minus the time it was due (``scheduled_at``): p50, p99, max;
    approvals are all approved at once (8 threads through ``POST .../signals``), function tasks
    all taken and completed by 8 function workers (``POST /function-tasks/poll`` then
    ``/complete``): the time until every execution has succeeded, and the rate.
`delay` is measured once per ``--spreads`` value S: each run's delay is set (from its input) so
that the runs come due at moments spread uniformly over S seconds, all after the last has been
started (0: all in the same instant, as far as the clients' requests allow; the span of the due
times is printed). First 200 runs of 1 s warm the resumption up (not counted). Printed: lateness
p50/p99/max; the resume throughput, runs resumed per second from the first due time to the
last start (for S=0 the worker's capacity; for a spread, at most the rate they came due at); the
worker's CPU time per 1,000 resumed (/proc/<pid>/stat, less noisy than rates on a shared
machine); the load average around it.
The machine has 2 cores shared with other work: figures of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from executions.dispatch.celery import CeleryDispatcher, configure_broker  # noqa: E402
from executions.models import Execution, ExecutionEvent, NodeRun  # noqa: E402
from mbflow_site.celery import app  # noqa: E402
from workflows.models import ApiKey, Role, Tenant  # noqa: E402
from workflows.models.keys import generate_raw_key  # noqa: E402
from workflows.services.documents import check_document  # noqa: E402
from workflows.services.workflows import do_create_workflow  # noqa: E402

CLIENTS = 8
WARM_UP = 200  # runs started before memory is first read
WAITING = {
    "delay": "{id: park, type: delay, config: {duration: \"{{ input.seconds }}\"}}",
    "wait_until": "{id: park, type: wait_until, config: {until: \"{{ input.until }}\"}}",
    "approval": "{id: park, type: approval}",
    "function": "{id: park, type: function, config: {executor: bench, function: bench_park}}",
}


def document(kind: str) -> str:
    node = WAITING[kind]
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: parked-{kind.replace('_', '-')}}}\nspec:\n"
            f"  nodes:\n    - {node}\n    - {{id: after, type: noop}}\n  edges: [{{from: park, to: after}}]\n")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend of this database (the server is local)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cursor.fetchall()]
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # ended meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def cpu_since(before: dict[int, float]) -> float:
    """CPU the backends used since ``before`` (a backend that ended meanwhile is not counted)."""
    return sum(used - before.get(pid, 0.0) for pid, used in backend_cpu().items())


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def analyze() -> None:
    """Statistics of the tables the runs filled, as autovacuum keeps them on a server where it runs
    (it may be off on a machine set up for tests: then the planner knows nothing of their size)."""
    with connection.cursor() as cursor:
        for model in (Execution, NodeRun, ExecutionEvent):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def db_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def start_worker() -> subprocess.Popen[bytes]:
    configure_broker()
    app.control.purge()
    broker = settings.CELERY_BROKER_URL or settings.REDIS_URL
    env = {**os.environ, "CELERY_BROKER_URL": broker, "MBFLOW_DISPATCHER": "celery", "PYTHONPATH": str(ROOT)}
    log = open(Path(tempfile.gettempdir()) / "mbflow-bench-parked-worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "mbflow_site", "worker", "-c", "16",
                               "--pool", "threads", "--loglevel", "warning", "--without-gossip", "--without-mingle"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise SystemExit(f"the Celery worker did not start; see {log.name}")
    return worker


def in_parallel(items: list, work: Callable) -> None:
    def run(item: object) -> None:
        try:
            work(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(run, items))


def until(predicate: Callable[[], bool], timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def measure_delays(runs: int, spread: float, client: Callable[[], Client], worker_pid: int) -> None:
    """``runs`` delays coming due uniformly over ``spread`` seconds (0: at once), all after the
    last is started; see the module."""
    def start(seconds: Callable[[], float], ids: list[str], lock: threading.Lock) -> Callable[[int], None]:
        def go(_: int) -> None:
            response = client().post("/api/v1/executions", {"workflow": "parked-delay",
                                                             "input": {"seconds": seconds()}, "wait": 0},
                                     content_type="application/json")
            assert response.status_code in (200, 201, 202), response.content[:300]
            with lock:
                ids.append(response.json()["id"])
        return go

    lock = threading.Lock()
    # Warm-up: runs of 1 s, resumed before anything is counted.
    warm_ids: list[str] = []
    warm = min(WARM_UP, max(runs // 10, 1))
    began = time.perf_counter()
    in_parallel(list(range(warm)), start(lambda: 1.0, warm_ids, lock))
    rate = warm / (time.perf_counter() - began)
    until(lambda: Execution.objects.filter(pk__in=warm_ids, status="succeeded").count() >= warm, 120)
    web_before, worker_before = rss_mb(os.getpid()), rss_mb(worker_pid)
    threads_before, connections_before = threads_of(worker_pid), db_connections()
    # The first due time: after the last start, by the time the warm-up's rate gives (the cold
    # warm-up is the slowest part) plus 10 s. A run started after its due time anyway waits 1 ms.
    first_due = time.time() + runs / rate + 10
    offsets = [spread * index / runs for index in range(runs)]
    random.shuffle(offsets)
    pending = iter(offsets)
    next_offset = threading.Lock()

    def seconds() -> float:
        with next_offset:
            offset = next(pending)
        return max(round(first_due + offset - time.time(), 3), 0.001)

    ids: list[str] = []
    began = time.perf_counter()
    in_parallel(list(range(runs)), start(seconds, ids, lock))
    started_in = time.perf_counter() - began
    parked = NodeRun.objects.filter(execution_id__in=ids, node_id="park", status__in=("pending", "waiting"))
    until(lambda: parked.count() >= runs, 120)
    analyze()
    web_parked, worker_parked = rss_mb(os.getpid()), rss_mb(worker_pid)
    threads_parked, connections_parked = threads_of(worker_pid), db_connections()
    label = "at once" if not spread else f"spread over {spread:g} s"
    print(f"\n== delay, {runs:,} due {label}: started in {started_in:.1f} s ({runs / started_in:.0f}/s), "
          f"{parked.count():,} parked; first due {max(first_due - time.time(), 0):.0f} s after the last start")
    print(f"   memory: web {web_before:.0f} -> {web_parked:.0f} MB "
          f"({(web_parked - web_before) * 1000 / runs:.1f} MB per 1,000 parked), worker "
          f"{worker_before:.0f} -> {worker_parked:.0f} MB "
          f"({(worker_parked - worker_before) * 1000 / runs:.1f} MB per 1,000 parked)")
    print(f"   held: worker threads {threads_before} -> {threads_parked}, database connections "
          f"{connections_before} -> {connections_parked}")
    # Until shortly before the first is due, then the worker's CPU is read, and after the last.
    time.sleep(max(first_due - time.time() - 1.0, 0.0))
    cpu_before, database_before, load_before = cpu_seconds(worker_pid), backend_cpu(), load()
    done = Execution.objects.filter(pk__in=ids, status="succeeded")
    ok = until(lambda: done.count() >= runs, spread + 600, every=0.2)
    cpu_used, database_used, load_after = cpu_seconds(worker_pid) - cpu_before, cpu_since(database_before), load()
    rows = list(NodeRun.objects.filter(execution_id__in=ids, node_id="park").values_list("scheduled_at", "started_at"))
    late = [(begun - due).total_seconds() for due, begun in rows if due and begun]
    dues = sorted(due for due, begun in rows if due and begun)
    begun_last = max(begun for due, begun in rows if due and begun)
    span = (dues[-1] - dues[0]).total_seconds()
    busy = (begun_last - dues[0]).total_seconds() or 1.0
    print(f"   resumed: {done.count():,} of {runs:,}{'' if ok else ' (timed out)'}; lateness (start - due) "
          f"p50 {statistics.median(late):.3f} s, p99 {pct(late, 99):.3f} s, max {max(late):.3f} s "
          f"over {len(late):,} runs")
    print(f"   due times spanned {span:.3f} s ({len(dues) / max(span, 0.001):.0f}/s); resume throughput "
          f"{len(dues) / busy:.0f} runs/s (first due to last started, {busy:.1f} s)")
    print(f"   CPU per 1,000 resumed: worker {cpu_used * 1000 / len(dues):.2f} s, PostgreSQL backends "
          f"{database_used * 1000 / len(dues):.2f} s; {load_before} before, {load_after} after")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--kinds", default="delay,wait_until,approval,function")
    parser.add_argument("--due", type=float, default=120.0, help="seconds a wait_until waits")
    parser.add_argument("--spreads", default="0,60",
                        help="delay: the seconds over which the runs come due, one measurement each (0: at once)")
    args = parser.parse_args()
    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        raise SystemExit("bench/parked.py needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(slug=f"bench-parked-{secrets.token_hex(4)}", name="Bench parked")
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name="bench", role=Role.ADMIN)
    key.set_secret(raw)
    key.save()
    kinds = args.kinds.split(",")
    for kind in kinds:
        do_create_workflow(tenant, check_document({"yaml": document(kind)}), message="", author="bench")
    worker = start_worker()
    use_dispatcher(CeleryDispatcher())
    local = threading.local()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return local.client

    print(f"MBFlow parked runs - {args.runs:,} per kind, PostgreSQL {settings.DATABASES['default']['NAME']}, "
          f"Celery worker pid {worker.pid} (16 threads, Redis broker), {os.cpu_count()} CPUs")
    try:
        for kind in kinds:
            if kind == "delay":
                for spread in [float(value) for value in args.spreads.split(",")]:
                    measure_delays(args.runs, spread, client, worker.pid)
                continue
            workflow = f"parked-{kind.replace('_', '-')}"
            ids: list[str] = []
            lock = threading.Lock()

            def start(_: int, workflow: str = workflow, kind: str = kind, ids: list[str] = ids,
                      lock: threading.Lock = lock) -> None:
                data = {"until": (timezone.now() + timedelta(seconds=args.due)).isoformat()} if kind == "wait_until" \
                    else {}
                response = client().post("/api/v1/executions", {"workflow": workflow, "input": data, "wait": 0},
                                         content_type="application/json")
                assert response.status_code in (200, 201, 202), response.content[:300]
                with lock:
                    ids.append(response.json()["id"])

            # The first runs warm the code paths up (imports, caches, pools); memory is counted from there.
            warm = min(WARM_UP, args.runs // 10)
            began = time.perf_counter()
            in_parallel(list(range(warm)), start)
            web_before, worker_before = rss_mb(os.getpid()), rss_mb(worker.pid)
            threads_before, connections_before = threads_of(worker.pid), db_connections()
            in_parallel(list(range(args.runs - warm)), start)
            started_in = time.perf_counter() - began
            parked = NodeRun.objects.filter(execution__tenant=tenant, execution__workflow__name=workflow,
                                            node_id="park", status__in=("pending", "waiting"))
            counted = args.runs - warm
            until(lambda parked=parked: parked.count() >= args.runs, 120)
            analyze()
            web_parked, worker_parked = rss_mb(os.getpid()), rss_mb(worker.pid)
            threads_parked, connections_parked = threads_of(worker.pid), db_connections()
            print(f"\n== {kind}: {args.runs:,} started in {started_in:.1f} s ({args.runs / started_in:.0f}/s), "
                  f"{parked.count():,} parked")
            print(f"   memory: web {web_before:.0f} -> {web_parked:.0f} MB "
                  f"({(web_parked - web_before) * 1000 / counted:.1f} MB per 1,000 parked), worker "
                  f"{worker_before:.0f} -> {worker_parked:.0f} MB "
                  f"({(worker_parked - worker_before) * 1000 / counted:.1f} MB per 1,000 parked)")
            print(f"   held: worker threads {threads_before} -> {threads_parked}, database connections "
                  f"{connections_before} -> {connections_parked}")
            done = Execution.objects.filter(pk__in=ids, status="succeeded")
            if kind == "wait_until":
                ok = until(lambda done=done: done.count() >= args.runs, args.due * 3 + 300)
                rows = list(NodeRun.objects.filter(execution_id__in=ids, node_id="park")
                            .values_list("scheduled_at", "started_at"))
                late = [(begun - due).total_seconds() for due, begun in rows if due and begun]
                dues = sorted(due for due, begun in rows if due and begun)
                begun_last = max(begun for due, begun in rows if due and begun)
                span = (dues[-1] - dues[0]).total_seconds() or 1.0
                print(f"   resumed: {done.count():,} of {args.runs:,}{'' if ok else ' (timed out)'}; lateness "
                      f"(start - due) p50 {statistics.median(late):.3f} s, p99 {pct(late, 99):.3f} s, "
                      f"max {max(late):.3f} s over {len(late):,} runs")
                print(f"   they came due at {len(dues) / span:.0f}/s over {span:.0f} s and were resumed at "
                      f"{len(dues) / ((begun_last - dues[0]).total_seconds() or 1.0):.0f}/s (first due to last "
                      f"resumed): lateness beyond a second is the worker's backlog, not its timers")
            elif kind == "approval":
                began = time.perf_counter()

                def approve(execution_id: str) -> None:
                    response = client().post(f"/api/v1/executions/{execution_id}/signals",
                                             {"node_id": "park", "decision": "approved"},
                                             content_type="application/json")
                    assert response.status_code == 200, response.content[:300]

                in_parallel(ids, approve)
                signalled = time.perf_counter() - began
                ok = until(lambda done=done: done.count() >= args.runs, 600)
                total = time.perf_counter() - began
                print(f"   {args.runs:,} approvals signalled in {signalled:.1f} s; {done.count():,} succeeded "
                      f"{total:.1f} s after the first{'' if ok else ' (timed out)'} ({args.runs / total:.0f}/s)")
            else:
                began = time.perf_counter()

                def serve(_: int, done: object = done) -> None:
                    """A function worker: polls and completes tasks until every run is done."""
                    deadline = time.monotonic() + 900
                    while time.monotonic() < deadline:
                        response = client().post("/api/v1/function-tasks/poll", {"executor": "bench", "wait": 1},
                                                 content_type="application/json")
                        assert response.status_code in (200, 204), response.content[:300]
                        if response.status_code == 204:
                            if done.count() >= args.runs:  # type: ignore[attr-defined]
                                return
                            continue
                        task = response.json()
                        completed = client().post(f"/api/v1/function-tasks/{task['id']}/complete",
                                                  {"output": {"ok": True}}, content_type="application/json")
                        assert completed.status_code == 200, completed.content[:300]

                in_parallel(list(range(CLIENTS)), serve)
                ok = until(lambda done=done: done.count() >= args.runs, 600)
                total = time.perf_counter() - began
                print(f"   {done.count():,} function tasks polled, completed and resumed in {total:.1f} s "
                      f"({args.runs / total:.0f}/s){'' if ok else ' (timed out)'}")
    finally:
        use_dispatcher(None)
        worker.terminate()
        worker.wait(timeout=30)


def _stop(*_: object) -> None:
    raise SystemExit("stopped")  # SIGTERM: through main's finally, which stops the worker


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    main()
