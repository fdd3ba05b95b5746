"""`mbflow worker` (your function worker) and `mbflow start` (the server itself)."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import typer

from mbflow.cli.context import Exit, err, fail, options, reporting
from mbflow.worker import Worker


def load_worker(target: str) -> Worker:
    """``package.module:attribute`` → the Worker it names (the current folder is importable)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        fail(f"give the worker as module:attribute (e.g. myapp.workers:worker), not {target!r}", Exit.USAGE)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        fail(f"cannot import {module_name}: {exc}", Exit.USAGE)
    found = getattr(module, attribute, None)
    if not isinstance(found, Worker):
        fail(f"{target} is not a mbflow.Worker (it is {type(found).__name__})", Exit.USAGE)
    return found


def worker(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="The worker as module:attribute, e.g. myapp.workers:worker."),
    concurrency: int | None = typer.Option(None, help="Tasks run at once (default: the Worker's own)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each task."),
) -> None:
    """Run a function worker: poll for the tasks of its functions until SIGTERM or Ctrl-C, then
    finish the tasks in hand and exit 0. A Worker made without a client gets one for the server
    these options (or the environment, or the profile) name."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(message)s")
    # The module makes its own mbflow.Client(): the options given here reach it as the environment.
    given = options(ctx)
    for name, value in (("MBFLOW_URL", given.url), ("MBFLOW_API_KEY", given.api_key),
                        ("MBFLOW_PROFILE", given.profile)):
        if value:
            os.environ[name] = value
    served = load_worker(target)
    if concurrency:
        served.concurrency = concurrency
    with reporting():
        if served.client is None:
            # A Worker made without a client (as for `run --local --worker`): this command's server.
            served.client = given.client()
        where = served.client.base_url if served.client is not None else "(no client)"
        err.print(f"mbflow worker: {target} on {where}", highlight=False)
        served.run()


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, optional quotes), as in .env.example."""
    found: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip().isidentifier():
            fail(f"{path}:{number}: not KEY=VALUE", Exit.USAGE)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found


def _django(env: dict[str, str], *command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "django", *command], env=env, check=False)
    if done.returncode != 0:
        fail(f"`django-admin {' '.join(command)}` failed (exit {done.returncode})", Exit.FAILED)


def start(
    port: int = typer.Option(8181, "--port", "-p", envvar="PORT", help="HTTP and WebSocket port."),
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on."),
    config: Path | None = typer.Option(None, "--config", "-c", exists=True, dir_okay=False,
                                       help="A settings file of KEY=VALUE lines (see .env.example); the "
                                            "environment wins over it."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Also run a Celery worker with this many "
                                                                   "threads (needs CELERY_BROKER_URL)."),
    migrate: bool = typer.Option(True, "--migrate/--no-migrate", help="Apply migrations and seed the demo "
                                                                       "tenant first."),
) -> None:
    """Serve MBFlow as `make run` does: migrate, seed the demo tenant and admin, then uvicorn
    (the designer, the API and the WebSockets on one port). Stops on SIGTERM or Ctrl-C."""
    env = {**(read_env_file(config) if config else {}), **os.environ, "PORT": str(port)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
    if workers and not env.get("CELERY_BROKER_URL"):
        fail("--workers needs a broker: set CELERY_BROKER_URL (Redis or RabbitMQ)", Exit.USAGE)
    if migrate:
        _django(env, "migrate", "--no-input")
        _django(env, "mbflow_demo")
    children: list[subprocess.Popen[bytes]] = []
    if workers:
        children.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "mbflow_site", "worker", "--pool",
                                          "threads", "--concurrency", str(workers), "--loglevel", "info"], env=env))
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "mbflow_site.asgi:application", "--host", host,
                               "--port", str(port), "--log-level", "warning"], env=env)
    children.append(server)
    err.print(f"MBFlow: http://localhost:{port} (API at /api/v1/, docs at /api/docs/)", highlight=False)

    def stop(number: int, frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = server.wait()
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    raise typer.Exit(0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else Exit.FAILED)
