"""Embedded mode: a workflow run in this process, with no server, database file or broker.

    execution = mbflow.embedded.run("workflow.yaml", {"email": "ada@example.com"})
    execution.status, execution.output

It runs the server's own engine and executors on an in-memory database (see ``boot``), and
answers with the same ``Execution`` as ``Client.executions.start``. ``function`` steps are served
in process by a ``mbflow.Worker`` given as ``worker=``. It needs the MBFlow server package
installed (Django and the engine), which the SDK alone does not; and a process whose Django
settings it may set (a script, a test run in its own process), not a Django site's.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from mbflow.models import Event, Execution, Validation
from mbflow.worker import Worker

Document = str | Path


def available() -> bool:
    """Whether this process can run embedded: the server package (Django, the engine) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("django", "executions", "workflows"))


def _local() -> ModuleType:
    """The embedded runtime, started on first use.

    Imported here rather than at the top of this module because it is an optional
    dependency, not a cycle: it needs the server package (Django, the engine), which
    ``import mbflow`` must not require, and Django must be set up (``boot.start``) before
    the engine's model modules can be imported at all.
    """
    boot = importlib.import_module("mbflow.embedded.boot")
    boot.start()
    return importlib.import_module("mbflow.embedded.local")


def start() -> None:
    """Starts the embedded runtime now (Django on an in-memory database, migrated) rather than
    on the first ``run``; later calls return at once."""
    _local()


def _documents() -> ModuleType:
    """The definition language in process (no Django needed): imported here for the same reason
    as ``_local``: it is the server package, an optional dependency of the SDK."""
    return importlib.import_module("mbflow.embedded.documents")


def read_text(document: Document) -> str:
    """YAML text as given, or read from a path (a ``Path``, or a string naming an existing file)."""
    if isinstance(document, Path):
        return document.read_text(encoding="utf-8")
    if "\n" not in document and document.strip().endswith((".yaml", ".yml", ".json")) and Path(document).exists():
        return Path(document).read_text(encoding="utf-8")
    return document


def run(document: Document, input: Any = None, *, timeout: float = 300.0, worker: Worker | None = None,
        on_event: Callable[[Event], None] | None = None) -> Execution:
    """Runs the workflow (YAML text or a file, any dialect) with ``input`` until it ends or
    ``timeout`` seconds pass; ``worker`` serves its ``function`` steps. ``on_event`` is called
    with each event of the run's log, in order, as it happens (what ``Client.executions.stream``
    gives for a run on a server)."""
    hook = None if on_event is None else (lambda data: on_event(Event.model_validate(data)))
    detail = _local().run(read_text(document), input, timeout=timeout, worker=worker, on_event=hook)
    return Execution.model_validate(detail)


def validate(document: Document) -> Validation:
    """What ``POST /workflows/validate`` answers, computed here."""
    return Validation.model_validate(_documents().validate(read_text(document)))


def convert(document: Document) -> str:
    """The document in the native dialect (a seed file converted; a native one as it is)."""
    return str(_documents().convert(read_text(document)))


def canonical(document: Document) -> str:
    """The document written the one canonical way (key order, quoting, indentation); comments
    are not kept."""
    return str(_documents().canonical(read_text(document)))


def document(document: Document) -> dict[str, Any]:
    """A valid workflow file (any dialect) as the native document; InvalidWorkflow otherwise."""
    return dict(_documents().document(read_text(document)))


def context_schemas(document: Document) -> dict[str, Any]:
    """The ``input_schema`` and ``output_schema`` a WorkflowContext file (Magic Flow's
    context.yaml) sets."""
    return dict(_documents().context(read_text(document)))
