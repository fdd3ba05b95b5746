"""Running and watching: `mbflow run`, `mbflow executions ...`, `mbflow events send`."""

from __future__ import annotations

import json
import queue
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Column, Table

import mbflow.embedded
from mbflow.cli.context import Exit, err, fail, options, out, parse_json_argument, print_json, reporting, with_client
from mbflow.cli.documents import read_file, use_local
from mbflow.cli.progress import RunView, summary_table
from mbflow.cli.serving import load_worker
from mbflow.client import Client
from mbflow.errors import NotFound
from mbflow.models import Event, Execution

INPUT = typer.Option(None, "--input", "-i", help="The input as JSON, or @file (@- for standard input).")
AS_JSON = typer.Option(False, "--json", help="Print the execution as JSON.")


def exit_code(execution: Execution) -> int:
    if execution.status == "succeeded":
        return Exit.OK
    if execution.status in ("failed", "cancelled"):
        return Exit.FAILED
    return Exit.TIMEOUT


def report(execution: Execution, as_json: bool) -> None:
    """The final status and output (and the error of a failed run); exits with its code."""
    if as_json:
        print_json(execution)
    else:
        out.print(f"execution {execution.id}: {execution.status}", highlight=False)
        if execution.output is not None:
            out.print(json.dumps(execution.output, indent=2, ensure_ascii=False), highlight=False, markup=False)
        if execution.error:
            err.print(json.dumps(execution.error, indent=2, ensure_ascii=False), highlight=False, markup=False)
    raise typer.Exit(exit_code(execution))


def follow(client: Client, execution: Execution, timeout: float, quiet: bool) -> Execution:
    """Shows the run's events as they come until it ends or ``timeout`` passes."""
    events: queue.Queue[Event | BaseException | None] = queue.Queue()

    def read() -> None:
        try:
            for event in client.executions.stream(execution.id):
                events.put(event)
            events.put(None)
        except BaseException as exc:
            events.put(exc)

    threading.Thread(target=read, daemon=True, name="mbflow-stream").start()
    deadline = time.monotonic() + timeout
    with RunView(err) as view:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                item = events.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            if not quiet:
                view.add(item)
        ended = client.executions.get(execution.id)
        view.settle(ended)
    return ended


def looks_like_a_file(target: str) -> bool:
    return "/" in target or target.endswith((".yaml", ".yml", ".json"))


def run(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="A workflow's name or id on the server, or a workflow file."),
    input: str | None = INPUT,
    wait: bool = typer.Option(False, "--wait", help="Follow the run live until it ends (a file run --local "
                                                    "always waits)."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to follow the run before giving up (exit 5)."),
    local: bool = typer.Option(False, "--local", help="Run in this process: no server, database file or broker."),
    worker: str | None = typer.Option(None, "--worker", help="With --local: module:worker serving the "
                                                             "workflow's function steps."),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress view; only the result."),
    as_json: bool = AS_JSON,
) -> None:
    """Run a workflow (by name, or a file) with an input; with --wait (or --local) show its
    progress and print the final status and output. Exit 0 succeeded, 1 failed or cancelled,
    5 still running after --timeout."""
    data = parse_json_argument(input, "--input")
    path = Path(target)
    if local:
        use_local(ctx, True)
        if not path.is_file():
            fail(f"--local runs a workflow file; {target} is not a file", Exit.USAGE)
        served = load_worker(worker) if worker else None
        text = read_file(path)
        with reporting():
            mbflow.embedded.start()  # before the view: its clock counts the run, not the start-up
        with reporting(path):
            if quiet or as_json:
                execution = mbflow.embedded.run(text, data, timeout=timeout, worker=served)
            else:
                with RunView(err) as view:
                    execution = mbflow.embedded.run(text, data, timeout=timeout, worker=served, on_event=view.add)
                    view.settle(execution)
        report(execution, as_json)

    def work(client: Client) -> Execution:
        if path.is_file():
            with reporting(path):
                started = client.executions.start_adhoc(read_file(path), data, idempotency_key=idempotency_key)
        else:
            try:
                started = client.executions.start(target, data, idempotency_key=idempotency_key)
            except NotFound:
                if not looks_like_a_file(target):
                    raise
                fail(f"no workflow named {target!r} on the server, and no file {target} here", Exit.REFUSED)
        if not wait:
            return started
        return follow(client, started, timeout, quiet or as_json)

    execution = with_client(ctx, work)
    if not wait:
        if as_json:
            print_json(execution)
        else:
            out.print(execution.id, highlight=False)
            err.print(f"started: {execution.status} (follow it with: mbflow executions logs {execution.id} "
                      "--follow)", highlight=False)
        return
    report(execution, as_json)


executions = typer.Typer(no_args_is_help=True, help="List, inspect and control executions.")


class Status(StrEnum):
    pending = "pending"
    running = "running"
    paused = "paused"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


@executions.command("list")
def list_executions(
    ctx: typer.Context,
    workflow: str | None = typer.Option(None, help="A workflow's name or id."),
    status: Status | None = typer.Option(None, help="Only the executions in this status."),
    limit: int = typer.Option(50, min=1, max=500, help="How many (newest first)."),
    as_json: bool = AS_JSON,
) -> None:
    """The newest executions, newest first."""
    chosen = status.value if status is not None else None
    page = with_client(ctx, lambda client: client.executions.list(workflow, chosen, page_size=limit))
    if as_json:
        print_json(page.results)
        return
    # The ids are what one copies into the next command: never shortened to fit the terminal.
    table = Table(Column("id", no_wrap=True, min_width=36), "workflow", "status", "created", "steps", box=None)
    for item in page.results:
        table.add_row(item.id, item.workflow.name if item.workflow else "(ad hoc)", item.status,
                      item.created_at.strftime("%Y-%m-%d %H:%M:%S"), str(item.total_steps))
    out.print(table)


@executions.command("show")
def show(ctx: typer.Context, execution_id: str = typer.Argument(...), as_json: bool = AS_JSON) -> None:
    """An execution's status, output, error and steps."""
    execution = with_client(ctx, lambda client: client.executions.get(execution_id))
    if as_json:
        print_json(execution)
        return
    name = execution.workflow.name if execution.workflow else "(ad hoc)"
    out.print(f"execution {execution.id} of {name} v{execution.version or '-'}: {execution.status}", highlight=False)
    out.print(summary_table(execution))
    if execution.output is not None:
        out.print("output: " + json.dumps(execution.output, ensure_ascii=False), highlight=False, markup=False)
    if execution.error:
        out.print("error: " + json.dumps(execution.error, ensure_ascii=False), highlight=False, markup=False)


def _event_line(event: Event) -> str:
    payload = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
    if len(payload) > 200:
        payload = payload[:197] + "..."
    return f"{event.seq:>4} {event.time.isoformat()} {event.type} {event.node_id} {payload}".replace("  ", " ")


@executions.command("logs")
def logs(
    ctx: typer.Context,
    execution_id: str = typer.Argument(...),
    follow_live: bool = typer.Option(False, "--follow", "-f", help="Keep printing events until it ends."),
    after: int = typer.Option(0, "--after", help="Only events after this seq."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """An execution's event log, in order (with --follow, live until it ends)."""
    def work(client: Client) -> None:
        events = client.executions.stream(execution_id, after) if follow_live else \
            client.executions.events(execution_id, after)
        for event in events:
            if as_json:
                out.print(event.model_dump_json(), highlight=False, markup=False, soft_wrap=True)
            else:
                out.print(_event_line(event), highlight=False, markup=False)

    with_client(ctx, work)


@executions.command("cancel")
def cancel(
    ctx: typer.Context,
    execution_id: str = typer.Argument(...),
    compensate: bool = typer.Option(False, "--compensate", help="Run the compensation steps first."),
    as_json: bool = AS_JSON,
) -> None:
    """Cancel a running or paused execution."""
    execution = with_client(ctx, lambda client: client.executions.cancel(execution_id, compensate))
    if as_json:
        print_json(execution)
    else:
        out.print(f"execution {execution.id}: {execution.status}", highlight=False)


@executions.command("retry")
def retry(
    ctx: typer.Context,
    execution_id: str = typer.Argument(...),
    wait: float | None = typer.Option(None, "--wait", help="Seconds to wait for it to end."),
    as_json: bool = AS_JSON,
) -> None:
    """Go on with a failed execution from its failed nodes (exit as `run`)."""
    execution = with_client(ctx, lambda client: client.executions.retry(execution_id, wait))
    if wait:
        report(execution, as_json)
    if as_json:
        print_json(execution)
    else:
        out.print(f"execution {execution.id}: {execution.status}", highlight=False)


events = typer.Typer(no_args_is_help=True, help="Send events to the server's event triggers.")


@events.command("send")
def send(
    ctx: typer.Context,
    type: str = typer.Argument(..., help="What happened, e.g. order.created."),
    data: str | None = typer.Option(None, "--data", "-d", help="The event's data as JSON, or @file."),
    source: str | None = typer.Option(None, "--source"),
    event_id: str | None = typer.Option(None, "--id", help="The event's id: the same id again starts nothing."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Send an event: the workflows whose event triggers match it start."""
    payload: Any = parse_json_argument(data, "--data")
    with reporting(), options(ctx).client() as client:
        try:
            answer = client.events.send(type, payload, source=source, id=event_id)
        except NotFound:
            fail(f"the server at {client.base_url} has no events API (POST /api/v1/events); it is older than this "
                 "CLI", Exit.NOT_AVAILABLE)
    if as_json:
        print_json(answer)
        return
    started = ", ".join(str(item.get("execution")) for item in answer.executions) or "none"
    label = " ".join(str(part) for part in (answer.event.get("type") or type, answer.event.get("id")) if part)
    out.print(f"event {label}: {'duplicate, ' if answer.duplicate else ''}"
              f"started {len(answer.executions)} execution(s): {started}", highlight=False)
    for failure in answer.failed:
        err.print(f"not started: {failure.get('workflow')}: {failure.get('error')}", highlight=False)
