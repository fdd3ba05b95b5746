"""The native workflow document as pydantic models (``apiVersion: mbflow/v1``).

Unknown keys are errors everywhere except in the free-form parts (``config`` is checked by the
node type's own schema; ``input_schema``, ``variables``, ``output`` and trigger inputs are
free-form). Durations are read into seconds.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal, NotRequired
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from typing_extensions import TypedDict

from workflows.spec.durations import parse_duration
from workflows.spec.expressions import check_syntax, is_expression
from workflows.spec.sizes import SIZE_PATTERN, parse_size

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
WORKFLOW_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
EVENT_TYPE_PATTERN = r"^[A-Za-z0-9_.:/-]{1,200}$"  # an event trigger's `event`, an event's `type`

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda seconds: f"{seconds:g}s", return_type=str),
    WithJsonSchema({
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h|d)\s*)+$|^\s*\d+(\.\d+)?\s*$"},
        ],
        "examples": ["30s", "1m", "1h30m"],
    }),
]
TimeoutAction = Literal["cancel_and_cleanup", "retry", "fallback", "ignore"]
Expression = str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Metadata(Strict):
    name: Annotated[str, Field(pattern=WORKFLOW_NAME_PATTERN)]
    title: str | None = None
    description: str | None = None
    tags: list[str] = []
    annotations: dict[str, str] = {}


class RetryPolicy(Strict):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    backoff: Literal["fixed", "linear", "exponential"] = "exponential"
    initial_delay: Duration = 1.0
    max_delay: Duration = 60.0
    multiplier: Annotated[float, Field(gt=0)] = 2.0
    jitter: bool = True

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2 is the first retry), without jitter."""
        steps = max(attempt - 1, 1)
        if self.backoff == "fixed":
            delay = self.initial_delay
        elif self.backoff == "linear":
            delay = self.initial_delay * steps
        else:
            delay = self.initial_delay * self.multiplier ** (steps - 1)
        return min(delay, self.max_delay)


class CircuitBreaker(Strict):
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    recovery_timeout: Duration = 60.0
    half_open_max_calls: Annotated[int, Field(ge=1)] = 1
    failure_rate_threshold: Annotated[float, Field(gt=0, le=1)] | None = None
    window: Annotated[int, Field(ge=1, le=1000)] = 20  # calls the failure rate is measured over
    key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")] | None = None  # shared by nodes calling one service


class RateLimit(Strict):
    requests: Annotated[int, Field(ge=1, le=10_000)]
    per: Annotated[Duration, Field(gt=0)] = 1.0


class Position(Strict):
    x: float
    y: float


class NodeSpec(Strict):
    id: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    name: str | None = None
    description: str | None = None
    type: str
    config: dict[str, Any] = {}
    when: Expression | bool | None = None
    timeout: Duration | None = None
    timeout_action: TimeoutAction | None = None
    retry: RetryPolicy | None = None
    fallback: str | None = None
    fallback_output: Any = None
    circuit_breaker: CircuitBreaker | None = None
    # At most `concurrency` attempts running at once, at most `rate_limit` starting, counted per
    # node or, with `limit`, across every node of the tenant naming that limit.
    concurrency: Annotated[int, Field(ge=1, le=10_000)] | None = None
    rate_limit: RateLimit | None = None
    limit: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")] | None = None
    position: Position | None = None

    @model_validator(mode="after")
    def _limit_has_bounds(self) -> NodeSpec:
        if self.limit is not None and self.concurrency is None and self.rate_limit is None:
            raise ValueError("`limit` names a limit shared with other nodes: give it `concurrency` and/or "
                             "`rate_limit`")
        return self


class EdgeSpec(Strict):
    id: str | None = None
    from_: Annotated[str, Field(alias="from")]
    to: str
    on: Literal["success", "failure", "always"] = "success"
    port: str | None = None
    condition: Expression | None = None


class Defaults(Strict):
    timeout: Duration | None = None
    retry: RetryPolicy | None = None


class CompensationStep(Strict):
    """``node`` runs when the execution fails: only if ``compensates`` had succeeded (it undoes
    that node), only if ``when_failed`` failed (the failure it answers), or on any failure."""

    node: str
    when_failed: str | None = None
    compensates: str | None = None


def _five_field_cron(text: str) -> str:
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError("not a 5-field cron expression (minute hour day-of-month month day-of-week), "
                         "e.g. `0 9 * * 1-5`")
    return text


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as `Europe/Paris` or `UTC`") from None
    return name


def _event_filter(value: dict[str, Any] | str) -> dict[str, Any] | str:
    if isinstance(value, str):
        if not is_expression(value):
            raise ValueError("a filter is a mapping of fields to values, or an expression in `{{ }}`")
        error = check_syntax(value)
        if error:
            raise ValueError(error)
    return value


CronSchedule = Annotated[str, AfterValidator(_five_field_cron)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
EventFilter = Annotated[dict[str, Any] | str, AfterValidator(_event_filter)]
# After downtime (nothing ran the schedule tick at a due time): skip what was missed, or run once for it.
Missed = Literal["skip", "run_once"]

# A size in bytes (``spec.payload_limit``): a number of bytes or text like 512KiB, 1MiB, 2MB.
Size = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": SIZE_PATTERN}]}),
]


class _Trigger(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    enabled: bool = True


class CronTrigger(_Trigger):
    type: Literal["cron"]
    schedule: CronSchedule
    timezone: TimeZone = "UTC"
    input: dict[str, Any] = {}
    missed: Missed = "skip"


class IntervalTrigger(_Trigger):
    type: Literal["interval"]
    every: Annotated[Duration, Field(ge=1)]
    input: dict[str, Any] = {}
    missed: Missed = "skip"


class WebhookTrigger(_Trigger):
    type: Literal["webhook"]
    # async: 202 at once; sync: the answer of the run's `webhook_response` node, or its output.
    mode: Literal["async", "sync"] = "async"
    # The run's input: the request's body, or the request (`body`, `query`, `headers`, `method`).
    input: Literal["body", "request"] = "body"
    timeout: Annotated[Duration, Field(gt=0, le=300)] = 30.0  # sync: how long the caller waits


class EventTrigger(_Trigger):
    type: Literal["event"]
    event: Annotated[str, Field(pattern=EVENT_TYPE_PATTERN)]
    source: str | None = None
    # Field → value equality over the event's data (`customer.tier: gold`), or an expression over `event`.
    filter: EventFilter = {}
    # The run's input: the event's data, or the whole event (`type`, `data`, `source`, `id`, `time`).
    input: Literal["data", "event"] = "data"


class ManualTrigger(_Trigger):
    type: Literal["manual"]


Trigger = Annotated[
    CronTrigger | IntervalTrigger | WebhookTrigger | EventTrigger | ManualTrigger, Field(discriminator="type")
]


METRIC_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,79}$"
METRIC_LABEL_PATTERN = r"^[a-z_][a-z0-9_]{0,49}$"
# Labels every business metric carries already (and the histogram's bucket label).
RESERVED_METRIC_LABELS = frozenset({"tenant", "workflow", "le"})


def _number_or_expression(value: float | str | None) -> float | str | None:
    if isinstance(value, str):
        if not is_expression(value):
            raise ValueError("a number, or an expression in `{{ }}` (or a `$.a.b` path) over the finished execution")
        error = check_syntax(value)
        if error:
            raise ValueError(error)
    return value


MetricLabels = Annotated[dict[Annotated[str, Field(pattern=METRIC_LABEL_PATTERN)], str], Field(max_length=10)]


class MetricSpec(Strict):
    """A business metric the workflow's finished executions feed (``spec.metrics``): each
    execution that ends adds one observation, ``value`` (and ``labels``) computed over it."""

    name: Annotated[str, Field(pattern=METRIC_NAME_PATTERN)]
    type: Literal["counter", "gauge", "histogram"]
    description: Annotated[str, Field(max_length=500)] | None = None
    # counter: what the run adds (1 when absent); gauge: the value it sets; histogram: what it observes.
    value: Annotated[float | Expression | None, AfterValidator(_number_or_expression)] = None
    labels: MetricLabels = {}
    # Whether the run counts (an expression, or a bool); every execution that ends when absent.
    when: Expression | bool | None = None
    buckets: Annotated[list[float], Field(min_length=1, max_length=30)] | None = None  # histogram bounds

    @model_validator(mode="after")
    def _consistent(self) -> MetricSpec:
        if self.type != "counter" and self.value is None:
            raise ValueError(f"a {self.type} needs `value` (what each finished execution sets or observes)")
        if self.buckets is not None:
            if self.type != "histogram":
                raise ValueError("`buckets` belong to a histogram")
            if any(later <= earlier for earlier, later in zip(self.buckets, self.buckets[1:], strict=False)):
                raise ValueError("`buckets` must increase")
        reserved = sorted(RESERVED_METRIC_LABELS & set(self.labels))
        if reserved:
            raise ValueError(f"the label {reserved[0]!r} is set by MBFlow itself; choose another name")
        return self


RetentionPeriod = Annotated[Duration, Field(gt=0)]


class Retention(Strict):
    """How long the workflow's finished executions are kept (``spec.retention``), by how they
    ended; an absent one keeps the tenant's default (MBFLOW_RETENTION_*), or forever."""

    succeeded: RetentionPeriod | None = None
    failed: RetentionPeriod | None = None
    cancelled: RetentionPeriod | None = None  # failed's when absent


class WorkflowBody(Strict):
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    variables: dict[str, Any] = {}
    defaults: Defaults = Defaults()
    timeout: Duration | None = None
    # When the workflow's timeout passes: stop and clean up (cancel what runs, run the
    # compensation steps due, fail with `timeout`; the default), or only record it and go on.
    timeout_action: Literal["cancel_and_cleanup", "ignore"] | None = None
    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = []
    output: Any = None
    compensation: list[CompensationStep] = []
    triggers: list[Trigger] = []
    metrics: list[MetricSpec] = []
    retention: Retention | None = None
    # A node output larger than this (as JSON) is stored outside the event row (the payload
    # store); default MBFLOW_PAYLOAD_LIMIT (1 MiB).
    payload_limit: Size | None = None


class WorkflowSpec(Strict):
    """A whole native document. ``spec.nodes`` etc. are also reachable as ``nodes``, ``edges``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, ignored_types=(cached_property,))

    api_version: Annotated[Literal["mbflow/v1"], Field(alias="apiVersion")]
    kind: Literal["Workflow"] = "Workflow"
    metadata: Metadata
    spec: WorkflowBody

    @property
    def nodes(self) -> list[NodeSpec]:
        return self.spec.nodes

    @property
    def edges(self) -> list[EdgeSpec]:
        return self.spec.edges

    @cached_property
    def node_map(self) -> dict[str, NodeSpec]:
        return {node.id: node for node in self.spec.nodes}


def field_annotations(model: type[BaseModel]) -> dict[str, tuple[Any, bool]]:
    """(annotation with its constraints, required?) of each field of ``model``, by key (its alias)."""
    return {
        info.alias or name: (Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation,
                             info.is_required())
        for name, info in model.model_fields.items()
    }


def typed_dict_for(
    model: type[BaseModel],
    *,
    name: str | None = None,
    fields: dict[str, Any] | None = None,
    required: frozenset[str] = frozenset(),
) -> Any:
    """A TypedDict with ``model``'s fields (types, patterns, validators, aliases as keys); unknown keys forbidden.

    ``fields`` replaces the annotations of some keys, ``required`` makes some keys required.
    Pydantic validates a TypedDict about twice as fast as it builds a model, and there is one
    rule for each field: the model's own.
    """
    shape_fields: dict[str, Any] = {}
    for key, (annotation, is_required) in field_annotations(model).items():
        annotation = (fields or {}).get(key, annotation)
        shape_fields[key] = annotation if is_required or key in required else NotRequired[annotation]
    shape = TypedDict(name or f"{model.__name__}Dict", shape_fields)  # type: ignore[misc]
    shape.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return shape


def checker_for(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    """Checks a list of plain dicts against ``model``'s fields without building model objects."""
    return TypeAdapter(list[typed_dict_for(model)])  # type: ignore[misc]


NODES_CHECK = checker_for(NodeSpec)
EDGES_CHECK = checker_for(EdgeSpec)
