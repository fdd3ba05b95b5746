"""Where the event log meets the rows: a ``Journal`` appends events, applies each to the state
with the pure reducer, and saves events and projection together in one transaction."""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache, partial
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from django.db import connection, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone
from psycopg.types.json import Jsonb

from executions.engine.ports import journal_rows, publish_events
from executions.engine.projection import (
    EXECUTION_FIELDS,
    NODE_FIELDS,
    Event,
    ExecutionState,
    NodeState,
    apply_event,
    fold,
)
from executions.models import Execution, ExecutionEvent, NodeRun
from mbflow_site.queries import Precondition, PreconditionFailed


def node_state_of(run: NodeRun) -> NodeState:
    return NodeState(run.node_id, **{name: getattr(run, name) for name in NODE_FIELDS})


def state_of(execution: Execution, runs: list[NodeRun]) -> ExecutionState:
    """The stored projection as a state (the one mapper from rows)."""
    state = ExecutionState(**{name: getattr(execution, name) for name in EXECUTION_FIELDS})
    for run in sorted(runs, key=lambda r: r.order):
        state.nodes[run.node_id] = node_state_of(run)
    return state


def event_of(row: ExecutionEvent) -> Event:
    return Event(seq=row.seq, type=row.type, node_id=row.node_id, payload=row.payload, time=row.time)


def replay(execution: Execution) -> ExecutionState:
    """The projection rebuilt from the log alone."""
    return fold([event_of(row) for row in execution.events.order_by("seq")])


def stored_state(execution: Execution) -> ExecutionState:
    execution.refresh_from_db()
    return state_of(execution, list(execution.node_runs.all()))


@cache
def _node_run_layout() -> tuple[Callable[[Any], tuple[Any, ...]], tuple[Any, ...], Callable[[Any], Any]]:
    """How ``node_run_values`` builds a row, worked out once from NodeRun's concrete fields (in
    order): a getter of the node state's attributes that are columns, the constant defaults of
    the others, and a picker that orders (execution id, stored output, constants..., node
    attributes...) as the fields are. Each field takes its value from the node state (its id
    and ``NODE_FIELDS``), the execution, ``stored_output`` or its constant default; a field
    with a callable default would need a call per row, which none has (checked here)."""
    constants: list[Any] = []
    node_names: list[str] = []
    fields = NodeRun._meta.concrete_fields
    for field in fields:
        name = field.attname
        if name == "node_id" or name in NODE_FIELDS:
            node_names.append(name)
        elif name not in ("execution_id", "stored_output"):
            if field.has_default() and callable(field.default):
                raise TypeError(f"NodeRun.{name} has a callable default: node_run_values cannot insert it")
            constants.append(field.get_default())
    # Positions in the source tuple: 0 the execution, 1 the stored output, then the constants, then the attributes.
    positions: list[int] = []
    constant_index, node_index = 2, 2 + len(constants)
    for field in fields:
        name = field.attname
        if name == "execution_id":
            positions.append(0)
        elif name == "stored_output":
            positions.append(1)
        elif name == "node_id" or name in NODE_FIELDS:
            positions.append(node_index)
            node_index += 1
        else:
            positions.append(constant_index)
            constant_index += 1
    return attrgetter(*node_names), tuple(constants), itemgetter(*positions)


def stored_output(node: NodeState) -> Any:
    """What a node's row holds of its output: nothing when an event holds it (``output_seq``),
    which is every output the engine writes now (one copy, in the event)."""
    return None if node.output_seq is not None else node.output


def new_row(values: list[Any], node: NodeState) -> NodeRun:
    """A row inserted from ``node_run_values``, as a model read back from the database."""
    run = NodeRun(*values)
    run.output = node.output
    run._state.adding, run._state.db = False, connection.alias
    return run


def node_run_values(execution_id: Any, node: NodeState) -> list[Any]:
    """The values of the row of a node the step adds, one per concrete field of NodeRun in
    field order (a model's positional arguments): the step inserts them as they are, and makes
    a model of them only when a later step of the journal changes the row (``Journal.run``).
    Gathered and ordered by ``attrgetter`` and ``itemgetter`` (a row per node of a chain)."""
    attributes, constants, pick = _node_run_layout()
    return list(pick((execution_id, stored_output(node), *constants, *attributes(node))))


@dataclass(frozen=True, slots=True)
class RowUpdate:
    """Fields of a row of another table that a step writes with its own rows."""

    row: models.Model
    fields: tuple[str, ...]


class Journal:
    """An execution open for changes inside one transaction.

    ``append`` is the only way state changes: it applies the event to the in-memory state at
    once (so later decisions in the same step see it) and queues the event; ``flush`` writes
    the events in one insert and only the rows and fields that changed.
    """

    def __init__(self, execution: Execution, runs: list[NodeRun], *, new: bool = False,
                 state: ExecutionState | None = None, only_if: Precondition | None = None) -> None:
        self.execution = execution
        self.runs = {run.node_id: run for run in runs}
        # Rows this journal inserted, as their values, made into models only when asked for
        # (``run``): a start whose nodes all finish in its step never needs them as models.
        self._inserted: dict[str, list[Any]] = {}
        self.state = state if state is not None else state_of(execution, runs)
        self.new = new
        # For a new execution: what its row is inserted only while it holds (``StepWrites.insert_rows``).
        self.only_if = only_if
        self.events: list[Event] = []
        self._dirty_nodes: set[str] = set()
        self.after_commit: list[Callable[[], None]] = []
        # Writes a step keeps until its events are written (a rate limit's starts), in its transaction.
        self.before_flush: list[Callable[[], None]] = []
        # Rows of other tables the next flush writes in its own statement (``also_update``).
        self.updates: list[RowUpdate] = []

    def also_update(self, row: models.Model, fields: Sequence[str]) -> None:
        """Writes ``fields`` of ``row`` (found by its primary key) with the next flush's rows:
        what starting a run changes elsewhere (the trigger that fired it) commits with it, in
        the same statement."""
        self.updates.append(RowUpdate(row, tuple(fields)))

    @property
    def tenant_id(self) -> Any:
        return self.execution.tenant_id

    def run(self, node_id: str) -> NodeRun | None:
        """The node's row as the last flush left it (None before its first flush)."""
        found = self.runs.get(node_id)
        if found is None and node_id in self._inserted:
            found = self.runs[node_id] = new_row(self._inserted.pop(node_id), self.state.nodes[node_id])
        return found

    def all_runs(self) -> list[NodeRun]:
        return [run for run in map(self.run, list(self.runs) + list(self._inserted)) if run is not None]

    def append(self, type_: str, node_id: str = "", payload: dict[str, Any] | None = None,
               time: datetime | None = None) -> Event:
        event = Event(self.state.last_seq + 1, type_, node_id, payload or {}, time or timezone.now())
        apply_event(self.state, event)
        self.events.append(event)
        if node_id:
            self._dirty_nodes.add(node_id)
        elif type_ == "execution.created":
            self._dirty_nodes.update(self.state.nodes)
        return event

    def flush(self) -> None:
        for write in self.before_flush:
            write()
        self.before_flush.clear()
        if not self.events:
            return
        execution = self.execution
        execution_fields = [
            name for name in EXECUTION_FIELDS if getattr(execution, name) != getattr(self.state, name)
        ]
        for name in execution_fields:
            setattr(execution, name, getattr(self.state, name))
        execution_id = execution.pk
        events = [
            {"execution_id": execution_id, "seq": e.seq, "type": e.type, "node_id": e.node_id,
             "payload": e.payload, "time": e.time}
            for e in self.events
        ]
        changed_fields: set[str] = set()
        to_update: list[NodeRun] = []
        to_create: list[list[Any]] = []
        for node_id in self._dirty_nodes:
            node = self.state.nodes[node_id]
            run = self.run(node_id)
            if run is None:
                values = node_run_values(execution_id, node)
                self._inserted[node_id] = values
                to_create.append(values)
                continue
            for name in NODE_FIELDS:
                value = getattr(node, name)
                if getattr(run, name) != value:
                    setattr(run, name, value)
                    if name != "output":  # not a column: ``stored_output`` and ``output_seq`` say where it is
                        changed_fields.add(name)
            if run.stored_output is not None and stored_output(node) is None:
                run.stored_output = None  # a row of before, whose node has run again
                changed_fields.add("stored_output")
            to_update.append(run)
        writes = StepWrites()
        if self.new:
            writes.insert_rows([execution], only_if=self.only_if)
        elif execution_fields:
            writes.update_rows([execution], execution_fields, key=("id",))
        writes.insert_values(ExecutionEvent, events)
        if to_create:
            writes.insert_field_values(NodeRun, to_create)
        if to_update and changed_fields:
            writes.update_rows(to_update, sorted(changed_fields), key=("execution_id", "node_id"))
        for model, values in journal_rows(execution.tenant_id, execution_id, self.events):
            writes.insert_values(model, values)
        for update in self.updates:
            writes.update_rows([update.row], list(update.fields), key=(update.row._meta.pk.name,))
        self.updates.clear()
        writes.send()
        if self.new:
            execution._state.adding, execution._state.db = False, connection.alias
            self.new = False
        published = list(self.events)
        self.events.clear()
        self._dirty_nodes.clear()
        tenant_id, version_id = execution.tenant_id, execution.version_id
        transaction.on_commit(lambda: publish_events(tenant_id, execution_id, published, version_id))
        for callback in self.after_commit:
            transaction.on_commit(callback)
        self.after_commit.clear()


class StepWrites:
    """The writes of one step (inserts and updates of rows of several tables), sent together.

    On PostgreSQL they are one statement: each write a data-modifying ``WITH`` query of it, its
    rows one JSON document read by ``jsonb_to_recordset`` (one parameter, written by orjson in
    C). PostgreSQL runs the queries on one snapshot, which suits a step: none reads what another
    writes, and no two change one row. psycopg then adapts, sends and reads back one statement,
    however many tables and rows the step wrote: its cost per statement was most of a short
    step's own (a fourth table written by a start, monitoring's mark, cost 18% of a 3-node
    start's CPU under 16 threads), and binding a parameter per value 3.3 ms for 125 events. The
    statement goes with the transaction's BEGIN when it is the first (``one_round_trip``).

    Elsewhere (SQLite) each write runs in turn through the ORM: ``bulk_create``, and an UPDATE
    per row.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.queries: list[str] = []
        self.params: list[Any] = []
        self.checked: int | None = None  # the write whose rows say whether its precondition held

    def insert_rows(self, rows: Sequence[models.Model], *, only_if: Precondition | None = None) -> None:
        """Inserts new rows, instances of one model; with ``only_if``, only while that holds (the
        writes then raise ``PreconditionFailed`` when it does not, and the caller's transaction
        takes back what the others wrote)."""
        model = type(rows[0])
        if not self.postgres:
            if only_if is not None and not _holds(only_if):
                raise PreconditionFailed("The rows this start relied on changed.")
            model._default_manager.bulk_create(rows)
            return
        columns = _columns_of(model)
        document = [dict(zip(columns.columns, [getattr(row, name) for name in columns.attnames], strict=True))
                    for row in rows]
        if only_if is None:
            self._add(columns.recordset, document)
            return
        self.checked = len(self.queries)
        self._add(f"{columns.recordset} WHERE {only_if.sql} RETURNING 1", document, only_if.params)

    def insert_field_values(self, model: type[models.Model], rows: list[list[Any]]) -> None:
        """Inserts new rows of ``model`` given as lists of values, one per concrete field in
        field order (as the model's positional arguments), without building instances."""
        if not self.postgres:
            model._default_manager.bulk_create([model(*values) for values in rows])
            return
        columns = _columns_of(model)
        keep = columns.positions
        self._add(columns.recordset, [dict(zip(columns.columns, [values[index] for index in keep], strict=True))
                                      for values in rows])

    def insert_values(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        """Inserts new rows of ``model`` given as values by attribute name (every concrete field
        but an auto id, each row those keys and no other), without building instances, reading
        no generated id back."""
        if not rows:
            return
        if not self.postgres:
            model._default_manager.bulk_create([model(**row) for row in rows])
            return
        columns = _columns_of(model)
        if columns.columns == columns.attnames:  # the rows are the document as they are (every event's)
            self._add(columns.recordset, rows)
            return
        self._add(columns.recordset, [dict(zip(columns.columns, [row[name] for name in columns.attnames],
                                                strict=True)) for row in rows])

    def update_rows(self, rows: Sequence[models.Model], fields: list[str], key: tuple[str, ...]) -> None:
        """Writes ``fields`` of ``rows`` (one model), each row found by the ``key`` fields."""
        if self.postgres:
            update = _update_of(type(rows[0]), tuple(fields), key)
            self._add(update.sql.format(limit=len(rows)),
                      [{column: getattr(row, attname) for column, attname in update.pairs} for row in rows])
            return
        meta = rows[0]._meta
        columns: list[models.Field[Any, Any]] = [meta.get_field(name) for name in fields]  # type: ignore[misc]
        keys: list[models.Field[Any, Any]] = [meta.get_field(name) for name in key]  # type: ignore[misc]
        quote = connection.ops.quote_name
        sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in columns)} "
               f"WHERE {' AND '.join(f'{quote(f.column)} = %s' for f in keys)}")
        params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in (*columns, *keys)]
                  for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def _add(self, sql: str, document: list[dict[str, Any]], params: Sequence[Any] = ()) -> None:
        # A JSON null is SQL NULL in a recordset, as None is for a JSON column in the ORM.
        self.queries.append(sql)
        self.params.append(Jsonb(document, dumps=_document_bytes))
        self.params.extend(params)

    def send(self) -> None:
        """Runs the writes added (PostgreSQL: as one statement); an error is Django's, as from
        the ORM (a unique violation is an ``IntegrityError``). ``PreconditionFailed`` when an
        insert's ``only_if`` did not hold (it inserted nothing; the caller's transaction takes
        back the rest)."""
        if not self.queries:
            return
        *first, last = self.queries
        if self.checked is not None:
            # Every write a query of the WITH, and the statement answers whether the checked one wrote.
            first, last = self.queries, f"SELECT EXISTS (SELECT 1 FROM w{self.checked})"
        sql = (f"WITH {', '.join(f'w{index} AS ({query})' for index, query in enumerate(first))} {last}"
               if first else last)
        with one_round_trip(), connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            held = cursor.fetchone()[0] if self.checked is not None else True
        self.queries, self.params, self.checked = [], [], None
        if not held:
            raise PreconditionFailed("The rows this start relied on changed.")


@dataclass(frozen=True)
class _Columns:
    """A model's insertable columns (worked out once per model)."""

    columns: list[str]  # the column names, keys of a row in a recordset document
    attnames: list[str]  # the same, by attribute name
    positions: list[int]  # the same, by position among the model's concrete fields
    recordset: str  # INSERT ... SELECT ... FROM jsonb_to_recordset(%s), the rows as one document


@cache
def _columns_of(model: type[models.Model]) -> _Columns:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    types = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    return _Columns(
        columns=[f.column for f in fields],
        attnames=[f.attname for f in fields],
        positions=[meta.concrete_fields.index(f) for f in fields],
        recordset=f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT {names} "
                  f"FROM jsonb_to_recordset(%s::jsonb) AS r({types})",
    )


@dataclass(frozen=True)
class _Update:
    """An UPDATE of some fields of a model's rows, each found by its key (worked out once)."""

    pairs: list[tuple[str, str]]  # (column, attribute) of the fields then the key: a row's document
    sql: str  # UPDATE ... FROM jsonb_to_recordset(%s) ... LIMIT {limit}: the rows' document, their number


@lru_cache(maxsize=256)
def _update_of(model: type[models.Model], fields: tuple[str, ...], key: tuple[str, ...]) -> _Update:
    meta = model._meta
    columns: list[models.Field[Any, Any]] = [meta.get_field(name) for name in fields]  # type: ignore[misc]
    keys: list[models.Field[Any, Any]] = [meta.get_field(name) for name in key]  # type: ignore[misc]
    quote = connection.ops.quote_name
    every = [*columns, *keys]
    types = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in every)
    assignments = ", ".join(f"{quote(f.column)} = r.{quote(f.column)}" for f in columns)
    # The rows read as a subquery whose LIMIT is their number: the planner's only estimate of a
    # function's rows is its fixed 100, under which it joined a table of a few thousand rows by
    # scanning all of them (a hash join: a resumed delay's statement executed in 2.9 ms with 4,700
    # executions stored, growing with the table; 0.3 ms by key). Told the true number, it finds each
    # row by its key (a nested loop over the primary key or ``unique_node_run``). The number is
    # written into the text, not passed: prepared (DB_PREPARE_THRESHOLD), a statement for one number
    # has a generic plan as cheap as its custom ones and is planned once; as a parameter, the
    # generic plan's guess (10 rows) looked dearer than the custom plans, and it was planned at
    # every run.
    return _Update(
        pairs=[(f.column, f.attname) for f in every],
        sql=f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
            f"FROM (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r({types}) LIMIT {{limit}}) AS r "
            f"WHERE {' AND '.join(f't.{quote(f.column)} = r.{quote(f.column)}' for f in keys)}",
    )


def _holds(condition: Precondition) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {condition.sql}", condition.params)
        return bool(cursor.fetchone()[0])


def json_bytes(value: Any) -> bytes:
    """JSON of a value as ``jsonb`` stores it: orjson (several times faster than ``json.dumps``
    on the engine's payloads), or ``json.dumps`` for what orjson refuses (an integer past 64
    bits, a key that is not text), so that what is stored is what ``json.dumps`` would have
    stored: ``jsonb`` keeps values, not spelling. (NaN and infinities never get here: the
    engine's values are cleaned first, ``values.Redactor``.)"""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


def _document_bytes(rows: list[dict[str, Any]]) -> bytes:
    """``json_bytes`` of rows for ``jsonb_to_recordset``, which hold datetimes and UUIDs
    (orjson writes both as PostgreSQL reads them: RFC 3339 with the offset, and the canonical
    text)."""
    try:
        return orjson.dumps(rows)
    except TypeError:
        return json.dumps(rows, default=_text_of).encode()


def _text_of(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a UUID


@contextmanager
def one_round_trip() -> Iterator[None]:
    """Sends the statements of the block together, with the transaction's BEGIN when it is not
    sent yet, and waits for their answers once (psycopg's pipeline mode on PostgreSQL; an error
    surfaces at the end of the block, as Django's exception)."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def claim_node_runs(execution_id: Any, attempts: Sequence[tuple[str, int]], worker: str,
                    lease_until: datetime) -> set[str]:
    """Sets ``worker`` and the worker's short ``lease_until`` on the running, unclaimed attempts
    among ``attempts`` of one execution, in one statement; returns the node ids it set (the
    attempts this worker won)."""
    meta = NodeRun._meta
    quote = connection.ops.quote_name
    execution = meta.get_field("execution").target_field  # type: ignore[union-attr]
    pairs = ", ".join(["(%s, %s)"] * len(attempts))
    sql = (f"UPDATE {quote(meta.db_table)} SET {quote('worker')} = %s, {quote('lease_until')} = %s "
           f"WHERE {quote('execution_id')} = %s AND {quote('status')} = 'running' AND {quote('worker')} = '' "
           f"AND ({quote('node_id')}, {quote('attempt')}) IN ({pairs}) RETURNING {quote('node_id')}")
    params: list[Any] = [worker, _lease_value(lease_until),
                         execution.get_db_prep_value(execution.to_python(execution_id), connection)]
    for node_id, attempt in attempts:
        params += [node_id, attempt]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def renew_leases(held: Sequence[tuple[str, str, int]], lease_until: datetime) -> int:
    """Moves the lease of each running attempt in ``held`` (execution id, node id, attempt) to
    ``lease_until``, in one statement; returns how many it moved.

    A lease is only ever moved later: one already beyond (an attempt still waiting in a queue,
    a sub-workflow's node handed over to its child) is left as it is, so a heartbeat that
    read ``held`` just before a node left it cannot shorten what the node's next owner set.
    """
    if not held:
        return 0
    meta = NodeRun._meta
    quote = connection.ops.quote_name
    execution = meta.get_field("execution").target_field  # type: ignore[union-attr]
    triples = ", ".join(["(%s, %s, %s)"] * len(held))
    sql = (f"UPDATE {quote(meta.db_table)} SET {quote('lease_until')} = %s "
           f"WHERE {quote('status')} = 'running' AND {quote('lease_until')} < %s "
           f"AND ({quote('execution_id')}, {quote('node_id')}, {quote('attempt')}) IN ({triples})")
    lease = _lease_value(lease_until)
    params: list[Any] = [lease, lease]
    for execution_id, node_id, attempt in held:
        params += [execution.get_db_prep_value(execution.to_python(execution_id), connection), node_id, attempt]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _lease_value(moment: datetime) -> Any:
    return NodeRun._meta.get_field("lease_until").get_db_prep_value(moment, connection)


# The events where a node's attempt begins or ends without an outcome of its own.
ATTEMPT_BOUNDARIES = ("node.started", "node.requeued", "node.retrying", "node.reset")


def last_boundaries(execution_id: Any, node_id: str, count: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """The node's last ``count`` ``ATTEMPT_BOUNDARIES`` events, latest first: (type, payload)."""
    rows = (ExecutionEvent.objects.filter(execution_id=execution_id, node_id=node_id, type__in=ATTEMPT_BOUNDARIES)
            .order_by("-seq").values_list("type", "payload")[:count])
    return [(type_, payload or {}) for type_, payload in rows]


def release_connection() -> None:
    """Gives this thread's pooled database connection back before a long wait (a remote call,
    a waiting request): threads holding idle connections could take the whole pool and stall
    the work that would end their wait. The next query takes one again (about 0.1 ms)."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


class RecentJournals:
    """The journals of the executions this process stepped last, as their steps committed them.

    A step that finds the execution's ``last_seq`` unchanged under its lock takes its rows from
    here instead of reading them: every writer of an execution appends an event, so nobody
    wrote since. A journal is taken out while a step uses it and put back (as a copy the
    committing caller does not hold) only when that step committed: a rolled-back step leaves
    nothing behind. Finished executions are not kept, and only the last ``size`` stepped: a
    journal holds its nodes' outputs, which may be large.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._journals: OrderedDict[str, Journal] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, execution_id: Any) -> Journal | None:
        with self._lock:
            return self._journals.pop(str(execution_id), None)

    def keep(self, journal: Journal) -> None:
        if journal.state.terminal or journal.events:
            return
        kept = Journal(copy.copy(journal.execution), [copy.copy(run) for run in journal.all_runs()],
                       state=journal.state)
        with self._lock:
            self._journals[str(kept.execution.pk)] = kept
            while len(self._journals) > self.size:
                self._journals.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._journals.clear()


recent_journals = RecentJournals()


def _lock_execution(execution_id: Any) -> int | None:
    """Locks the execution's row; its ``last_seq``, or None when there is no such row."""
    meta = Execution._meta
    quote = connection.ops.quote_name
    sql = f"SELECT {quote('last_seq')} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(meta.pk.to_python(execution_id), connection)])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


@contextmanager
def open_journal(execution_id: Any) -> Iterator[Journal]:
    """The execution locked for one step.

    The row lock serialises every writer of one execution (the orchestrator and the workers
    completing its nodes): events get gap-free ``seq`` numbers and two completions can never
    both decide that the same next node is ready. On SQLite the IMMEDIATE transaction mode
    takes the database write lock at BEGIN, which serialises the same way.
    """
    with transaction.atomic():
        journal = recent_journals.take(execution_id)
        if journal is None or _lock_execution(execution_id) != journal.state.last_seq:
            execution = Execution.objects.select_for_update().get(pk=execution_id)
            journal = Journal(execution, list(NodeRun.objects.filter(execution_id=execution_id)))
        # Registered first, so it runs before the work this step dispatches on commit.
        transaction.on_commit(partial(recent_journals.keep, journal))
        yield journal
        journal.flush()


@contextmanager
def new_journal(execution: Execution, only_if: Precondition | None = None) -> Iterator[Journal]:
    """A journal for an execution row created in this same transaction (``only_if`` what the
    row's insert checks: ``PreconditionFailed`` when it no longer holds, and nothing is written)."""
    with transaction.atomic():
        journal = Journal(execution, [], new=True, only_if=only_if)
        transaction.on_commit(partial(recent_journals.keep, journal))
        yield journal
        journal.flush()
