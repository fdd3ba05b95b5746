"""`mbflow worker` (your function worker) and `mbflow start` (the server itself)."""

from __future__ import annotations

import importlib
import logging
import os
import sys

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
    finish the tasks in hand and exit 0."""
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
        err.print(f"mbflow worker: {target} on {served.client.base_url}", highlight=False)
        served.run()
