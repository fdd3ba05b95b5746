"""API under open-loop load: daphne vs uvicorn, each a real server process on PostgreSQL + Redis.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loadbench REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/api_load.py [--servers uvicorn,daphne] [--rate 200] [--duration 20]
        [--workers N]

Each server process holds a pool of up to DB_MAX_CONNECTIONS (20) connections; on a shared
PostgreSQL, connect as a role with a CONNECTION LIMIT to be sure of it.

Set-up: `manage.py migrate` and `manage.py mbflow_demo` with `API_KEYS=<generated key>` in the
environment (the key is seeded, hashed, for the demo tenant), then - through the API of the first
server - a small light workflow (`load-light`: 3 transform nodes) and 20 filler workflows for the
list. Executions of earlier runs are not deleted, the list of workflows stays the same.

Per server: the server is started as a subprocess on a free port (embedded dispatcher: no
CELERY_BROKER_URL) and waited for on /ready. Warm-up: 300 requests of the mix over 8 connections
at once, so that every worker process serves each kind before the load (a connection reaches one
process: after a sequential warm-up alone, a second uvicorn process met its first requests under
the load, and its first second - imports, first connections, queries compiled once - stalled
requests for up to 1.3 s), then 60 sequential requests, whose latency is printed as "unloaded".
Then it is driven open-loop: a scheduler fires one request every 1/rate s for `duration` s
regardless of responses (each request is its own asyncio task on one aiohttp ClientSession with
unlimited connections), in a fixed round-robin mix of GET /api/v1/workflows,
GET /api/v1/workflows/load-light and POST /api/v1/executions {"workflow": "load-light",
"wait": 10}. Latency is measured from the *scheduled* send time to the end of the response body,
so a late scheduler or a queue in the client counts against the server (no coordinated
omission). A request is an error when it fails, times out (30 s) or answers other than 200 (or
an execution other than "succeeded").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

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


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(PY), "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def start_server(kind: str, env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen[bytes], str, Path]:
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
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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


def create_workflows(url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for text in [LIGHT] + [filler(i) for i in range(20)]:
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


def report(name: str, data: dict[str, Any], rate: float) -> tuple[float, int, float]:
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
    return completed / data["wall"], failed, pct(everything, 50)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", default="uvicorn,daphne")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes (daphne serves from one process)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    key = "mbf_" + secrets.token_urlsafe(32)
    env = base_env(key)
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "mbflow_demo")
    print(f"MBFlow API open-loop load: {args.rate:.0f} req/s for {args.duration:.0f} s per server, mix "
          f"1/3 GET /workflows, 1/3 GET /workflows/load-light, 1/3 POST /executions wait=10 (3-node light "
          f"workflow); PostgreSQL + Redis, embedded dispatcher in each server process; python "
          f"{sys.version.split()[0]}; client: one aiohttp ClientSession, latency from scheduled send time"
          + f"; uvicorn with {args.workers} worker process(es), daphne with one; settings as shipped (one "
          "psycopg pool per process, DB_MAX_CONNECTIONS)")
    figures: dict[str, tuple[float, int, float]] = {}
    for name in args.servers.split(","):
        proc, url, log_path = start_server(name, env, args.workers)
        try:
            create_workflows(url, key)
            data = asyncio.run(drive(url, key, args.rate, args.duration, proc.pid))
        finally:
            stop(proc)
        figures[name] = report(f"{name} ({url}, log {log_path})", data, args.rate)
    if len(figures) > 1:
        # Fewer errors first, then more answered per second, then the lower overall p50.
        best = min(figures, key=lambda n: (figures[n][1], -figures[n][0], figures[n][2]))
        print("\n" + "; ".join(f"{n}: {ok:.1f} OK/s, {err} errors, overall p50 {p50 * 1000:.1f} ms"
                                for n, (ok, err, p50) in figures.items()) + f" -> better: {best}")


if __name__ == "__main__":
    main()
