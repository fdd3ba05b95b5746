"""The projection the API reads: one row per execution and one per node of it.

These rows are never written directly: every change is an event appended to the execution's
log and applied by ``executions.engine.projection.apply_event`` in the same transaction, so
replaying the log rebuilds them exactly.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import F, OuterRef, Subquery
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from workflows.models import Tenant, Workflow, WorkflowVersion


class ExecutionStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The statuses of a node run that is not over (see NODE_TERMINAL in engine.projection).
OPEN_NODE_STATUSES = ("pending", "running", "waiting", "retrying", "falling_back")


class NodeStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    RETRYING = "retrying"
    FALLING_BACK = "falling_back"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


class Execution(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexes: each is one more write per execution started, so lookups by tenant and by
    # workflow go through the (tenant, created_at) and (workflow, created_at) ones, and those by
    # parent or replayed execution through partial ones holding only the rows that have one.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="executions", db_index=False)
    # Null for ad-hoc runs, whose document lives in ``adhoc_spec`` instead. An execution
    # cannot run without its pinned version, so deleting a workflow deletes its executions.
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    version = models.ForeignKey(
        WorkflowVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="executions"
    )
    adhoc_spec = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # The compensation steps a failing execution ran: {"error", "nodes", "status"}.
    compensation = models.JSONField(null=True, blank=True)
    # Null, not blank, when absent: the unique constraint ignores NULLs.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
                               db_index=False)
    parent_node_id = models.CharField(max_length=64, blank=True)
    # The execution this one replays from a node (its upstream outputs reused).
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays",
                                  db_index=False)
    depth = models.PositiveSmallIntegerField(default=0)
    trigger = models.JSONField(default=dict, blank=True)
    # What the caller said about the run (the Magic Flow seed's ``metadata``): returned and
    # filterable, never read by the engine.
    metadata = models.JSONField(default=dict, blank=True)
    total_steps = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="unique_execution_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "status", "-created_at"]),
            models.Index(fields=["workflow", "-created_at"]),
            # The list's ?trigger=<kind>: without it, a kind few runs have reads every row.
            models.Index(F("tenant"), KeyTransform("type", "trigger"), F("created_at").desc(),
                         name="execution_trigger_type"),
            models.Index(fields=["parent"], condition=models.Q(parent__isnull=False), name="execution_parent"),
            models.Index(fields=["replay_of"], condition=models.Q(replay_of__isnull=False), name="execution_replay_of"),
        ]

    def __str__(self) -> str:
        return f"execution {self.id} ({self.status})"


class EventOutput(models.Func):
    """The ``output`` member of a JSON payload, as JSON text: ``->`` on PostgreSQL. On SQLite
    ``JSON_EXTRACT`` (what Django's key lookups use) gives a text without its quotes and a
    boolean as 0 or 1, and ``->`` needs SQLite 3.38: a JSON value of the member, with
    ``JSON_QUOTE`` (which leaves an object or array ``JSON_EXTRACT`` gave as it is)."""

    arity = 1
    template = "%(expressions)s -> 'output'"
    output_field = models.JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        member = "'$.output'"
        template = (f"CASE JSON_TYPE(%(expressions)s, {member}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                    f"ELSE JSON_QUOTE(JSON_EXTRACT(%(expressions)s, {member})) END")
        return self.as_sql(compiler, connection, template=template, **extra)


class NodeRunManager(models.Manager["NodeRun"]):
    """Node runs with their ``output``: the row's own (``stored_output``), or else the output of
    the event it names (``output_seq``), which is where a step writes it. An output is written
    once, in its event: the row was a second copy of every output, written and parsed again by
    PostgreSQL, which made a chain's cost per node grow with its payload."""

    def get_queryset(self) -> models.QuerySet[NodeRun]:
        # The events' model by name: events.py imports this module.
        events = self.model._meta.apps.get_model("executions", "ExecutionEvent")._default_manager
        in_event = (events.filter(execution_id=OuterRef("execution_id"), seq=OuterRef("output_seq"))
                    .order_by().values(output=EventOutput("payload")))
        return super().get_queryset().annotate(
            output=Coalesce("stored_output", Subquery(in_event), output_field=models.JSONField()))


# The rows of an execution's journal (its events and node runs) carry no foreign-key constraint
# in the database. A constraint checks each new row at commit, one lookup and lock of the
# execution's row per row: 0.3-0.5 ms of a 40-node start's 7 (83 rows), 1 ms of a 160-node one's.
# The engine writes them only with their execution's row (the insert of a start) or under its
# lock (``open_journal``, the timers' claim), so no row can name an execution that is not there;
# deleting an execution still takes its rows with it (the ORM's CASCADE, and retention's
# batches, which delete them first).


class NodeRun(models.Model):
    # No index of its own: unique_node_run (execution, node_id) serves every lookup by execution,
    # and each index is one more write per row of a step's journal. No constraint in the database
    # either (the note above), as the events' own.
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="node_runs", db_index=False,
                                  db_constraint=False)
    node_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=NodeStatus.choices, default=NodeStatus.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    input = models.JSONField(null=True, blank=True)
    # The output when no event holds it (rows written before outputs were kept in events only);
    # ``output``, as the manager reads it, is this or the output of event ``output_seq``.
    stored_output = models.JSONField(null=True, blank=True, db_column="output")
    output_seq = models.PositiveIntegerField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Not event-sourced: which worker claimed the running attempt (see runner.prepare).
    worker = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # The first attempt of the node's current run: 1, or the one after its last when the
    # execution was retried (its retry policy counts from there).
    first_attempt = models.PositiveIntegerField(default=1)
    # The limit (tenant:key) the node's current start goes through: held while it runs, waited
    # for while it waits (see engine.limits).
    limit_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # The execution whose output this node reuses (a replay from a later node).
    reused_from = models.CharField(max_length=36, null=True, blank=True)  # noqa: DJ001 (as the event's)
    order = models.PositiveIntegerField(default=0, help_text="Position of the node in the plan.")

    objects = NodeRunManager()
    output: Any  # set by the manager's queries (and by the engine on the rows it makes)

    class Meta:
        ordering = ["execution", "order"]
        constraints = [models.UniqueConstraint(fields=["execution", "node_id"], name="unique_node_run")]
        # The lease sweep looks for running nodes whose lease ran out, and every query across
        # executions by status asks for open nodes: terminal runs (most rows, every run of a
        # light node, written straight as succeeded) are left out, one index write less each.
        indexes = [models.Index(fields=["status", "lease_until"], name="noderun_open_status",
                                condition=models.Q(status__in=OPEN_NODE_STATUSES)),
                   # Only the runs that go through a limit (most have none: not indexed at all).
                   models.Index(fields=["limit_key"], condition=models.Q(limit_key__isnull=False),
                                name="noderun_limit_key"),
                   # Function tasks no poller took yet, by executor, oldest first (services.functions
                   # ._take): a poll reads the first few of its executor's. With 8,000 approvals
                   # waiting in the tenant, a poll otherwise took 12.7 s (bench/parked.py); 0.05 ms.
                   models.Index(KeyTransform("executor", "input"), F("started_at"), F("id"),
                                condition=models.Q(status="waiting", worker=""), name="noderun_waiting_untaken")]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"
