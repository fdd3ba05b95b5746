"""Every endpoint the clients call, described once: path, body and how its answer reads.

``Client`` and ``AsyncClient`` send these ``Call``s (one line per method each); nothing else in
the package builds a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from mbflow.errors import MBFlowError
from mbflow.models import (
    Diff,
    Event,
    EventAnswer,
    Execution,
    ExecutionSummary,
    FunctionTask,
    Imported,
    Page,
    Results,
    Secret,
    Trigger,
    Validation,
    Version,
    VersionDetail,
    Workflow,
    WorkflowDetail,
)
from mbflow.transport import Call

M = TypeVar("M", bound=BaseModel)
UNSET: Any = object()
Document = str | Path | Mapping[str, Any]


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def _page(model: type[M]) -> Callable[[httpx.Response], Page[M]]:
    return lambda response: Page[model].model_validate(response.json())  # type: ignore[valid-type]


def _items(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """A list answer, paged (``results``) or plain."""

    def parse(response: httpx.Response) -> list[M]:
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        return [model.model_validate(row) for row in rows]

    return parse


def _text(response: httpx.Response) -> str:
    return response.text


def _bytes(response: httpx.Response) -> bytes:
    return response.content


def _nothing(response: httpx.Response) -> None:
    return None


def _json(response: httpx.Response) -> Any:
    return response.json()


def _imported(response: httpx.Response) -> Imported:
    body = response.json()
    workflow = WorkflowDetail.model_validate(body) if "id" in body else None
    return Imported.model_validate({"kind": body.get("kind", "Workflow"), "dialect": body.get("dialect"),
                                    "warnings": body.get("warnings", []), "context": body.get("context"),
                                    "workflow": workflow, "created": response.status_code == 201})


def _saved(response: httpx.Response) -> WorkflowDetail:
    if response.status_code == 202:
        raise MBFlowError("The server kept a WorkflowContext for a workflow that does not exist yet; send contexts "
                          "with workflows.import_() to see what was done with them.")
    return WorkflowDetail.model_validate(response.json())


def _task(response: httpx.Response) -> FunctionTask | None:
    return None if response.status_code == 204 else FunctionTask.model_validate(response.json())


def _ref(value: str) -> str:
    return quote(str(value), safe="")


def document_body(document: Document, message: str = "") -> dict[str, Any]:
    """``content`` (YAML text) or ``json`` for a document given as text, a file or a mapping."""
    if isinstance(document, Path):
        document = document.read_text(encoding="utf-8")
    if isinstance(document, str):
        payload: dict[str, Any] = {"yaml": document}
    else:
        payload = {"document": dict(document)}
    if message:
        payload["message"] = message
    return {"json": payload}


def _clean(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not UNSET}


# --- workflows --------------------------------------------------------------------------------

def list_workflows(search: str = "", tag: str = "", archived: bool = False, page: int = 1,
                   page_size: int = 50) -> Call[Page[Workflow]]:
    return Call("GET", "/workflows", _page(Workflow), params={
        "search": search or None, "tag": tag or None, "archived": "true" if archived else None,
        "page": page, "page_size": page_size})


def get_workflow(ref: str) -> Call[WorkflowDetail]:
    return Call("GET", f"/workflows/{_ref(ref)}", _model(WorkflowDetail))


def create_workflow(document: Document, message: str = "") -> Call[WorkflowDetail]:
    return Call("POST", "/workflows", _saved, **document_body(document, message))


def update_workflow(ref: str, document: Document, message: str = "") -> Call[WorkflowDetail]:
    return Call("PUT", f"/workflows/{_ref(ref)}", _saved, **document_body(document, message))


def set_workflow_flags(ref: str, archived: bool | None = None, active: bool | None = None) -> Call[WorkflowDetail]:
    body = {key: value for key, value in (("archived", archived), ("active", active)) if value is not None}
    return Call("PATCH", f"/workflows/{_ref(ref)}", _model(WorkflowDetail), json=body)


def delete_workflow(ref: str) -> Call[None]:
    return Call("DELETE", f"/workflows/{_ref(ref)}", _nothing)


def duplicate_workflow(ref: str, name: str) -> Call[WorkflowDetail]:
    return Call("POST", f"/workflows/{_ref(ref)}/duplicate", _model(WorkflowDetail), json={"name": name})


def validate_workflow(document: Document) -> Call[Validation]:
    return Call("POST", "/workflows/validate", _model(Validation), **document_body(document))


def import_workflow(document: Document, message: str = "") -> Call[Imported]:
    return Call("POST", "/workflows/import", _imported, **document_body(document, message))


def export_workflow(ref: str, version: int | None = None) -> Call[str]:
    return Call("GET", f"/workflows/{_ref(ref)}/export", _text, params={"version": version},
                headers={"Accept": "*/*"})


def list_versions(ref: str, page: int = 1, page_size: int = 50) -> Call[Page[Version]]:
    return Call("GET", f"/workflows/{_ref(ref)}/versions", _page(Version),
                params={"page": page, "page_size": page_size})


def get_version(ref: str, number: int) -> Call[VersionDetail]:
    return Call("GET", f"/workflows/{_ref(ref)}/versions/{int(number)}", _model(VersionDetail))


def diff_versions(ref: str, from_version: int, to_version: int | None = None) -> Call[Diff]:
    return Call("GET", f"/workflows/{_ref(ref)}/diff", _model(Diff),
                params={"from": from_version, "to": to_version})


def rollback_workflow(ref: str, version: int, message: str = "") -> Call[WorkflowDetail]:
    return Call("POST", f"/workflows/{_ref(ref)}/rollback", _model(WorkflowDetail),
                json={"version": version, "message": message})


def workflow_client(ref: str, language: str) -> Call[bytes]:
    """The generated typed client of a workflow, as a zip."""
    return Call("GET", f"/workflows/{_ref(ref)}/client", _bytes, params={"language": language},
                headers={"Accept": "*/*"})


def workflow_triggers(ref: str) -> Call[list[Trigger]]:
    return Call("GET", f"/workflows/{_ref(ref)}/triggers", _items(Trigger), params={"page_size": 500})


# --- executions -------------------------------------------------------------------------------

def _wait_time(wait: float | None) -> float:
    return float(wait or 0)


def start_execution(workflow: str, input: Any = None, *, wait: float | None = None,
                    idempotency_key: str | None = None, version: int | None = None,
                    metadata: dict[str, Any] | None = None) -> Call[Execution]:
    body = {"workflow": workflow, "input": input, "wait": wait, "idempotency_key": idempotency_key,
            "version": version, "metadata": metadata}
    return Call("POST", "/executions", _model(Execution), json={k: v for k, v in body.items() if v is not None},
                extra_time=_wait_time(wait), idempotent=idempotency_key is not None)


def start_adhoc(document: Document, input: Any = None, *, wait: float | None = None,
                idempotency_key: str | None = None) -> Call[Execution]:
    body = document_body(document)["json"]
    body.update({k: v for k, v in (("input", input), ("wait", wait), ("idempotency_key", idempotency_key))
                 if v is not None})
    return Call("POST", "/executions/adhoc", _model(Execution), json=body, extra_time=_wait_time(wait),
                idempotent=idempotency_key is not None)


def list_executions(workflow: str | None = None, status: str | None = None, created_after: str | None = None,
                    created_before: str | None = None, trigger: str | None = None, page: int = 1,
                    page_size: int = 50) -> Call[Page[ExecutionSummary]]:
    return Call("GET", "/executions", _page(ExecutionSummary), params={
        "workflow": workflow, "status": status, "created_after": created_after, "created_before": created_before,
        "trigger": trigger, "page": page, "page_size": page_size})


def get_execution(execution_id: str) -> Call[Execution]:
    return Call("GET", f"/executions/{_ref(execution_id)}", _model(Execution))


def execution_results(execution_id: str) -> Call[Results]:
    return Call("GET", f"/executions/{_ref(execution_id)}/results", _model(Results))


def execution_events(execution_id: str, after_seq: int = 0, page: int = 1, page_size: int = 500
                     ) -> Call[Page[Event]]:
    return Call("GET", f"/executions/{_ref(execution_id)}/events", _page(Event),
                params={"after_seq": after_seq, "page": page, "page_size": page_size})


def cancel_execution(execution_id: str, compensate: bool = False) -> Call[Execution]:
    return Call("POST", f"/executions/{_ref(execution_id)}/cancel", _model(Execution), json={"compensate": compensate})


def pause_execution(execution_id: str) -> Call[Execution]:
    return Call("POST", f"/executions/{_ref(execution_id)}/pause", _model(Execution))


def resume_execution(execution_id: str) -> Call[Execution]:
    return Call("POST", f"/executions/{_ref(execution_id)}/resume", _model(Execution))


def retry_execution(execution_id: str, wait: float | None = None) -> Call[Execution]:
    return Call("POST", f"/executions/{_ref(execution_id)}/retry", _model(Execution), params={"wait": wait},
                extra_time=_wait_time(wait))


def replay_execution(execution_id: str, from_node: str, input: Any = UNSET, *, version: int | None = None,
                     idempotency_key: str | None = None, wait: float | None = None) -> Call[Execution]:
    body = _clean({"from": from_node, "input": input, "version": version, "idempotency_key": idempotency_key,
                   "wait": wait})
    return Call("POST", f"/executions/{_ref(execution_id)}/replay", _model(Execution),
                json={k: v for k, v in body.items() if v is not None or k == "input"}, extra_time=_wait_time(wait),
                idempotent=idempotency_key is not None)


def rerun_execution(execution_id: str, input: Any = UNSET, *, idempotency_key: str | None = None,
                    wait: float | None = None) -> Call[Execution]:
    body = _clean({"input": input, "idempotency_key": idempotency_key, "wait": wait})
    return Call("POST", f"/executions/{_ref(execution_id)}/rerun", _model(Execution),
                json={k: v for k, v in body.items() if v is not None or k == "input"}, extra_time=_wait_time(wait),
                idempotent=idempotency_key is not None)


def signal_execution(execution_id: str, node_id: str, decision: str, comment: str | None = None,
                     data: dict[str, Any] | None = None) -> Call[Execution]:
    body = {"node_id": node_id, "decision": decision, "comment": comment, "data": data}
    return Call("POST", f"/executions/{_ref(execution_id)}/signals", _model(Execution),
                json={k: v for k, v in body.items() if v is not None})


# --- function tasks ---------------------------------------------------------------------------

def poll_task(executor: str, functions: list[str] | None = None, wait: float = 0) -> Call[FunctionTask | None]:
    body: dict[str, Any] = {"executor": executor, "wait": wait}
    if functions:
        body["functions"] = functions
    return Call("POST", "/function-tasks/poll", _task, json=body, extra_time=wait)


def complete_task(task_id: str, output: Any = None, error: dict[str, Any] | None = None) -> Call[Any]:
    body = {"error": error} if error is not None else {"output": output}
    # Answering twice is refused with 409 not_waiting, never applied twice: safe to send again.
    return Call("POST", f"/function-tasks/{_ref(task_id)}/complete", _json, json=body, idempotent=True)


# --- triggers, events, secrets ----------------------------------------------------------------

def list_triggers() -> Call[list[Trigger]]:
    return Call("GET", "/triggers", _items(Trigger), params={"page_size": 500})


def get_trigger(trigger_id: str) -> Call[Trigger]:
    return Call("GET", f"/triggers/{_ref(trigger_id)}", _model(Trigger))


def set_trigger_enabled(trigger_id: str, enabled: bool) -> Call[Trigger]:
    return Call("POST", f"/triggers/{_ref(trigger_id)}/{'enable' if enabled else 'disable'}", _model(Trigger))


def send_event(type: str, data: Any = None, *, source: str | None = None, id: str | None = None,
               time: str | None = None) -> Call[EventAnswer]:
    body = {"type": type, "data": data, "source": source, "id": id, "time": time}
    return Call("POST", "/events", _model(EventAnswer), json={k: v for k, v in body.items() if v is not None},
                idempotent=id is not None)


def list_secrets() -> Call[list[Secret]]:
    return Call("GET", "/secrets", _items(Secret), params={"page_size": 500})


def set_secret(name: str, value: str) -> Call[Secret]:
    return Call("PUT", f"/secrets/{_ref(name)}", _model(Secret), json={"value": value})


def delete_secret(name: str) -> Call[None]:
    return Call("DELETE", f"/secrets/{_ref(name)}", _nothing)


def me() -> Call[Any]:
    return Call("GET", "/me", _json)
