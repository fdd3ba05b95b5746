"""How executions look in the API (plain dicts: the hot path answers many of these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from django.conf import settings
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from rest_framework import serializers

from executions.engine.projection import NodeState
from executions.models import Execution, ExecutionEvent, ExecutionStatus, NodeRun
from executions.services.payloads import shown
from mbflow_site.errors import ApiError
from mbflow_site.formats import iso_time

# What ``execution_summary`` and ``execution_detail`` read: a list loads only these (the
# version's document, which ``select_related`` would bring along, is the largest part of a row).
SUMMARY_FIELDS = ("workflow__name", "version__number", "status", "idempotency_key", "parent_id", "depth",
                  "trigger", "created_at", "started_at", "finished_at", "total_steps", "metadata")
DETAIL_FIELDS = (*SUMMARY_FIELDS, "input", "output", "error", "compensation", "replay_of_id")


def execution_summary(execution: Execution) -> dict[str, Any]:
    workflow = execution.workflow
    return {
        "id": str(execution.pk),
        # The Magic Flow seed's names: ``execution_id`` (= ``id``) and the page that shows the run.
        "execution_id": str(execution.pk),
        "tracking_url": f"{settings.MBFLOW_PUBLIC_URL}/executions/{execution.pk}",
        "metadata": execution.metadata,
        "workflow": {"id": str(workflow.pk), "name": workflow.name} if workflow is not None else None,
        "version": execution.version.number if execution.version_id and execution.version else None,
        "status": execution.status,
        "idempotency_key": execution.idempotency_key,
        "parent_id": str(execution.parent_id) if execution.parent_id else None,
        "depth": execution.depth,
        "trigger": execution.trigger,
        "created_at": iso_time(execution.created_at),
        "started_at": iso_time(execution.started_at),
        "finished_at": iso_time(execution.finished_at),
        "total_steps": execution.total_steps,
    }


def step_data(run: NodeRun | NodeState, execution_id: Any) -> dict[str, Any]:
    """A step of an execution: its node's row, or its state as the step that started the
    execution left it (``known_runs``: the same fields)."""
    return {
        "node_id": run.node_id,
        "status": run.status,
        "attempt": run.attempt,
        "input": run.input,
        "output": shown(run.output, execution_id, run.node_id),
        "error": run.error,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "scheduled_at": iso_time(run.scheduled_at),
        "reused_from": run.reused_from,
    }


FINISHED_STEPS = frozenset({"succeeded", "failed", "skipped", "timed_out", "cancelled"})


def execution_detail(execution: Execution, runs: list[NodeRun] | list[NodeState] | None = None) -> dict[str, Any]:
    runs = runs if runs is not None else list(execution.node_runs.order_by("order"))
    data = execution_summary(execution)
    data.update({
        "input": execution.input,
        "output": execution.output,
        "error": execution.error,
        "compensation": execution.compensation,
        "replay_of": str(execution.replay_of_id) if execution.replay_of_id else None,
        "completed_steps": sum(1 for run in runs if run.status in FINISHED_STEPS),
        "steps": [step_data(run, execution.pk) for run in runs],
    })
    return data


# What ``?include=`` may add to the execute answer (``POST /workflows/{ref}/execute``).
INCLUDES = frozenset({"steps", "io"})
FULL = INCLUDES


def read_include(raw: str | None, default: frozenset[str]) -> frozenset[str]:
    """The parts ``?include=`` asks for (comma-separated ``steps``, ``io``; ``all`` for both);
    ``default`` without it. 400 naming ``include`` for an unknown part."""
    if raw is None:
        return default
    parts = {part.strip() for part in raw.split(",") if part.strip()}
    if "all" in parts:
        parts = (parts - {"all"}) | INCLUDES
    unknown = sorted(parts - INCLUDES)
    if unknown:
        raise ApiError(f"`include` takes steps, io or all (comma-separated), not {', '.join(unknown)}.",
                       code="validation_error", details={"fields": {"include": [f"Unknown part: {unknown[0]}."]}})
    return frozenset(parts)


def execution_answer(execution: Execution, runs: list[NodeRun] | list[NodeState] | None,
                     include: frozenset[str]) -> dict[str, Any]:
    """The answer to a start: the detail with ``include`` = {steps, io}; without ``steps``, no
    per-node list (``completed_steps`` counts them); without ``io``, neither the execution's
    input nor any step's input and output. The output, error and status are always there."""
    if include == FULL:
        return execution_detail(execution, runs)
    data = execution_summary(execution)
    data.update({"output": execution.output, "error": execution.error, "compensation": execution.compensation,
                 "replay_of": str(execution.replay_of_id) if execution.replay_of_id else None})
    if "io" in include:
        data["input"] = execution.input
    if "steps" in include or runs is not None:
        runs = runs if runs is not None else list(execution.node_runs.order_by("order"))
        data["completed_steps"] = sum(1 for run in runs if run.status in FINISHED_STEPS)
    else:
        data["completed_steps"] = execution.node_runs.filter(status__in=FINISHED_STEPS).count()
    if "steps" in include:
        steps = [step_data(run, execution.pk) for run in runs]
        if "io" not in include:
            for step in steps:
                del step["input"], step["output"]
        data["steps"] = steps
    return data


def execution_results(execution: Execution) -> dict[str, Any]:
    runs = execution.node_runs.order_by("order")
    return {
        "id": str(execution.pk),
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "nodes": {run.node_id: {"status": run.status, "output": shown(run.output, execution.pk, run.node_id),
                                "error": run.error} for run in runs},
    }


def event_data(event: ExecutionEvent) -> dict[str, Any]:
    return {"seq": event.seq, "type": event.type, "node_id": event.node_id, "payload": event.payload,
            "time": iso_time(event.time)}


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "A version number, not a boolean.")
    return value


def _nullable(**schema: Any) -> WithJsonSchema:
    """The field as OpenAPI 3.0 says "or null" (pydantic writes JSON Schema's ``type: null``)."""
    return WithJsonSchema({**schema, "nullable": True})


class Start(BaseModel):
    """The body that starts an execution."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    workflow: Annotated[str | None, _nullable(type="string", description="A workflow id or name.")] = None
    # The bounds go on the number, not on "number or null": pydantic cannot compare null to 1.
    version: Annotated[Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=1)] | None,
                       _nullable(type="integer", minimum=1, description="A version number; the active one by default.")
                       ] = None
    input: Annotated[Any, _nullable(description="The input, checked against the workflow's input_schema.")] = None
    idempotency_key: Annotated[str | None, Field(max_length=200),
                               _nullable(type="string", maxLength=200,
                                         description="A second start with the same key returns the first.")] = None
    wait: Annotated[float | None, Field(ge=0),
                    _nullable(type="number", minimum=0, description="Seconds to wait for the result.")] = None
    metadata: Annotated[dict[str, Any] | None,
                        _nullable(type="object", description="Anything about the run (source, user agent...): "
                                  "stored, returned and filterable (`?metadata.<key>=<value>`).")] = None


class Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compensate: Annotated[bool, Field(description="Run the compensation steps that undo what succeeded first.")] = False


class Replay(BaseModel):
    """Runs an execution again from one node: the nodes before it keep their outputs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Annotated[str, Field(alias="from", min_length=1, max_length=64,
                                description="The node to run again from, with everything after it.")]
    input: Annotated[Any, _nullable(description="A new input; the original's by default.")] = None
    version: Annotated[Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=1)] | None,
                       _nullable(type="integer", minimum=1, description="The version to run on; the original's "
                                 "by default.")] = None
    idempotency_key: Annotated[str | None, Field(max_length=200), _nullable(type="string", maxLength=200)] = None
    wait: Annotated[float | None, Field(ge=0),
                    _nullable(type="number", minimum=0, description="Seconds to wait for the result.")] = None


class Signal(BaseModel):
    """A decision for an approval node that is waiting."""

    model_config = ConfigDict(extra="forbid")

    node_id: Annotated[str, Field(min_length=1, description="The approval node's id.")]
    decision: Annotated[Literal["approved", "rejected"], Field(description="approved or rejected.")]
    comment: Annotated[str | None, Field(max_length=2000),
                       _nullable(type="string", maxLength=2000, description="Why, for the record.")] = None
    data: Annotated[dict[str, Any] | None,
                    _nullable(type="object", description="Extra values for the nodes after it.")] = None


class Poll(BaseModel):
    """What a worker asks for: a task of its executor, waiting up to ``wait`` seconds for one."""

    model_config = ConfigDict(extra="forbid")

    executor: Annotated[str, Field(min_length=1, max_length=200, description="The worker's name (a node's executor).")]
    functions: Annotated[list[str] | None,
                         _nullable(type="array", items={"type": "string"},
                                   description="Only tasks of these functions.")] = None
    wait: Annotated[float, Field(ge=0, le=20, description="Seconds to wait for a task (long poll).")] = 0


class TaskError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(min_length=1, max_length=2000)]
    code: Annotated[str | None, Field(max_length=100), _nullable(type="string", maxLength=100)] = None
    retryable: bool = True
    details: Annotated[Any, _nullable(description="Anything that explains the failure.")] = None


class Completion(BaseModel):
    """A task's result: ``output``, or ``error`` when it failed."""

    model_config = ConfigDict(extra="forbid")

    output: Annotated[Any, _nullable(description="The function's response (the node maps it with `output`).")] = None
    error: Annotated[TaskError | None, _nullable(description="Set when the function failed.")] = None


class ListQuerySerializer(serializers.Serializer):
    workflow = serializers.CharField(required=False)
    status = serializers.CharField(required=False, help_text="Statuses, comma-separated.")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    trigger = serializers.RegexField(
        r"^[a-z_]{1,32}(,[a-z_]{1,32})*$|^[0-9a-fA-F-]{32,36}$", required=False,
        help_text="What started the runs: kinds (webhook, cron, interval, event, api, rerun, replay; "
                  "comma-separated) or one trigger's id.")
    id = serializers.RegexField(r"^(?:[0-9a-fA-F]-?){1,32}$", max_length=36, required=False,
                                help_text="An execution's id, or its first characters.")

    def validate_status(self, value: str) -> str:
        unknown = [name for name in value.split(",") if name not in ExecutionStatus.values]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown status {unknown[0]!r}; one of: {', '.join(ExecutionStatus.values)} (comma-separated).")
        return value


METADATA_PREFIX = "metadata."


def metadata_filters(query: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """The ``metadata.<key>=<value>`` parameters of a list, by key path (``metadata.a.b``: a > b)."""
    filters: dict[tuple[str, ...], str] = {}
    for name in query:
        if not name.startswith(METADATA_PREFIX):
            continue
        path = tuple(name[len(METADATA_PREFIX):].split("."))
        if not all(path) or len(name) > 200:
            raise ApiError("A metadata filter is `metadata.<key>=<value>`, with a key (or a dotted path) of up to "
                           "200 characters.", code="validation_error", details={"fields": {name: ["Not a key."]}})
        filters[path] = query[name]
    return filters


class EventsQuerySerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(required=False, min_value=0, default=0)


class SecretSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(write_only=True, trim_whitespace=False)


class SecretListQuerySerializer(serializers.Serializer):
    with_unset = serializers.BooleanField(
        required=False, default=False, help_text="Also the names workflows read that have no value (`set: false`).")
