"""The live view of a run: nodes ticking over, a progress bar and durations in a terminal;
one plain line per event when the output is not a terminal (a pipe, a CI log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mbflow.models import Event, Execution

DONE = {"succeeded", "failed", "skipped", "timed_out", "cancelled"}
STYLE = {"succeeded": "green", "failed": "red", "timed_out": "red", "cancelled": "yellow", "skipped": "dim",
         "running": "cyan", "waiting": "magenta", "retrying": "yellow", "scheduled": "yellow", "pending": "dim"}
EVENT_STATUS = {"node.started": "running", "node.succeeded": "succeeded", "node.failed": "failed",
                "node.skipped": "skipped", "node.retrying": "retrying", "node.waiting": "waiting",
                "node.timed_out": "timed_out", "node.cancelled": "cancelled", "node.reused": "succeeded",
                "node.scheduled": "scheduled"}


@dataclass
class NodeLine:
    status: str = "pending"
    attempt: int = 0
    started: datetime | None = None
    finished: datetime | None = None

    def duration(self) -> str:
        if self.started is None:
            return ""
        end = self.finished or datetime.now(self.started.tzinfo)
        return f"{(end - self.started).total_seconds():.2f}s"


@dataclass
class RunView:
    """What the events said so far, drawn as a table and a bar (or printed line by line)."""

    console: Console
    nodes: dict[str, NodeLine] = field(default_factory=dict)
    status: str = "pending"
    live: Live | None = None
    bar: Progress | None = None
    task: Any = None

    def __enter__(self) -> RunView:
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console)
            self.task = self.bar.add_task("running", total=None)
            self.live = Live(self.render(), console=self.console, refresh_per_second=8, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(None, None, None)

    def add(self, event: Event) -> None:
        if event.type == "execution.created":
            for node_id in event.payload.get("nodes") or []:
                self.nodes.setdefault(str(node_id), NodeLine())
        elif event.type.startswith("execution."):
            self.status = event.type.split(".", 1)[1]
        elif event.node_id and event.type in EVENT_STATUS:
            line = self.nodes.setdefault(event.node_id, NodeLine())
            previous, line.status = line.status, EVENT_STATUS[event.type]
            line.attempt = int(event.payload.get("attempt") or line.attempt or 0)
            if event.type in ("node.started", "node.scheduled"):
                # A node started once its time came (a delay, a retry) counts from when it began waiting.
                if not (event.type == "node.started" and previous == "scheduled"):
                    line.started = event.time
                line.finished = None
            elif line.status in DONE:
                line.finished = event.time
        if self.live is not None:
            self.live.update(self.render())
        else:
            self.console.print(self.plain(event), highlight=False, markup=False)

    def settle(self, execution: Execution) -> None:
        """Draws the run as it ended: each step's status and attempt as stored, and the stored
        duration of a node that ran at once (it logs no start event to count from)."""
        for step in execution.steps:
            line = self.nodes.setdefault(step.node_id, NodeLine())
            line.status, line.attempt = step.status, step.attempt or line.attempt
            if line.started is None and step.started_at is not None and step.finished_at is not None:
                line.started, line.finished = step.started_at, step.finished_at
        self.status = execution.status
        if self.live is not None:
            self.live.update(self.render())

    def plain(self, event: Event) -> str:
        text = f"{event.time.strftime('%H:%M:%S')} {event.seq:>4} {event.type}"
        if event.node_id:
            line = self.nodes.get(event.node_id)
            text += f" {event.node_id}"
            if line is not None and line.attempt > 1:
                text += f" (attempt {line.attempt})"
            if line is not None and line.finished is not None and line.started is not None:
                text += f" {line.duration()}"
        return text

    def render(self) -> Group:
        table = Table("node", "status", "attempt", "time", box=None)
        for node_id, line in self.nodes.items():
            style = STYLE.get(line.status, "")
            table.add_row(node_id, f"[{style}]{line.status}[/{style}]" if style else line.status,
                          str(line.attempt or ""), line.duration())
        assert self.bar is not None
        finished = sum(1 for line in self.nodes.values() if line.status in DONE)
        self.bar.update(self.task, total=len(self.nodes) or None, completed=finished, description=self.status)
        return Group(table, self.bar)


def summary_table(execution: Execution) -> Table:
    table = Table("node", "status", "attempt", "time", box=None)
    for step in execution.steps:
        duration = ""
        if step.started_at and step.finished_at:
            duration = f"{(step.finished_at - step.started_at).total_seconds():.2f}s"
        style = STYLE.get(step.status, "")
        table.add_row(step.node_id, f"[{style}]{step.status}[/{style}]" if style else step.status,
                      str(step.attempt or ""), duration)
    return table
