from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from executions.api.paging import ExecutionCursor
from executions.api.serializers import (
    DETAIL_FIELDS,
    FULL,
    SUMMARY_FIELDS,
    Cancel,
    EventsQuerySerializer,
    ListQuerySerializer,
    Replay,
    Signal,
    Start,
    event_data,
    execution_answer,
    execution_detail,
    execution_results,
    execution_summary,
    metadata_filters,
    read_include,
)
from executions.models import Execution
from executions.services.executions import (
    check_wait,
    do_cancel,
    do_pause,
    do_replay,
    do_rerun,
    do_resume,
    do_retry,
    do_start_adhoc,
    do_start_execution,
    executions_of,
    filter_by_metadata,
    filter_executions,
    get_execution,
    wait_and_reload,
)
from executions.services.signals import do_signal
from executions.services.trials import do_test_run
from mbflow_site.bodies import read_body
from mbflow_site.errors import ApiError
from workflows.api.base import TenantView
from workflows.public import Caller, body_from_request_data, read_adhoc_document

TERMINAL = ("succeeded", "failed", "cancelled")


def _started(execution: Execution, created: bool, wait: float | None,
             include: frozenset[str] = FULL) -> Response:
    execution = wait_and_reload(execution, wait)
    finished = execution.status in TERMINAL
    code = status.HTTP_200_OK if (wait and finished) or not created else status.HTTP_201_CREATED
    return Response(execution_answer(execution, getattr(execution, "known_runs", None), include), status=code)


def _started_by(caller: Caller) -> dict[str, Any]:
    """What an execution started over the API records as its trigger: who started it (a user's
    name, or ``key:<name>`` for an API key)."""
    return {"type": "api", "by": caller.username}


def _start_body(request: Request) -> Start:
    body = read_body(Start, request.data)
    if "wait" not in body.model_fields_set and "wait" in request.query_params:
        body.wait = check_wait(request.query_params["wait"])
    return body


class ExecutionListView(TenantView):
    @extend_schema(
        description="`metadata.<key>=<value>` (repeatable; `<key>` may be a dotted path) keeps the executions "
                    "whose `metadata` holds that value there (text, or the number, true, false or null it spells).",
        parameters=[OpenApiParameter("workflow", str), OpenApiParameter("status", str),
                    OpenApiParameter("created_after", OpenApiTypes.DATETIME),
                    OpenApiParameter("created_before", OpenApiTypes.DATETIME),
                    OpenApiParameter("trigger", str, description="What started the runs: kinds such as "
                                     "`webhook,cron` (comma-separated), or one trigger's id."),
                    OpenApiParameter("id", str, description="An execution's id, or its first characters."),
                    OpenApiParameter("cursor", str, description="Pages by position instead of number (`next` and "
                                     "`previous` links, no `count`): empty for the first page.")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tenant = self.caller().tenant
        queryset = filter_executions(executions_of(tenant), tenant, **query.validated_data)
        queryset = filter_by_metadata(queryset, metadata_filters(request.query_params))
        queryset = queryset.only(*SUMMARY_FIELDS).order_by("-created_at", "-pk")
        if "cursor" in request.query_params:
            paginator = ExecutionCursor()
            page = paginator.paginate_queryset(queryset, request, view=self) or []
            return paginator.get_paginated_response([execution_summary(execution) for execution in page])
        return self.paginate(request, queryset, execution_summary)

    @extend_schema(request=Start, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        include = read_include(request.query_params.get("include"), FULL)
        body = _start_body(request)
        if not body.workflow:
            raise ApiError("`workflow` (an id or a name) is required.", code="validation_error",
                           details={"fields": {"workflow": ["This field is required."]}})
        wait = check_wait(body.wait)
        execution, created = do_start_execution(self.caller().tenant, body.workflow, version=body.version,
                                                data=body.input, idempotency_key=body.idempotency_key,
                                                trigger=_started_by(self.caller()), metadata=body.metadata)
        return _started(execution, created, wait, include)


class WorkflowExecuteView(TenantView):
    """Starts the workflow; answers what a client needs (status, output, error, timings) and,
    with ``?include=steps,io``, each step and the inputs and outputs too."""

    @extend_schema(request=Start, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("include", str, description=(
                       "More in the answer, comma-separated: `steps` (each node's status, attempt, error and "
                       "times), `io` (the input, and with steps each step's input and output); `all` for both."))])
    def post(self, request: Request, ref: str) -> Response:
        include = read_include(request.query_params.get("include"), frozenset())
        body = _start_body(request)
        wait = check_wait(body.wait)
        execution, created = do_start_execution(self.caller().tenant, ref, version=body.version, data=body.input,
                                                idempotency_key=body.idempotency_key,
                                                trigger=_started_by(self.caller()), metadata=body.metadata)
        return _started(execution, created, wait, include)


class AdhocView(TenantView):
    """Runs a document that is not stored as a workflow (YAML body like /workflows/validate).
    ``pinned`` (node id → output) and ``step`` (one node alone) make it a designer's test run
    (executions.services.trials)."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        body = body_from_request_data(request.data)
        options: dict[str, Any] = body if isinstance(body, dict) else {}
        spec = read_adhoc_document(body)
        start = read_body(Start, {key: options[key] for key in ("input", "idempotency_key", "wait", "metadata")
                                  if key in options})
        wait = check_wait(start.wait if "wait" in start.model_fields_set else request.query_params.get("wait"))
        if "pinned" in options or "step" in options:
            execution, created = do_test_run(self.caller().tenant, spec, data=start.input, pinned=options.get("pinned"),
                                             step=options.get("step"), metadata=start.metadata,
                                             by=self.caller().username)
            return _started(execution, created, wait)
        execution, created = do_start_adhoc(self.caller().tenant, spec, data=start.input,
                                            idempotency_key=start.idempotency_key, metadata=start.metadata)
        return _started(execution, created, wait)


class ExecutionDetailView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, execution_id: str) -> Response:
        return Response(execution_detail(get_execution(self.caller().tenant, execution_id, DETAIL_FIELDS)))


class ResultsView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, execution_id: str) -> Response:
        return Response(execution_results(get_execution(self.caller().tenant, execution_id)))


class EventsView(TenantView):
    @extend_schema(parameters=[OpenApiParameter("after_seq", int)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_execution(self.caller().tenant, execution_id)
        query = EventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = execution.events.filter(seq__gt=query.validated_data["after_seq"]).order_by("seq")
        return self.paginate(request, events, event_data)


class CancelView(TenantView):
    """Cancels what is still open; ``{"compensate": true}`` runs the compensation steps undoing
    what succeeded first (the execution then ends cancelled, saying how they went)."""

    @extend_schema(request=Cancel, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, execution_id: str) -> Response:
        body = read_body(Cancel, request.data or {})
        execution = do_cancel(get_execution(self.caller().tenant, execution_id), compensate=body.compensate)
        return Response(execution_detail(execution))


class RerunView(TenantView):
    """A new execution of the same version with the same input, or with ``input`` when given."""

    @extend_schema(request=Start, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, execution_id: str) -> Response:
        body = _start_body(request)
        original = get_execution(self.caller().tenant, execution_id)
        extra = {"data": body.input} if "input" in body.model_fields_set else {}
        execution = do_rerun(original, idempotency_key=body.idempotency_key, **extra)
        return _started(execution, True, check_wait(body.wait))


class ReplayView(TenantView):
    """``{"from": "<node id>", "input"?, "version"?}``: a new execution (``replay_of``) that runs
    that node and everything after it again, the others reusing the original's outputs."""

    @extend_schema(request=Replay, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, execution_id: str) -> Response:
        body = read_body(Replay, request.data)
        original = get_execution(self.caller().tenant, execution_id)
        extra = {"data": body.input} if "input" in body.model_fields_set else {}
        execution = do_replay(original, body.from_, version=body.version, idempotency_key=body.idempotency_key,
                              **extra)
        return _started(execution, True, check_wait(body.wait))


class PauseView(TenantView):
    """Stops starting new nodes (those running finish): status ``paused``; 409 unless running."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, execution_id: str) -> Response:
        return Response(execution_detail(do_pause(get_execution(self.caller().tenant, execution_id))))


class ResumeView(TenantView):
    """Goes on from a pause; 409 unless paused."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, execution_id: str) -> Response:
        return Response(execution_detail(do_resume(get_execution(self.caller().tenant, execution_id))))


class RetryView(TenantView):
    """A failed execution goes on from its failed nodes, in place: the nodes that succeeded keep
    their outputs, the others run again as new attempts. 409 unless failed; ``?wait=`` seconds."""

    @extend_schema(request=None, parameters=[OpenApiParameter("wait", float)], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, execution_id: str) -> Response:
        execution = do_retry(get_execution(self.caller().tenant, execution_id))
        return Response(execution_detail(wait_and_reload(execution, check_wait(request.query_params.get("wait")))))


class SignalView(TenantView):
    """A decision for a waiting approval node: ``{"node_id", "decision": "approved"|"rejected",
    "comment", "data"}``. Answers the execution as it stands after the decision."""

    @extend_schema(request=Signal, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, execution_id: str) -> Response:
        body = read_body(Signal, request.data)
        execution = get_execution(self.caller().tenant, execution_id)
        execution = do_signal(self.caller(), execution, body.node_id, body.decision, comment=body.comment,
                              data=body.data)
        return Response(execution_detail(execution))
