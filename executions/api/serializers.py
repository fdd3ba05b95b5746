"""How executions look in the API (plain dicts: the hot path answers many of these)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from executions.models import Execution, ExecutionEvent, NodeRun
from mbflow_site.formats import iso_time

# What ``execution_summary`` and ``execution_detail`` read: a list loads only these (the
# version's document, which ``select_related`` would bring along, is the largest part of a row).
SUMMARY_FIELDS = ("workflow__name", "version__number", "status", "idempotency_key", "parent_id", "depth",
                  "trigger", "created_at", "started_at", "finished_at", "total_steps")
DETAIL_FIELDS = (*SUMMARY_FIELDS, "input", "output", "error")


def execution_summary(execution: Execution) -> dict[str, Any]:
    workflow = execution.workflow
    return {
        "id": str(execution.pk),
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


def step_data(run: NodeRun) -> dict[str, Any]:
    return {
        "node_id": run.node_id,
        "status": run.status,
        "attempt": run.attempt,
        "input": run.input,
        "output": run.output,
        "error": run.error,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "scheduled_at": iso_time(run.scheduled_at),
    }


FINISHED_STEPS = frozenset({"succeeded", "failed", "skipped", "timed_out", "cancelled"})


def execution_detail(execution: Execution, runs: list[NodeRun] | None = None) -> dict[str, Any]:
    runs = runs if runs is not None else list(execution.node_runs.order_by("order"))
    data = execution_summary(execution)
    data.update({
        "input": execution.input,
        "output": execution.output,
        "error": execution.error,
        "completed_steps": sum(1 for run in runs if run.status in FINISHED_STEPS),
        "steps": [step_data(run) for run in runs],
    })
    return data


def execution_results(execution: Execution) -> dict[str, Any]:
    runs = execution.node_runs.order_by("order")
    return {
        "id": str(execution.pk),
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "nodes": {run.node_id: {"status": run.status, "output": run.output, "error": run.error} for run in runs},
    }


def event_data(event: ExecutionEvent) -> dict[str, Any]:
    return {"seq": event.seq, "type": event.type, "node_id": event.node_id, "payload": event.payload,
            "time": iso_time(event.time)}


class StartSerializer(serializers.Serializer):
    workflow = serializers.CharField(required=False)
    version = serializers.IntegerField(required=False, min_value=1, allow_null=True)
    input = serializers.JSONField(required=False, allow_null=True)
    idempotency_key = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    wait = serializers.FloatField(required=False, allow_null=True, min_value=0)


class ListQuerySerializer(serializers.Serializer):
    workflow = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class EventsQuerySerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(required=False, min_value=0, default=0)


class SecretSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(write_only=True, trim_whitespace=False)
