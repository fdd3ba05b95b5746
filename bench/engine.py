"""Engine benchmark: prints figures per dispatcher, and how each was measured.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_engine REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/engine.py [--dispatchers embedded,celery] [--runs 200] [--scenarios 1,2,3,4,5,6]

The Celery worker uses REDIS_URL as its broker, or CELERY_BROKER_URL when that is set (RabbitMQ:
``amqp://guest:guest@127.0.0.1:5672//``).

The database is migrated, emptied of executions and (PostgreSQL) vacuumed first. Requests go through the whole Django
stack in-process (Django's test client: URL routing, API-key auth, DRF, the engine, the
database), without a socket. Light nodes run inline in the request's orchestration step, so
scenarios 1, 2, 4, 5 and 6 exercise the same code under both dispatchers; scenario 3 goes through
the dispatcher (thread pool, or Redis + a real Celery worker process) to an HTTP server that
sleeps 200 ms, run as a process of its own like any remote API (with TCP_NODELAY, like
production servers: Python's http.server otherwise adds up to 40 ms of delayed ACK per answer).
Scenarios 2 and 4 run in 4 spawned processes, each warmed up, then started together (a barrier:
until 2026-12-07 each began when its own warm-up ended, so a process that imported more, later,
measured fewer clients at once and its tree a lower rate).

Scenario 6 is scenario 1's chain with the policies of the language on its hot path: every node
has a ``circuit_breaker`` (closed: its calls succeed, so each is admitted and counted - in Redis
when REDIS_URL is set), a ``concurrency`` limit with room (its Limit row locked and its holders
counted in the step's transaction) and a ``compensation`` step (skipped when the run succeeds).
(6f) is the same with its last node failing: the 39 compensation steps run, last done first,
before the execution fails. The figure "policies per node" is (p50 of 6 - p50 of 1) / 40.

Comparing versions of the code (the project compares rounds interleaved, never two separate
runs): ``--variants NAME=DIR[?KEY=VALUE&...],...`` runs this script once per variant and round,
in turn (A, B, A, B, ...), each in a process of its own that imports the project from DIR (a
``git worktree`` of the other commit; empty: this tree) with its settings (e.g. its own
DATABASE_URL: two commits' migrations cannot share a database). Every variant gets the same
measuring code (this file), the same Redis and PostgreSQL servers, and a new queue prefix per run.
The summary gives each figure's median over the rounds and its ratio to the first variant in the
same round, as "slower x": latency over the first's, or the first's throughput over its own
(above 1: slower). A scenario a tree cannot express (6 before the policies existed) is skipped::

    git worktree add --detach /tmp/bench-base 7637960
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/h10 REDIS_URL=redis://127.0.0.1:6379/10 \\
        .venv/bin/python bench/engine.py --rounds 3 \\
        --variants "base=/tmp/bench-base?DATABASE_URL=postgresql://postgres@127.0.0.1:5432/h10_base,head="
"""

from __future__ import annotations

import argparse
import atexit
import json
import multiprocessing
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The project measured: this tree, or another commit's (see --variants); spawned processes and
# the Celery worker inherit it through the environment.
TREE = Path(os.environ.get("MBFLOW_BENCH_TREE") or ROOT).resolve()
sys.path.insert(0, str(TREE))
# The venv installs this project in editable mode: a finder that maps its packages to ROOT and
# answers for any module a package of TREE lacks (an older tree importing `triggers.admin` got
# this tree's). Measuring another tree, its code alone must be found.
FORGET_ROOT = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '')"
               ".startswith('__editable__')]; sys.path_hooks[:] = [h for h in sys.path_hooks if '__editable__' not in "
               "getattr(getattr(h, '__self__', None), '__module__', '')]")
if TREE != ROOT:
    exec(FORGET_ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
os.environ.setdefault("MBFLOW_HTTP_ALLOW_HOSTS", "127.0.0.1")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

import mbflow_site  # noqa: E402
from executions.dispatch import use_dispatcher  # noqa: E402
from executions.models import Execution  # noqa: E402
from executions.services.executions import do_start_execution, wait_and_reload  # noqa: E402
from workflows.models import ApiKey, Role, Tenant, Workflow  # noqa: E402
from workflows.models.keys import generate_raw_key  # noqa: E402
from workflows.services.documents import check_document  # noqa: E402
from workflows.services.workflows import do_create_workflow  # noqa: E402


def chain(name: str, length: int) -> str:
    nodes = ["    - {id: n0, type: transform, config: {mapping: {v: \"{{ input.v }}\"}}}"]
    nodes += [f"    - {{id: n{i}, type: transform, config: {{mapping: {{v: \"{{{{ upstream.v + 1 }}}}\"}}}}}}"
              for i in range(1, length)]
    edges = [f"    - {{from: n{i - 1}, to: n{i}}}" for i in range(1, length)]
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  nodes:\n"
            + "\n".join(nodes) + ("\n  edges:\n" + "\n".join(edges) if edges else "")
            + f"\n  output: \"{{{{ nodes.n{length - 1}.output.v }}}}\"\n")


def guarded(name: str, length: int, *, fail_last: bool) -> str:
    """Scenario 6: ``chain`` with a closed breaker, a concurrency limit with room and a
    compensation step on every node; with ``fail_last`` its last node fails (it has no breaker:
    failing every run, it would open it and the runs after would not reach the compensation)."""
    policies = "circuit_breaker: {failure_threshold: 5}, concurrency: 1000"
    nodes = [f"    - {{id: n0, type: transform, config: {{mapping: {{v: \"{{{{ input.v }}}}\"}}}}, {policies}}}"]
    nodes += [f"    - {{id: n{i}, type: transform, config: {{mapping: {{v: \"{{{{ upstream.v + 1 }}}}\"}}}}, "
              f"{policies}}}" for i in range(1, length)]
    if fail_last:
        nodes[-1] = f"    - {{id: n{length - 1}, type: fail, config: {{message: bench}}, concurrency: 1000}}"
    undo = "{{mapping: {{undone: \"{{{{ nodes.n{i}.output.v }}}}\"}}}}"
    nodes += [f"    - {{id: undo{i}, type: transform, config: {undo.format(i=i)}}}" for i in range(length)]
    edges = [f"    - {{from: n{i - 1}, to: n{i}}}" for i in range(1, length)]
    steps = [f"    - {{node: undo{i}, compensates: n{i}}}" for i in range(length)]
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\nspec:\n  nodes:\n"
            + "\n".join(nodes) + "\n  edges:\n" + "\n".join(edges) + "\n  compensation:\n" + "\n".join(steps)
            + f"\n  output: \"{{{{ nodes.n{length - 1}.output.v }}}}\"\n")


def fan_out(url: str) -> str:
    nodes = [f"    - {{id: c{i}, type: http, config: {{url: \"{url}/sleep?n={i}\"}}}}" for i in range(10)]
    edges = [f"    - {{from: c{i}, to: join}}" for i in range(10)]
    return ("apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: fan-out}\nspec:\n  nodes:\n"
            + "\n".join(nodes) + "\n    - {id: join, type: merge}\n  edges:\n" + "\n".join(edges) + "\n")


# The remote API of scenario 3: its own process, so that serving it does not take this
# process's GIL from the engine it measures.
SLEEP_SERVER = """
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sleep(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as production HTTP servers set it. Without it http.server sends the body only
    # once the client has acknowledged the headers, which a client delays by up to 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(0.2)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Sleep)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_sleep_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", SLEEP_SERVER], stdout=subprocess.PIPE, text=True)
    atexit.register(process.terminate)
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{process.stdout.readline().strip()}"


def _client_process(args: tuple[str, int, int, Any]) -> tuple[list[float], float, float, float]:
    """One process of scenario 2 (spawned: a fork would inherit locks held by other threads)."""
    key, threads, per_client, start = args
    durations: list[float] = []
    lock = threading.Lock()

    def client_thread(requests: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        for _ in range(requests):
            started = time.perf_counter()
            response = client.post("/api/v1/executions", {"workflow": "chain40", "input": {"v": 1}, "wait": 30},
                                   content_type="application/json")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200 and response.json()["status"] == "succeeded"
            with lock:
                durations.append(elapsed)
        connections.close_all()

    # Warm up as scenario 1 does: a fresh process's first run per thread pays for imports,
    # compiled templates and new pooled connections (about 2 s here), which is not the engine.
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client_thread, [1] * threads))
    durations.clear()
    start.wait()  # every process warmed up: the clients start together
    begun, cpu = time.time(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client_thread, [per_client] * threads))
    return durations, begun, time.time(), time.process_time() - cpu


def _start_process(args: tuple[str, int, int, Any]) -> tuple[list[float], float, float, float]:
    """One process of scenario 4: ``count`` executions started by ``threads`` threads at once."""
    tenant_id, threads, count, start = args
    tenant = Tenant.objects.get(pk=tenant_id)
    latencies: list[float] = []
    lock = threading.Lock()

    def start_one(_: int, workflow: str = "three") -> None:
        begun = time.perf_counter()
        try:
            execution, _created = do_start_execution(tenant, workflow, data={"v": 1})
            execution = wait_and_reload(execution, 30)
        finally:
            connections.close_all()  # as at the end of a request: the connection goes back to the pool
        assert execution.status == "succeeded", execution.error
        with lock:
            latencies.append(time.perf_counter() - begun)

    with ThreadPoolExecutor(threads) as pool:  # warm up (as in scenario 2), on another workflow
        list(pool.map(lambda i: start_one(i, "chain1"), range(threads)))
    latencies.clear()
    start.wait()  # every process warmed up: the burst starts together
    begun, cpu = time.time(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(start_one, range(count)))
    return latencies, begun, time.time(), time.process_time() - cpu


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Timed:
    durations: list[float]
    cpu: float  # CPU seconds per run: this process, plus the Celery worker's when there is one


def count_calls(action: Callable[[], object]) -> tuple[int, int]:
    """(SQL statements, Redis calls) that ``action`` sends from this process: psycopg's
    ``execute``, each row of ``executemany`` and ``copy``; redis-py's commands and script calls,
    a pipeline as one."""
    import psycopg
    import redis

    counts = [0, 0]
    execute, executemany, copy = psycopg.Cursor.execute, psycopg.Cursor.executemany, psycopg.Cursor.copy
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def on_execute(self, *args, **kwargs):
        counts[0] += 1
        return execute(self, *args, **kwargs)

    def on_executemany(self, query, params_seq, **kwargs):
        params_seq = list(params_seq)
        counts[0] += len(params_seq)
        return executemany(self, query, params_seq, **kwargs)

    def on_copy(self, *args, **kwargs):
        counts[0] += 1
        return copy(self, *args, **kwargs)

    def on_command(self, *args, **kwargs):
        counts[1] += 1
        return command(self, *args, **kwargs)

    def on_pipeline(self, *args, **kwargs):
        counts[1] += 1
        return pipeline(self, *args, **kwargs)

    patched = [(psycopg.Cursor, "execute", on_execute), (psycopg.Cursor, "executemany", on_executemany),
               (psycopg.Cursor, "copy", on_copy), (redis.Redis, "execute_command", on_command),
               (redis.client.Pipeline, "execute", on_pipeline)]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    try:
        action()
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    return counts[0], counts[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Bench:
    def __init__(self, runs: int, scenarios: set[str]) -> None:
        self.runs = runs
        self.scenarios = scenarios
        self.figures: dict[str, float] = {}  # "<dispatcher>/<scenario>.<figure>" -> seconds or per second
        self.dispatcher = ""
        self.worker_pid: int | None = None  # the Celery worker, while it runs
        self.tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        Execution.objects.filter(tenant=self.tenant).delete()
        Workflow.objects.filter(tenant=self.tenant).delete()
        if settings.IS_POSTGRES:  # reclaim what earlier runs left, so autovacuum does not run mid-bench
            with connections["default"].cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        raw = generate_raw_key()
        key = ApiKey(tenant=self.tenant, name="bench", role=Role.EDITOR)
        key.set_secret(raw)
        key.save()
        self.key = raw
        for _name, text in (("chain40", chain("chain40", 40)), ("chain1", chain("chain1", 1)),
                           ("three", chain("three", 3))):
            do_create_workflow(self.tenant, check_document({"yaml": text}), message="", author="bench")
        self.server, url = start_sleep_server()
        do_create_workflow(self.tenant, check_document({"yaml": fan_out(url)}), message="", author="bench")
        self.guarded_refused = ""
        self.redis_calls = 0  # of the last run ``queries`` counted
        if "6" in scenarios:
            try:
                for name, fail_last in (("guarded40", False), ("guarded40-fail", True)):
                    text = guarded(name, 40, fail_last=fail_last)
                    do_create_workflow(self.tenant, check_document({"yaml": text}), message="", author="bench")
            except Exception as exc:  # an older tree (see --variants) refuses the keys, each in its own way
                self.guarded_refused = str(exc)[:200]

    def record(self, scenario: str, **figures: float) -> None:
        for name, value in figures.items():
            self.figures[f"{self.dispatcher}/{scenario}.{name}"] = value

    def client(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.key}")

    def request(self, client: Client, workflow: str, wait: float = 30, status: str = "succeeded") -> float:
        started = time.perf_counter()
        response = client.post("/api/v1/executions", {"workflow": workflow, "input": {"v": 1}, "wait": wait},
                               content_type="application/json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.json()["status"] == status, response.content[:500]
        return elapsed

    def worker_cpu(self) -> float:
        return cpu_seconds(self.worker_pid) if self.worker_pid else 0.0

    def cpu_now(self) -> float:
        """CPU seconds so far of the engine's processes: this one, and the Celery worker."""
        return time.process_time() + self.worker_cpu()

    def sequential(self, workflow: str, runs: int, status: str = "succeeded") -> Timed:
        client = self.client()
        for _ in range(10):
            self.request(client, workflow, status=status)
        cpu = self.cpu_now()
        durations = [self.request(client, workflow, status=status) for _ in range(runs)]
        return Timed(durations, (self.cpu_now() - cpu) / runs)

    def queries(self, workflow: str, status: str = "succeeded") -> int:
        """SQL statements of one run (light nodes: all on this thread's connection), counted
        where psycopg sends them: each ``execute``, each row of an ``executemany`` and each
        ``COPY`` (Django's query log misses COPY, and so did this count before 2026-12)."""
        counted, redis_calls = count_calls(lambda: self.request(self.client(), workflow, status=status))
        self.redis_calls = redis_calls
        return counted

    def run(self, dispatcher: str, label: str) -> None:
        print(f"\n== dispatcher: {label} ==")
        self.dispatcher = dispatcher
        if self.scenarios & {"1", "5"}:
            self.chain_scenarios()
        if "6" in self.scenarios:
            self.guarded_scenario()
        if "2" in self.scenarios:
            self.clients_scenario()
        if "3" in self.scenarios:
            self.fan_out_scenario()
        if "4" in self.scenarios:
            self.burst_scenario()

    def chain_scenarios(self) -> None:
        timed = self.sequential("chain40", self.runs)
        chain40, queries = timed.durations, self.queries("chain40")
        print(f"(1) 40-node transform chain, 1 client, POST /executions wait=30, {self.runs} runs: "
              f"p50 {ms(pct(chain40, 50))}, p95 {ms(pct(chain40, 95))}, CPU {ms(timed.cpu)}, {queries} SQL "
              f"statements and {self.redis_calls} Redis calls per run   [target p50 <= 25 ms]")
        self.record("1", p50=pct(chain40, 50), p95=pct(chain40, 95), cpu=timed.cpu, queries=queries,
                    redis_queries=self.redis_calls)
        one = self.sequential("chain1", self.runs).durations
        per_node = (statistics.median(chain40) - statistics.median(one)) / 39
        print(f"(5) engine overhead per light node = (p50 of 40-node chain - p50 of 1-node chain) / 39 = "
              f"{per_node * 1000:.3f} ms   [target <= 0.5 ms]")
        self.record("5", per_node=per_node)

    def guarded_scenario(self) -> None:
        if self.guarded_refused:
            print(f"(6) skipped: this tree refuses the workflow ({self.guarded_refused})")
            return
        runs = self.runs
        timed = self.sequential("guarded40", runs)
        guarded40, queries = timed.durations, self.queries("guarded40")
        line = (f"(6) the same chain, every node with a circuit breaker (closed), concurrency: 1000 and a "
                f"compensation step (skipped), {runs} runs: p50 {ms(pct(guarded40, 50))}, "
                f"p95 {ms(pct(guarded40, 95))}, CPU {ms(timed.cpu)}, {queries} SQL statements and "
                f"{self.redis_calls} Redis calls per run")
        self.record("6", p50=pct(guarded40, 50), p95=pct(guarded40, 95), cpu=timed.cpu, queries=queries,
                    redis_queries=self.redis_calls)
        chain40 = self.figures.get(f"{self.dispatcher}/1.p50")
        if chain40 is not None:
            per_node = (pct(guarded40, 50) - chain40) / 40
            line += f"; policies per node = (p50 of 6 - p50 of 1) / 40 = {per_node * 1000:.3f} ms"
            self.record("6", policies_per_node=per_node)
        print(line)
        timed = self.sequential("guarded40-fail", runs, status="failed")
        failing, queries = timed.durations, self.queries("guarded40-fail", status="failed")
        print(f"(6f) same, its last node failing: 39 compensation steps run before the execution fails, {runs} runs: "
              f"p50 {ms(pct(failing, 50))}, p95 {ms(pct(failing, 95))}, CPU {ms(timed.cpu)}, {queries} SQL "
              f"statements and {self.redis_calls} Redis calls per run")
        self.record("6f", p50=pct(failing, 50), p95=pct(failing, 95), cpu=timed.cpu, queries=queries,
                    redis_queries=self.redis_calls)

    def clients_scenario(self) -> None:
        clients, processes = 20, 4
        per_client = max(self.runs // clients, 10)
        worker_cpu = self.worker_cpu()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Manager() as manager, ProcessPoolExecutor(processes, mp_context=spawn) as pool:
            start = manager.Barrier(processes)  # a process that starts late would measure fewer clients at once
            parts = list(pool.map(_client_process, [(self.key, clients // processes, per_client, start)] * processes))
        worker_cpu = self.worker_cpu() - worker_cpu
        # From the first request of any process to the last answer (process start-up excluded).
        wall = max(part[2] for part in parts) - min(part[1] for part in parts)
        durations = [d for part in parts for d in part[0]]
        cpu = (sum(part[3] for part in parts) + worker_cpu) / len(durations)
        print(f"(2) same, {clients} concurrent clients ({processes} processes x {clients // processes} threads, "
              f"like {processes} web workers, each thread warmed up by one run) x {per_client} requests: "
              f"{len(durations) / wall:.0f} executions/s, "
              f"p50 {ms(pct(durations, 50))}, p95 {ms(pct(durations, 95))}, CPU {ms(cpu)} per execution   "
              f"[target >= 60/s]")
        self.record("2", rate=len(durations) / wall, p50=pct(durations, 50), p95=pct(durations, 95), cpu=cpu)

    def fan_out_scenario(self) -> None:
        timed = self.sequential("fan-out", 20)
        fan = timed.durations
        print(f"(3) 10 parallel http nodes (server sleeps 200 ms) + merge, wall per request over 20 runs: "
              f"p50 {ms(pct(fan, 50))}, p95 {ms(pct(fan, 95))}, CPU {ms(timed.cpu)} per run   [target <= 250 ms]")
        self.record("3", p50=pct(fan, 50), p95=pct(fan, 95), cpu=timed.cpu)

    def burst_scenario(self) -> None:
        total, processes, threads = 1000, 4, 8
        worker_cpu = self.worker_cpu()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Manager() as manager, ProcessPoolExecutor(processes, mp_context=spawn) as pool:
            start = manager.Barrier(processes)  # a process that starts late would measure fewer threads at once
            parts = list(pool.map(_start_process, [(str(self.tenant.pk), threads, total // processes, start)]
                                  * processes))
        worker_cpu = self.worker_cpu() - worker_cpu
        wall = max(part[2] for part in parts) - min(part[1] for part in parts)
        latencies = [d for part in parts for d in part[0]]
        cpu = (sum(part[3] for part in parts) + worker_cpu) / total
        ok = Execution.objects.filter(tenant=self.tenant, workflow__name="three", status="succeeded").count()
        print(f"(4) {total} executions of a 3-node workflow started at once ({processes} processes x {threads} "
              f"threads calling the start service, like {processes} web workers, each thread warmed up by one "
              f"1-node run): {total / wall:.0f}/s, "
              f"p50 {ms(pct(latencies, 50))}, p95 {ms(pct(latencies, 95))}, CPU {ms(cpu)} per execution, "
              f"{ok}/{total} succeeded   [target >= 200/s]")
        self.record("4", rate=total / wall, p50=pct(latencies, 50), p95=pct(latencies, 95), cpu=cpu)
        Execution.objects.filter(tenant=self.tenant, workflow__name="three").delete()


def start_worker() -> subprocess.Popen[bytes]:
    from executions.dispatch.celery import configure_broker
    from mbflow_site.celery import app

    configure_broker()
    app.control.purge()
    broker = settings.CELERY_BROKER_URL or settings.REDIS_URL
    env = {**os.environ, "CELERY_BROKER_URL": broker, "MBFLOW_DISPATCHER": "celery", "PYTHONPATH": str(TREE)}
    log = open(Path(tempfile.gettempdir()) / "mbflow-bench-worker.log", "wb")  # noqa: SIM115
    # `celery` as its script runs it, after FORGET_ROOT when measuring another tree.
    boot = (FORGET_ROOT + "; " if TREE != ROOT else "") + "from celery.__main__ import main; sys.exit(main())"
    worker = subprocess.Popen([sys.executable, "-c", "import sys; " + boot, "-A", "mbflow_site", "worker", "-c", "16",
                               "--pool", "threads", "--loglevel", "warning", "--without-gossip", "--without-mingle"],
                              cwd=TREE, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise SystemExit(f"the Celery worker did not start; see {log.name}")
    return worker


def commit_of(tree: Path) -> str:
    found = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    return found.stdout.strip()[:70] or "?"


def bench_main(args: argparse.Namespace) -> None:
    """One run of the scenarios, on the project in TREE."""
    if not Path(mbflow_site.__file__).resolve().is_relative_to(TREE):
        raise SystemExit(f"mbflow_site was imported from {mbflow_site.__file__}, not from {TREE}")
    call_command("migrate", verbosity=0)
    bench = Bench(args.runs, set(args.scenarios.split(",")))
    db = settings.DATABASES["default"]
    print(f"MBFlow engine benchmark - code {TREE} ({commit_of(TREE)}), database "
          f"{db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}, channel layer "
          f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs")
    for name in args.dispatchers.split(","):
        if name == "embedded":
            from executions.dispatch.embedded import EmbeddedDispatcher

            dispatcher = EmbeddedDispatcher(workers=32)
            use_dispatcher(dispatcher)
            bench.run("embedded", "embedded")
            dispatcher.close()
        elif name == "celery":
            if not settings.REDIS_URL or not settings.IS_POSTGRES:
                print("\n== dispatcher: celery == skipped: needs REDIS_URL and PostgreSQL")
                continue
            from executions.dispatch.celery import CeleryDispatcher

            worker = start_worker()
            bench.worker_pid = worker.pid
            try:
                use_dispatcher(CeleryDispatcher())
                broker = (settings.CELERY_BROKER_URL or settings.REDIS_URL).split(":", 1)[0]
                bench.run("celery", f"celery ({broker} broker, 1 worker process, 16 threads)")
            finally:
                bench.worker_pid = None
                worker.terminate()
                worker.wait(timeout=20)
        use_dispatcher(None)
    bench.server.terminate()
    if args.json:
        Path(args.json).write_text(json.dumps(bench.figures))


def parse_variants(text: str) -> dict[str, tuple[Path, dict[str, str]]]:
    """``name=DIR`` or ``name=DIR?KEY=VALUE&KEY=VALUE``, comma-separated (DIR empty: this tree)."""
    variants = {}
    for item in text.split(","):
        name, _, rest = item.partition("=")
        tree, _, pairs = rest.partition("?")
        variants[name] = (Path(tree or ROOT).resolve(), dict(pair.split("=", 1) for pair in pairs.split("&") if pair))
    return variants


# Figures where more is better (executions per second), counts (SQL statements); the others are seconds.
THROUGHPUT = re.compile(r"\.rate$")
COUNT = re.compile(r"queries$")


def compare_main(args: argparse.Namespace, passed: list[str]) -> None:
    """Runs ``bench_main`` once per variant per round, in turn, and prints the ratios."""
    variants = parse_variants(args.variants)
    first = next(iter(variants))
    rounds: list[dict[str, dict[str, float]]] = []
    print(f"Interleaved comparison, {args.rounds} round(s) of " + ", ".join(
        f"{name}={tree} ({commit_of(tree)})" + (f" {extra}" if extra else "")
        for name, (tree, extra) in variants.items()))
    for round_no in range(args.rounds):
        figures: dict[str, dict[str, float]] = {}
        for name, (tree, extra) in variants.items():
            out = Path(tempfile.mkstemp(prefix="mbflow-bench-", suffix=".json")[1])
            env = {**os.environ, **extra, "MBFLOW_BENCH_TREE": str(tree), "PYTHONPATH": str(tree),
                   "MBFLOW_QUEUE_PREFIX": f"mbflow-bench-{secrets.token_hex(4)}"}
            print(f"\n##### round {round_no + 1}, {name}", flush=True)
            # cwd: Celery's Django fix-up puts the working directory first on sys.path.
            subprocess.run([sys.executable, __file__, *passed, "--json", str(out)], env=env, cwd=tree, check=True)
            figures[name] = json.loads(out.read_text())
            out.unlink()
        rounds.append(figures)
    print(f"\nSummary: median over {args.rounds} round(s); 'slower x': the ratio to {first} in the same round "
          f"(latency / {first}'s, or {first}'s rate / this rate; above 1 is slower), by round, then its median")
    for key in sorted({key for figures in rounds for key in figures[first]}):
        for name in variants:
            values = [figures[name][key] for figures in rounds if key in figures[name]]
            if not values:
                continue
            unit = "/s" if THROUGHPUT.search(key) else "" if COUNT.search(key) else " ms"
            shown = statistics.median(values) * (1000 if unit == " ms" else 1)
            line = f"  {key:28s} {name:8s} {shown:9.3f}{unit}"
            if name != first:
                ratios = [(f[first][key] / f[name][key]) if unit == "/s" else (f[name][key] / f[first][key])
                          for f in rounds if key in f[name] and key in f[first]]
                line += ("   slower x " + ", ".join(f"{r:.2f}" for r in ratios)
                         + f"  (median {statistics.median(ratios):.2f})")
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatchers", default="embedded,celery")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--scenarios", default="1,2,3,4,5,6", help="which of the scenarios to run (5 runs with 1)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--variants", help="NAME=DIR[?KEY=VALUE&...],...: compare these trees, interleaved")
    parser.add_argument("--rounds", type=int, default=2, help="with --variants: rounds of each variant")
    args = parser.parse_args()
    if args.variants:
        passed = ["--dispatchers", args.dispatchers, "--runs", str(args.runs), "--scenarios", args.scenarios]
        compare_main(args, passed)
    else:
        bench_main(args)


if __name__ == "__main__":
    main()
