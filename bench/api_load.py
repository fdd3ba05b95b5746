"""The API under load, each server a real process on PostgreSQL + Redis. Two scenarios.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loadbench REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/api_load.py [--servers uvicorn,daphne] [--rate 200] [--duration 20]
        [--workers N] [--variants NAME=DIR,...] [--rounds N]
    ... .venv/bin/python bench/api_load.py --scenario starts [--starts 1000] [--clients 50]
        [--read-rate 30] [--waits 30,0] [--workers N] [--celery-workers N] [--variants NAME=DIR,...]

Each server process holds a pool of up to DB_MAX_CONNECTIONS (20) connections; on a shared
PostgreSQL, connect as a role with a CONNECTION LIMIT to be sure of it.

Set-up: `manage.py migrate` and `manage.py mbflow_demo` with `API_KEYS=<generated key>` in the
environment (the key is seeded, hashed, for the demo tenant), then - through the API of the first
server - a small light workflow (`load-light`: 3 transform nodes) and 20 filler workflows for the
list. Executions of earlier runs are not deleted, the list of workflows stays the same.

``--variants before=DIR,after=DIR`` compares copies of the project (each DIR is put first on
PYTHONPATH of its processes; ``NAME=DIR?KEY=VALUE&KEY=VALUE`` adds settings): one round of each
in turn, ``--rounds`` times, so that the load other processes put on the machine falls on both
alike. Without it, this project is measured as it is.

Scenario ``mix`` (the default), daphne vs uvicorn. Per server: the server is started as a
subprocess on a free port (embedded dispatcher: no CELERY_BROKER_URL) and waited for on /ready.
Warm-up: 300 requests of the mix over 8 connections at once, so that every worker process serves
each kind before the load (a connection reaches one process: after a sequential warm-up alone, a
second uvicorn process met its first requests under the load, and its first second - imports,
first connections, queries compiled once - stalled requests for up to 1.3 s), then 60 sequential
requests, whose latency is printed as "unloaded". Then it is driven open-loop: a scheduler fires
one request every 1/rate s for `duration` s regardless of responses (each request is its own
asyncio task on one aiohttp ClientSession with unlimited connections), in a fixed round-robin
mix of GET /api/v1/workflows, GET /api/v1/workflows/load-light and POST /api/v1/executions
{"workflow": "load-light", "wait": 10}. Latency is measured from the *scheduled* send time to
the end of the response body, so a late scheduler or a queue in the client counts against the
server (no coordinated omission). A request is an error when it fails, times out (30 s) or
answers other than 200 (or an execution other than "succeeded").

Scenario ``starts``: executions started by many clients while others read, scaled out. Per
round: uvicorn (``--workers`` processes) and ``--celery-workers`` Celery workers (``--pool
threads``, 16 threads) on a broker in REDIS_URL, with queues of the round's own
(MBFLOW_QUEUE_PREFIX); a local aiohttp server (a process of its own) is the remote API. The
workflow ``load-io`` is 3 nodes: an ``http`` GET to that server (on a worker), then 2
``transform`` nodes (run by the step that completes the call). Warm-up: 40 starts with wait
and 120 reads over 8 connections; then reads alone for 5 s (printed as "reads alone": what a
read costs on the machine as loaded at that time). Then ``--clients`` (50) clients start
``--starts`` (1,000) executions between them, each its next when its previous one answered
(closed loop: the server is kept saturated), with ``wait`` (30 s: answered when the execution
ended, as a client waiting for the result) or without (``wait=0``: answered once started),
while reads run open-loop at ``--read-rate`` (30/s) in a fixed round robin of GET
/api/v1/executions/{id} (one of the last 50 started), GET /api/v1/workflows and GET
/api/v1/executions (the first page), until every started execution ended. Read latency is
measured from each read's scheduled time, start latency from its send. Then every started
execution is looked up in the database: one that did not succeed is lost. Printed per round:
starts per second, statuses, the machine's busy and steal share (/proc/stat: other agents'
work counts), the CPU per execution of web, workers, PostgreSQL and this client, and the
percentiles; then the median of the rounds per variant and the ratio of each round's read
p95 to the first variant's in the same round.

Figures of ``starts`` (2-core VM shared with other agents' test suites and benches, 94-100% of
its CPU busy in every round; 1 uvicorn process, 1 Celery worker; before = the request gate as
of b48bbc8, after = mbflow_site/turns.py with reads first, reads' own threads and the connection
given back; rounds taken in turn, copies of one working tree):
- 2 rounds each, reads alone p95 28-53 ms. wait=30: read p50 447 -> 53 ms, p95 1,516 -> 119
  and 1,358 -> 123 ms (x0.08, x0.09), p99 2.8 -> 0.2 s; start p95 3.1 -> 1.4 s, 41 -> 46
  starts/s. wait=0: read p95 2,531 -> 149 and 823 -> 169 ms (x0.06, x0.21); start p95 4.4 ->
  1.2 s, 60 -> 59 starts/s. The old gate with only the connection given back: read p95 1,091
  and 1,297 ms (x0.72, x0.96): the queue, not the pool, made the reads slow. 0 of 12,000 lost.
- 4 rounds each, a busier machine (load average 12-17, reads alone p95 125-190 ms). wait=30:
  read p95 2,993/2,291/2,629/1,791 -> 332/318/348/385 ms (x0.11-0.21), start p95 7.9/5.5/6.3/
  3.3 -> 5.0/4.1/5.3/5.7 s. wait=0: read p95 2,425/2,459/2,537/1,506 -> 302/319/452/335 ms
  (x0.12-0.22), read p99 33 s -> 0.4 s; start p50 0.1-1.4 -> 1.6-2.5 s but p99 44-65 -> 2.7-5.4
  s (the old semaphore let a newcomer take a freed turn before the waiter it woke: most starts
  went fast, some waited a minute). 0 of 16,000 lost.
- Read p95 under the starts was 1.8 to 4.3 times that of the reads alone in the same round
  after, 9.5 to 63 times before. Under 100 ms needs a machine whose reads alone stay well under
  it; these runs never had one (the nearest: 119 and 123 ms with reads alone at 28 and 37 ms).
- In 3 of some 24 rounds of the old code the web process stopped (2 seen with py-spy dump):
  its 4 turns were held by requests waiting for a database connection, and the 20 connections
  of its pool by requests back from their wait, waiting for a turn; starts then timed out in
  the client. Not seen after, where such a request gives its connection back before it waits.

Issue 15 (read p95 under 100 ms while the starts run), 7 Dec 2026, same machine, load average
9-15 on its 2 CPUs throughout (other agents' suites), 1 uvicorn process, 1 Celery worker:
- ``--waits 30,0 --rounds 1`` on this tree: wait=30 read p50 66 / p95 608 / p99 1,090 ms (reads
  alone p95 152), start p95 3.6 s, 33 starts/s; wait=0 read p50 35 / p95 98 / p99 128 ms (alone
  p95 54), start p95 0.9 s, 66/s. 0 of 2,000 lost. Later wait=30 rounds of the same gate (some in
  the logging copies below): read p95 117, 178, 199, 247, 249, 272, 346, 529, 815 ms, reads
  alone p95 55-148 ms: the target is met without ``wait`` and missed with it, by a factor that
  follows the machine's load.
- Where a read's time goes, timed inside the server (copies of the tree that log each request:
  3,010 GETs of 3 wait=30 rounds, warm-up and reads alone included, p50/p95 ms): event loop to
  thread 0.5/12, waiting for a turn 6/43, the view 15/114 - its thread's CPU 3.1/6.6 - back to
  the loop 1.2/21, sending 0.2/3.
  The turn is no longer the queue: the view takes 5 to 17 times its CPU, waiting for the
  interpreter lock (the process's other turns, its event loop, the waiting starts' threads) and
  for PostgreSQL, on 2 cores shared with the worker, PostgreSQL, this client and other agents.
  The starts (wait=30) cost the web process 10-15 ms of CPU each at 35-45/s.
- Tried and not kept: a third queue letting reads go before the starts back from their wait
  (they shared one queue in arrival order): read p95 117/178/199 -> 386/324/329 ms in 3
  interleaved rounds, the reads' own wait for a turn p95 43 -> 105 ms, start p95 1.8 -> 2.7 s.
  HTTP_ACTIVE_REQUESTS 2, 4, 8 (3 interleaved rounds each; wait for a turn / view p95): 415/142,
  114/175, 81/248 ms - fewer turns move the read's time from the view to the queue, more turns
  the other way, the sum stays; read p95 404/790/216, 272/529/247, 553/279/349 ms; 2 turns
  halved the starts per second. 4 stays.
- So read p95 < 100 ms with 50 clients starting with ``wait`` needs CPU for the web process
  that this machine did not have in any round (reads alone: p95 over 50 ms in every one, up to
  690 ms); a second uvicorn process shares the same 2 cores: ``--workers 2`` against 1, rounds in
  turn, read p95 592 and 391 against 398 and 433 ms, p50 166 against 79 and 116 ms. A start's
  request thread takes 7.0/9.1 ms of CPU (p50/p95: the execution created, its node sent to the
  broker, reloaded and answered); its wait's own Redis subscription (a connection each,
  connect to close) 0.26 ms of it, measured alone - one listener per process for every wait
  would not change the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
KINDS = ("list", "get", "execute")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

LIGHT = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: load-light}
spec:
  nodes:
    - {id: a, type: transform, config: {mapping: {v: "{{ input.v }}"}}}
    - {id: b, type: transform, config: {mapping: {v: "{{ upstream.v + 1 }}"}}}
    - {id: c, type: transform, config: {mapping: {v: "{{ upstream.v * 2 }}"}}}
  edges:
    - {from: a, to: b}
    - {from: b, to: c}
  output: "{{ nodes.c.output.v }}"
"""


def filler(i: int) -> str:
    return (f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: load-filler-{i}, tags: [load]}}\n"
            "spec:\n  nodes:\n    - {id: start, type: noop}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def base_env(key: str) -> dict[str, str]:
    env = {**os.environ, "API_KEYS": key, "LOG_LEVEL": "warning", "MBFLOW_DISPATCHER": "embedded",
           "PYTHONUNBUFFERED": "1"}
    env.pop("CELERY_BROKER_URL", None)
    return env


def manage(env: dict[str, str], *args: str, tree: Path = ROOT) -> None:
    subprocess.run([str(PY), "manage.py", *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)


def start_server(kind: str, env: dict[str, str], workers: int = 1,
                 cwd: Path = ROOT) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    bin_dir = PY.parent
    if kind == "daphne":
        args = ["-b", "127.0.0.1", "-p", str(port), "mbflow_site.asgi:application"]
    else:
        args = ["mbflow_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-access-log", "--workers", str(workers)]
    cmd = [str(bin_dir / kind), *args]
    log_path = Path(tempfile.gettempdir()) / f"mbflow-api-load-{kind}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{kind} exited at start; see {log_path}")
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return proc, url, log_path
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"{kind} did not become ready; see {log_path}")


def _cpu_of(pid: str) -> tuple[str, int, float] | None:
    """(command name, parent pid, user + system CPU seconds) of one process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def host_ticks() -> tuple[int, int]:
    """(steal, all) clock ticks of the machine so far, from /proc/stat's cpu line."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return fields[7], sum(fields[:8])


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server's processes, of PostgreSQL's and of this client (Linux /proc)."""
    processes = {pid: info for pid in os.listdir("/proc") if pid.isdigit() and (info := _cpu_of(pid))}
    server = {str(server_pid)} | {pid for pid, (_, parent, _) in processes.items() if parent == server_pid}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "server": sum(processes[pid][2] for pid in server if pid in processes),
        "postgres": sum(cpu for name, _, cpu in processes.values() if name.startswith("postgres")),
        "client": usage.ru_utime + usage.ru_stime,
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def create_workflows(url: str, key: str, documents: list[str] | None = None) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for text in (documents or []) + [LIGHT] + [filler(i) for i in range(20)]:
            name = text.split("name: ", 1)[1].split("}", 1)[0].split(",", 1)[0]
            if client.get(f"/api/v1/workflows/{name}").status_code == 200:
                continue
            response = client.post("/api/v1/workflows", content=text)
            assert response.status_code == 201, response.text[:500]


def request_for(kind: str) -> tuple[str, str, dict[str, Any] | None]:
    if kind == "list":
        return "GET", "/api/v1/workflows", None
    if kind == "get":
        return "GET", "/api/v1/workflows/load-light", None
    return "POST", "/api/v1/executions", {"workflow": "load-light", "input": {"v": 1}, "wait": 10}


async def one(session: aiohttp.ClientSession, kind: str, scheduled: float,
              results: dict[str, list[float]], errors: dict[str, list[str]]) -> None:
    method, path, body = request_for(kind)
    try:
        async with session.request(method, path, json=body) as response:
            text = await response.text()
        ok = response.status == 200 and (kind != "execute" or json.loads(text).get("status") == "succeeded")
        detail = f"{response.status} {text[:120]}"
    except Exception as exc:  # every failure is an error of the run
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    latency = time.perf_counter() - scheduled
    if ok:
        results[kind].append(latency)
    else:
        errors[kind].append(detail)


async def drive(url: str, key: str, rate: float, duration: float, server_pid: int) -> dict[str, Any]:
    # aiohttp, not httpx: the client shares the 2 cores with the server, and httpx's AsyncClient
    # spent about 3 ms of CPU per request here, aiohttp well under 1 ms.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {key}"}, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def warm(offset: int) -> None:
            for i in range(offset, 300, 8):
                method, path, body = request_for(KINDS[i % 3])
                async with session.request(method, path, json=body) as response:
                    await response.read()
                    response.raise_for_status()

        await asyncio.gather(*(warm(offset) for offset in range(8)))
        unloaded: dict[str, list[float]] = {k: [] for k in KINDS}
        for i in range(60):  # warm-up, sequential (one request at a time): the unloaded latency
            method, path, body = request_for(KINDS[i % 3])
            begun = time.perf_counter()
            async with session.request(method, path, json=body) as response:
                await response.read()
                response.raise_for_status()
            unloaded[KINDS[i % 3]].append(time.perf_counter() - begun)
        results: dict[str, list[float]] = {k: [] for k in KINDS}
        errors: dict[str, list[str]] = {k: [] for k in KINDS}
        total = int(rate * duration)
        interval = 1 / rate
        tasks = []
        lag_max = 0.0
        cpu_before, steal_before = cpu_snapshot(server_pid), host_ticks()
        start = time.perf_counter() + 0.05
        for i in range(total):
            scheduled = start + i * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag_max = max(lag_max, time.perf_counter() - scheduled)
            tasks.append(asyncio.create_task(one(session, KINDS[i % 3], scheduled, results, errors)))
        send_end = time.perf_counter()
        await asyncio.gather(*tasks)
        end = time.perf_counter()
        cpu_after, steal_after = cpu_snapshot(server_pid), host_ticks()
    cpu = {part: cpu_after[part] - cpu_before[part] for part in cpu_before}
    steal = (steal_after[0] - steal_before[0]) / max(1, steal_after[1] - steal_before[1])
    return {"cpu": cpu, "steal": steal, "total": total, "results": results, "errors": errors,
            "send_wall": send_end - start, "unloaded": unloaded, "wall": end - start, "lag_max": lag_max}


def report(name: str, data: dict[str, Any], rate: float) -> dict[str, float]:
    results, errors = data["results"], data["errors"]
    completed = sum(len(v) for v in results.values())
    failed = sum(len(v) for v in errors.values())
    print(f"\n== {name} ==")
    print(f"sent {data['total']} over {data['send_wall']:.2f} s (achieved send rate "
          f"{data['total'] / data['send_wall']:.1f}/s, target {rate:.0f}/s, max scheduler lag "
          f"{data['lag_max'] * 1000:.1f} ms); completed OK {completed}, errors {failed}; "
          f"throughput {completed / data['wall']:.1f}/s (all answered after {data['wall']:.2f} s)")
    print("  unloaded (60 sequential requests, 20 per kind, after the warm-up, before the load): "
          + ", ".join(f"{k} p50 {pct(v, 50) * 1000:.1f} ms" for k, v in data["unloaded"].items()))
    print("  CPU per request during the load (/proc; PostgreSQL counts every backend on the machine): "
          + ", ".join(f"{part} {seconds / data['total'] * 1000:.2f} ms" for part, seconds in data["cpu"].items())
          + f"; the host took {data['steal'] * 100:.0f}% of this machine's CPU time (steal, /proc/stat)")
    everything: list[float] = []
    for kind in KINDS:
        values = results[kind]
        everything += values
        print(f"  {kind:8s} n={len(values):5d} err={len(errors[kind]):4d}  p50 {pct(values, 50) * 1000:8.1f} ms  "
              f"p95 {pct(values, 95) * 1000:8.1f} ms  p99 {pct(values, 99) * 1000:8.1f} ms  "
              f"max {max(values, default=float('nan')) * 1000:8.1f} ms")
    print(f"  {'overall':8s} n={len(everything):5d} err={failed:4d}  p50 {pct(everything, 50) * 1000:8.1f} ms  "
          f"p95 {pct(everything, 95) * 1000:8.1f} ms  p99 {pct(everything, 99) * 1000:8.1f} ms")
    for kind in KINDS:
        if errors[kind]:
            print(f"  first {kind} error: {errors[kind][0]}")
    return {"throughput": completed / data["wall"], "errors": failed, "p50": pct(everything, 50),
            "p95": pct(everything, 95), "server_cpu": data["cpu"]["server"] / data["total"]}


# --- Scenario "starts": executions started by many clients while others read ------------------

IO = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: load-io}
spec:
  nodes:
    - {id: call, type: http, config: {method: GET, url: "{{ input.target }}/ok", query: {v: "{{ input.v }}"}}}
    - {id: b, type: transform, config: {mapping: {v: "{{ upstream.body.v + 1 }}"}}}
    - {id: c, type: transform, config: {mapping: {v: "{{ upstream.v * 2 }}"}}}
  edges:
    - {from: call, to: b}
    - {from: b, to: c}
  output: "{{ nodes.c.output.v }}"
"""
READS = ("execution", "workflows", "executions")
TERMINAL = ("succeeded", "failed", "cancelled")


def serve_target(port_file: str) -> None:
    """The remote API the http node calls: answers ``{"v": <v>}`` at once (aiohttp, one thread)."""
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"v": int(request.query.get("v", "0"))})

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/ok", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        Path(port_file).write_text(str(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(serve())


def start_target() -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen([str(PY), __file__, "--serve-target", str(port_file)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the target server did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


def tree_env(env: dict[str, str], tree: Path) -> dict[str, str]:
    """``env`` with the code of ``tree`` first on the path (a copy of the project: the "before")."""
    env = {**env, "PYTHONPATH": str(tree)}
    probe = subprocess.run([str(PY), "-c", "import mbflow_site; print(mbflow_site.__file__)"], cwd=tree, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    if not probe.startswith(str(tree.resolve())):
        raise SystemExit(f"{tree}: mbflow_site was imported from {probe}")
    return env


def start_workers(env: dict[str, str], tree: Path, processes: int, threads: int) -> list[subprocess.Popen[bytes]]:
    started = []
    for i in range(processes):
        log = open(Path(tempfile.gettempdir()) / f"mbflow-api-load-worker{i}.log", "wb")  # noqa: SIM115
        started.append(subprocess.Popen(
            [str(PY.parent / "celery"), "-A", "mbflow_site", "worker", "--pool", "threads", "-c", str(threads),
             "--loglevel", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{i}-{os.getpid()}@%h"], cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT))
    return started


def execution_statuses(ids: list[str]) -> dict[str, int]:
    """How many of the executions ``ids`` are in each status (read from the database)."""
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT status, count(*) FROM executions_execution WHERE id = ANY(%s::uuid[]) "
                            "GROUP BY status", (ids,)).fetchall()
    return {status: count for status, count in rows}


def execution_errors(ids: list[str]) -> list[str]:
    """The distinct errors of those of ``ids`` that failed (a few)."""
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT DISTINCT error::text FROM executions_execution WHERE id = ANY(%s::uuid[]) "
                            "AND status <> 'succeeded' LIMIT 3", (ids,)).fetchall()
    return [row[0][:300] for row in rows]


def host_busy() -> tuple[int, int, int]:
    """(busy, steal, all) clock ticks of the machine so far (/proc/stat; busy leaves out idle and iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4] - fields[7], fields[7], sum(fields[:8])


def processes_cpu(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees, of each PostgreSQL backend
    (``postgres <pid>``) and of this client."""
    processes = {pid: info for pid in os.listdir("/proc") if pid.isdigit() and (info := _cpu_of(pid))}
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(int(pid))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = {f"postgres {pid}": c for pid, (name, _, c) in processes.items() if name.startswith("postgres")}
    cpu["client"] = usage.ru_utime + usage.ru_stime
    for group, pids in roots.items():
        todo, total = list(pids), 0.0
        while todo:
            pid = todo.pop()
            total += processes.get(str(pid), ("", 0, 0.0))[2]
            todo += children.get(pid, [])
        cpu[group] = total
    return cpu


def read_request(kind: str, known: list[str]) -> str:
    if kind == "execution":
        return f"/api/v1/executions/{known[-1 - secrets.randbelow(min(50, len(known)))]}"
    if kind == "workflows":
        return "/api/v1/workflows"
    return "/api/v1/executions"


async def read_steadily(session: aiohttp.ClientSession, rate: float, known: list[str],
                        done: Callable[[float], Awaitable[bool]]) -> tuple[dict[str, list[float]], list[str]]:
    """Reads (round robin of ``READS``) at ``rate`` per second, open loop, until ``done(elapsed)``;
    returns the latencies of each kind, from each read's scheduled time, and the errors."""
    latencies: dict[str, list[float]] = {k: [] for k in READS}
    errors: list[str] = []

    async def read(kind: str, scheduled: float) -> None:
        try:
            async with session.get(read_request(kind, known)) as response:
                await response.read()
            if response.status != 200:
                errors.append(f"GET {kind}: {response.status}")
                return
        except Exception as exc:  # every failure is an error of the run
            errors.append(f"GET {kind}: {type(exc).__name__}: {exc}")
            return
        latencies[kind].append(time.perf_counter() - scheduled)

    tasks, i, begin = [], 0, time.perf_counter()
    while True:
        scheduled = begin + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(read(READS[i % len(READS)], scheduled)))
        i += 1
        if await done(time.perf_counter() - begin):
            break
    await asyncio.gather(*tasks)
    return latencies, errors


async def starts_round(url: str, key: str, target: str, args: argparse.Namespace, wait: float,
                       roots: dict[str, list[int]]) -> dict[str, Any]:
    """Warm-up; reads alone for 5 s; then ``args.starts`` starts from ``args.clients`` clients at
    once (each starts its next when its previous start answered) with the same reads until the
    last execution ended; then every execution is checked in the database."""
    connector = aiohttp.TCPConnector(limit=0)
    body: dict[str, Any] = {"workflow": "load-io", "input": {"v": 1, "target": target}}
    if wait:
        body["wait"] = wait
    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {key}"}, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=wait + 90)) as session:
        known: list[str] = []

        async def warm(n: int) -> None:
            for _ in range(n):
                async with session.post("/api/v1/executions", json={**body, "wait": 30}) as response:
                    data = await response.json()
                    if data.get("status") != "succeeded":
                        raise SystemExit(f"warm-up execution did not succeed: {str(data)[:300]}")
                    known.append(data["id"])
                for kind in READS:
                    async with session.get(read_request(kind, known)) as response:
                        await response.read()
                        response.raise_for_status()

        async def for_five_seconds(elapsed: float) -> bool:
            return elapsed >= 5

        await asyncio.gather(*(warm(5) for _ in range(8)))
        busy_before = host_busy()
        alone, _ = await read_steadily(session, args.read_rate, known, for_five_seconds)
        busy_after = host_busy()
        started: list[str] = []
        start_latency: list[float] = []
        start_errors: list[str] = []
        remaining = iter(range(args.starts))

        async def client() -> None:
            for _ in remaining:
                sent = time.perf_counter()
                if sent - begin > args.round_timeout:
                    start_errors.append(f"not sent: the round ran out of its {args.round_timeout:g} s")
                    continue
                try:
                    async with session.post("/api/v1/executions", json=body) as response:
                        text = await response.text()
                    data = json.loads(text)
                    if response.status not in (200, 201) or "id" not in data:
                        start_errors.append(f"{response.status} {text[:120]}")
                        continue
                except Exception as exc:  # every failure is an error of the run
                    start_errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                start_latency.append(time.perf_counter() - sent)
                started.append(data["id"])
                known.append(data["id"])
                if wait and data.get("status") != "succeeded":
                    start_errors.append(f"answered {data.get('status')} after wait={wait}")

        checked = [0.0]

        async def all_ended(elapsed: float) -> bool:
            """After the last start answered: every execution ended (looked up twice a second)."""
            if not clients.done() or elapsed - checked[0] < 0.5:
                return False
            checked[0] = elapsed
            statuses = await asyncio.to_thread(execution_statuses, started)
            return sum(statuses.get(s, 0) for s in TERMINAL) == len(started) or elapsed > args.round_timeout

        cpu_before, host_before = processes_cpu(roots), host_busy()
        begin = time.perf_counter()
        clients = asyncio.gather(*(client() for _ in range(args.clients)))
        reading = asyncio.create_task(read_steadily(session, args.read_rate, known, all_ended))
        await clients
        starts_wall = time.perf_counter() - begin
        reads, read_errors = await reading
        wall = time.perf_counter() - begin
        cpu_after, host_after = processes_cpu(roots), host_busy()
    cpu = {part: cpu_after[part] - cpu_before[part] for part in cpu_after if not part.startswith("postgres")}
    # PostgreSQL: the backends alive at both ends (every database's: other agents' too).
    cpu["postgres"] = sum(cpu_after[part] - cpu_before[part] for part in cpu_after
                          if part.startswith("postgres") and part in cpu_before)
    ticks = max(1, host_after[2] - host_before[2])
    return {"started": started, "start_latency": start_latency, "start_errors": start_errors, "reads": reads,
            "read_errors": read_errors, "alone": alone, "starts_wall": starts_wall, "wall": wall, "cpu": cpu,
            "busy": (host_after[0] - host_before[0]) / ticks, "steal": (host_after[1] - host_before[1]) / ticks,
            "busy_alone": (busy_after[0] - busy_before[0]) / max(1, busy_after[2] - busy_before[2]),
            "statuses": execution_statuses(started), "errors": execution_errors(started)}


def latency_line(label: str, values: list[float], errors: int | None = None) -> str:
    return (f"  {label:16s} n={len(values):5d}" + ("" if errors is None else f" err={errors:3d}")
            + f"  p50 {pct(values, 50) * 1000:8.1f} ms  p95 {pct(values, 95) * 1000:8.1f} ms  "
            f"p99 {pct(values, 99) * 1000:8.1f} ms  max {max(values, default=float('nan')) * 1000:8.1f} ms")


def starts_report(name: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    started, statuses = data["started"], data["statuses"]
    everything = [v for values in data["reads"].values() for v in values]
    alone = [v for values in data["alone"].values() for v in values]
    lost = len(started) - statuses.get("succeeded", 0)
    print(f"\n== {name} ==")
    print(f"  {len(started)} of {args.starts} started in {data['starts_wall']:.1f} s "
          f"({len(started) / data['starts_wall']:.1f}/s), all ended after {data['wall']:.1f} s; "
          f"statuses {statuses}; lost (started, not succeeded) {lost}; start errors {len(data['start_errors'])}"
          + (f" (first: {data['start_errors'][0]})" if data["start_errors"] else ""))
    for error in data["errors"]:
        print(f"  an execution that did not succeed: {error}")
    print(f"  host: {data['busy'] * 100:.0f}% of the machine's CPU busy (all processes, other agents' too; "
          f"{data['busy_alone'] * 100:.0f}% during the reads alone), steal {data['steal'] * 100:.0f}%; CPU per "
          "execution: " + ", ".join(f"{part} {seconds / max(1, len(started)) * 1000:.1f} ms"
                                    for part, seconds in data["cpu"].items()))
    print(latency_line("reads alone", alone))
    print(latency_line("start", data["start_latency"], len(data["start_errors"])))
    for kind, values in data["reads"].items():
        print(latency_line(f"GET {kind}", values))
    print(latency_line("reads", everything, len(data["read_errors"])))
    if data["read_errors"]:
        print(f"  first read error: {data['read_errors'][0]}")
    lat = data["start_latency"]
    return {"read_p50": pct(everything, 50), "read_p95": pct(everything, 95), "read_p99": pct(everything, 99),
            "alone_p95": pct(alone, 95), "start_p50": pct(lat, 50), "start_p95": pct(lat, 95),
            "rate": len(started) / data["starts_wall"], "lost": lost, "busy": data["busy"]}


def parse_variants(text: str) -> dict[str, tuple[Path, dict[str, str]]]:
    """``name=DIR`` or ``name=DIR?KEY=VALUE&KEY=VALUE``, comma-separated: the code and settings
    of each variant."""
    variants = {}
    for item in text.split(","):
        name, _, rest = item.partition("=")
        tree, _, settings = rest.partition("?")
        variants[name] = (Path(tree or ROOT).resolve(),
                          dict(pair.split("=", 1) for pair in settings.split("&") if pair))
    return variants


def set_up_database(variants: dict[str, tuple[Path, dict[str, str]]], envs: dict[str, dict[str, str]]) -> None:
    """Migrates with the first variant's code (the variants compared share its schema) and seeds
    the demo tenant with the run's key."""
    first = next(iter(variants))
    manage(envs[first], "migrate", "--verbosity", "0", tree=variants[first][0])
    manage(envs[first], "mbflow_demo", tree=variants[first][0])


def run_starts(args: argparse.Namespace) -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    key = "mbf_" + secrets.token_urlsafe(32)
    env = {**base_env(key), "CELERY_BROKER_URL": os.environ["REDIS_URL"], "MBFLOW_DISPATCHER": "celery",
           "MBFLOW_HTTP_ALLOW_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": str(args.workers)}
    variants = parse_variants(args.variants or f"this={ROOT}")
    envs = {name: {**tree_env(env, tree), **settings} for name, (tree, settings) in variants.items()}
    set_up_database(variants, envs)
    waits = [float(w) for w in args.waits.split(",")]
    print(f"MBFlow starts under reads: {args.starts} executions of load-io (http GET to a local aiohttp "
          f"server, then 2 transform nodes) per round from {args.clients} clients at once, wait="
          f"{'/'.join(args.waits.split(','))}, with reads at {args.read_rate:.0f}/s (open loop, round robin of "
          f"GET /executions/{{id}}, /workflows, /executions) until every execution ended; uvicorn with "
          f"{args.workers} process(es), {args.celery_workers} Celery worker(s) --pool threads -c "
          f"{args.celery_threads}; PostgreSQL + Redis (broker too); {os.cpu_count()} CPUs; python "
          f"{sys.version.split()[0]}; variants: " + ", ".join(
              f"{name}={tree}" + (f" {settings}" if settings else "") for name, (tree, settings) in variants.items()))
    target_proc, target = start_target()
    figures: dict[tuple[str, float], list[dict[str, float]]] = {}
    try:
        for round_no in range(args.rounds or 2):
            for wait in waits:
                for name, (tree, _settings) in variants.items():
                    round_env = {**envs[name], "MBFLOW_QUEUE_PREFIX": f"mbflow-bench-{secrets.token_hex(4)}"}
                    server, url, _log = start_server("uvicorn", round_env, args.workers, cwd=tree)
                    workers = start_workers(round_env, tree, args.celery_workers, args.celery_threads)
                    try:
                        create_workflows(url, key, [IO])
                        roots = {"web": [server.pid], "workers": [w.pid for w in workers]}
                        data = asyncio.run(starts_round(url, key, target, args, wait, roots))
                        if any(proc.poll() is not None for proc in [server, *workers]):
                            print(f"  a server or worker process of {name} exited during the round")
                    finally:
                        for proc in [server, *workers]:
                            stop(proc)
                    label = f"round {round_no + 1}, {name}, wait={wait:g}"
                    figures.setdefault((name, wait), []).append(starts_report(label, data, args))
    finally:
        stop(target_proc)
    first = next(iter(variants))
    print(f"\nSummary (median of the rounds; x: ratio to {first} in the same round):")
    for wait in waits:
        for name in variants:
            rows = figures[(name, wait)]
            med = {k: sorted(r[k] for r in rows)[len(rows) // 2] for k in rows[0]}
            ratios = [r["read_p95"] / b["read_p95"] for b, r in zip(figures[(first, wait)], rows, strict=True)]
            print(f"  wait={wait:g} {name:8s}: read p50 {med['read_p50'] * 1000:.1f} / p95 "
                  f"{med['read_p95'] * 1000:.1f} / p99 {med['read_p99'] * 1000:.1f} ms (alone p95 "
                  f"{med['alone_p95'] * 1000:.1f}); start p50 {med['start_p50'] * 1000:.0f} / p95 "
                  f"{med['start_p95'] * 1000:.0f} ms, {med['rate']:.1f}/s; lost {sum(r['lost'] for r in rows):.0f}; "
                  f"host busy {med['busy'] * 100:.0f}%; read p95 by round "
                  + ", ".join(f"{r['read_p95'] * 1000:.0f}" for r in rows)
                  + ("" if name == first else " (x " + ", ".join(f"{r:.2f}" for r in ratios) + ")"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=("mix", "starts"), default="mix")
    parser.add_argument("--serve-target", help=argparse.SUPPRESS)
    parser.add_argument("--servers", default="uvicorn,daphne")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes (daphne serves from one process)")
    parser.add_argument("--starts", type=int, default=1000, help="starts: executions per round")
    parser.add_argument("--clients", type=int, default=50, help="starts: clients starting at once")
    parser.add_argument("--read-rate", type=float, default=30, help="starts: reads per second")
    parser.add_argument("--waits", default="30,0", help="starts: the start's wait (0: none), comma-separated")
    parser.add_argument("--rounds", type=int, help="rounds of each variant (and wait): 2 for starts, 1 for mix")
    parser.add_argument("--round-timeout", type=float, default=240,
                        help="starts: seconds after which a round sends no more starts and stops reading")
    parser.add_argument("--celery-workers", type=int, default=1, help="starts: Celery worker processes")
    parser.add_argument("--celery-threads", type=int, default=16, help="starts: threads per Celery worker")
    parser.add_argument("--variants", help="name=DIR[?KEY=VALUE&...],... the code and settings to compare, "
                        "one round of each in turn (default: this project as it is)")
    args = parser.parse_args()
    if args.serve_target:
        serve_target(args.serve_target)
        return
    # Stopped (SIGTERM), the run still stops the servers and workers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.scenario == "starts":
        run_starts(args)
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    key = "mbf_" + secrets.token_urlsafe(32)
    env = base_env(key)
    variants = parse_variants(args.variants or f"this={ROOT}")
    envs = {name: {**tree_env(env, tree), **settings} for name, (tree, settings) in variants.items()}
    set_up_database(variants, envs)
    print(f"MBFlow API open-loop load: {args.rate:.0f} req/s for {args.duration:.0f} s per server, mix "
          f"1/3 GET /workflows, 1/3 GET /workflows/load-light, 1/3 POST /executions wait=10 (3-node light "
          f"workflow); PostgreSQL + Redis, embedded dispatcher in each server process; python "
          f"{sys.version.split()[0]}; client: one aiohttp ClientSession, latency from scheduled send time"
          + f"; uvicorn with {args.workers} worker process(es), daphne with one; settings as shipped (one "
          "psycopg pool per process, DB_MAX_CONNECTIONS)")
    figures: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _round in range(args.rounds or 1):
        for variant, (tree, _settings) in variants.items():
            for name in args.servers.split(","):
                proc, url, log_path = start_server(name, envs[variant], args.workers, cwd=tree)
                try:
                    create_workflows(url, key)
                    data = asyncio.run(drive(url, key, args.rate, args.duration, proc.pid))
                finally:
                    stop(proc)
                label = name if len(variants) == 1 else f"{variant}, {name}"
                figures.setdefault((variant, name), []).append(report(f"{label} ({url}, log {log_path})", data,
                                                                      args.rate))
    print()
    for (variant, name), rows in figures.items():
        print(f"{variant}, {name}: " + "; ".join(
            f"{row['throughput']:.1f} OK/s, {row['errors']:.0f} errors, overall p50 {row['p50'] * 1000:.1f} / p95 "
            f"{row['p95'] * 1000:.1f} ms, server CPU {row['server_cpu'] * 1000:.2f} ms/request" for row in rows))


if __name__ == "__main__":
    main()
