"""What a run costs the database and Redis, counted (not timed): a chain of light nodes is
written in a fixed number of statements whatever its length, a node without a policy costs no
statement and no Redis call for policies it does not have, and a node with a circuit breaker
and a concurrency limit adds at most one Redis call and no statement per node.

Statements are counted where psycopg sends them (``execute``, each row of ``executemany``, and
``COPY``, which Django's query log does not see); Redis calls where redis-py sends them (each
command or script call, and each pipeline as one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models.signals import pre_init
from django.test import Client

from executions.engine.store import StepWrites, replay, stored_state
from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.verification import compare
from tests.executions.conftest import Run, Store, doc
from triggers.models import Trigger
from workflows.models import Tenant

# The most a chain of 40 may cost over a chain of 10, in statements and in Redis calls beyond
# one per guarded node: constant, not per node (0.1 per node would already fail it).
SLACK = 3


def chain(name: str, length: int, policies: str = "") -> str:
    extra = f", {policies}" if policies else ""
    nodes = [f"    - {{id: n0, type: transform, config: {{mapping: {{v: \"{{{{ input.v }}}}\"}}}}{extra}}}"]
    nodes += [f"    - {{id: n{i}, type: transform, config: {{mapping: {{v: \"{{{{ upstream.v + 1 }}}}\"}}}}{extra}}}"
              for i in range(1, length)]
    edges = [f"    - {{from: n{i - 1}, to: n{i}}}" for i in range(1, length)]
    return doc(name, "  nodes:\n" + "\n".join(nodes) + "\n  edges:\n" + "\n".join(edges)
               + f"\n  output: \"{{{{ nodes.n{length - 1}.output.v }}}}\"\n")


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    seen: dict[str, list[str]] = {"sql": [], "redis": []}
    execute, executemany, copy = psycopg.Cursor.execute, psycopg.Cursor.executemany, psycopg.Cursor.copy
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def on_execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        seen["sql"].append(str(query))
        return execute(self, query, params, **kwargs)

    def on_executemany(self: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        params_seq = list(params_seq)
        seen["sql"].extend([str(query)] * len(params_seq))
        return executemany(self, query, params_seq, **kwargs)

    def on_copy(self: Any, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        seen["sql"].append(str(statement))
        return copy(self, statement, params, **kwargs)

    def on_command(self: Any, *args: Any, **options: Any) -> Any:
        seen["redis"].append(str(args[0]))
        return command(self, *args, **options)

    def on_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["redis"].append("pipeline")
        return pipeline(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", on_execute)
        patch.setattr(psycopg.Cursor, "executemany", on_executemany)
        patch.setattr(psycopg.Cursor, "copy", on_copy)
        patch.setattr(redis.Redis, "execute_command", on_command)
        patch.setattr(redis.client.Pipeline, "execute", on_pipeline)
        yield seen


def cost(run: Run, monkeypatch: pytest.MonkeyPatch, workflow: str) -> dict[str, list[str]]:
    """What one run of ``workflow`` (light nodes: all in the request's step) sends, once the
    process has run it twice already (its plan compiled, its caches warm)."""
    for _ in range(2):
        assert run(workflow, {"v": 1})["status"] == "succeeded"
    with counted(monkeypatch) as seen:
        answer = run(workflow, {"v": 1})
    assert answer["status"] == "succeeded", answer
    return seen


pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL statements")


def test_a_chain_of_light_nodes_costs_the_same_statements_whatever_its_length(
        embedded: Any, store: Store, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    store(chain("chain10", 10))
    store(chain("chain40", 40))
    short, long = cost(run, monkeypatch, "chain10"), cost(run, monkeypatch, "chain40")
    assert len(long["sql"]) - len(short["sql"]) <= SLACK, long["sql"]
    assert len(long["sql"]) <= 10, long["sql"]  # the journal of 40 nodes in a few large writes
    # The start's step writes the execution, its events, its 40 nodes and monitoring's mark in
    # one statement (a data-modifying WITH per table).
    writes = [sql for sql in long["sql"] if 'INSERT INTO "executions_executionevent"' in sql]
    assert len(writes) == 1 and all(table in writes[0] for table in (
        '"executions_execution"', '"executions_noderun"', '"monitoring_rollupdirty"')), long["sql"]
    # No policy, no policy's cost: no limit row read, no breaker asked.
    assert not [sql for sql in long["sql"] if "executions_limit" in sql], long["sql"]
    assert len(long["redis"]) <= len(short["redis"]), (short["redis"], long["redis"])
    assert not {"GET", "EVALSHA", "MGET"} & set(long["redis"]), long["redis"]


@pytest.mark.skipif(not settings.REDIS_URL, reason="breakers in Redis")
def test_breakers_and_limits_cost_at_most_one_redis_call_and_no_statement_per_node(
        embedded: Any, store: Store, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    policies = "circuit_breaker: {failure_threshold: 5}, concurrency: 1000"
    store(chain("guarded10", 10, policies))
    store(chain("guarded40", 40, policies))
    short, long = cost(run, monkeypatch, "guarded10"), cost(run, monkeypatch, "guarded40")
    assert len(long["sql"]) - len(short["sql"]) <= SLACK, long["sql"]
    assert len(long["redis"]) - len(short["redis"]) <= 30 + SLACK, long["redis"]


def test_a_step_changing_many_nodes_writes_them_with_its_other_rows_in_one_statement_and_the_log_replays_to_them(
        embedded: Any, store: Store, editor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = "\n".join(f"    - {{id: d{i}, type: delay, config: {{duration: 60s}}}}" for i in range(12))
    store(doc("many-waiting", "  nodes:\n" + nodes + "\n"))
    started = editor.post("/api/v1/executions", {"workflow": "many-waiting"}, format="json").json()
    assert started["status"] == "running"
    with counted(monkeypatch) as seen:
        assert editor.post(f"/api/v1/executions/{started['id']}/cancel").status_code in (200, 202)
    writes = [sql for sql in seen["sql"] if 'UPDATE "executions_noderun"' in sql]
    assert len(writes) == 1 and "jsonb_to_recordset" in writes[0], seen["sql"]
    # The step's other writes, the execution's row and its events, are the same statement.
    assert 'UPDATE "executions_execution"' in writes[0] and 'INSERT INTO "executions_executionevent"' in writes[0]
    execution = Execution.objects.get(pk=started["id"])
    assert execution.status == "cancelled"
    stored = stored_state(execution)
    assert {node.status for node in stored.nodes.values()} == {"cancelled"}
    assert not compare(stored, replay(execution))


def test_a_webhook_start_writes_its_trigger_in_the_start_statement_without_a_lookup(
        embedded: Any, store: Store, editor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The trigger's last run (last_fired_at, last_execution_id) is written with the start's rows,
    # in the same statement and commit; the trigger, its workflow, active version and tenant were
    # read by the process's first call (one query), and the statement checks they are unchanged.
    store(chain("hooked40", 40).replace("spec:\n", "spec:\n  triggers: [{type: webhook, name: in, mode: sync}]\n"))
    hook = Trigger.objects.get(workflow__name="hooked40")
    client = Client()
    for _ in range(2):
        assert client.post(f"/hooks/{hook.token}", {"v": 1}, content_type="application/json").status_code == 200
    with counted(monkeypatch) as seen:
        answer = client.post(f"/hooks/{hook.token}", {"v": 1}, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == 40, answer.content
    # (Other reads may come and go, such as the outbound subscriptions' cache being refreshed.)
    reads = [sql for sql in seen["sql"] if '"workflows_workflow"' in sql or '"triggers_trigger"' in sql]
    writes = [sql for sql in seen["sql"] if 'UPDATE "triggers_trigger"' in sql or '"executions_execution"' in sql]
    assert len(writes) == 1 and writes == reads, seen["sql"]
    assert 'INSERT INTO "executions_execution"' in writes[0] and "EXISTS (SELECT 1" in writes[0]
    assert 'UPDATE "triggers_trigger"' in writes[0] and 'INSERT INTO "executions_executionevent"' in writes[0]
    latest = Execution.objects.filter(workflow__name="hooked40").latest("created_at")
    hook.refresh_from_db()
    assert hook.last_execution_id == latest.pk and hook.last_fired_at is not None
    assert hook.last_fired_at >= latest.created_at


def test_journal_rows_are_not_checked_one_by_one_at_commit_and_go_with_their_execution(
        embedded: Any, store: Store, run: Run) -> None:
    # A foreign-key constraint looks up and locks the execution's row for each event and node run
    # at commit; the engine writes them only with (or under the lock of) that row instead.
    with connection.cursor() as cursor:
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
                       "AND conrelid IN ('executions_executionevent'::regclass, 'executions_noderun'::regclass)")
        assert cursor.fetchall() == []
    store(chain("gone", 3))
    answer = run("gone", {"v": 1})
    execution = Execution.objects.get(pk=answer["id"])
    assert execution.events.count() == 6 and execution.node_runs.count() == 3
    execution.delete()
    assert not ExecutionEvent.objects.filter(execution_id=answer["id"]).exists()
    assert not NodeRun.objects.filter(execution_id=answer["id"]).exists()


def test_large_journal_values_are_compressed_with_lz4_and_read_back_as_written(
        embedded: Any, store: Store, run: Run) -> None:
    # pglz, PostgreSQL's default, took most of the time of inserting a long chain's events.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        if not cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL was built without lz4")
    store(doc("wide", "  nodes:\n    - {id: a, type: transform, config: {mapping: "
                      "{rows: \"{{ input.rows }}\"}}}\n  output: \"{{ nodes.a.output }}\"\n"))
    rows = [{"id": n, "name": f"customer {n}", "tags": ["a", "b", f"t{n}"]} for n in range(200)]
    answer = run("wide", {"rows": rows})
    assert answer["status"] == "succeeded" and answer["output"] == {"rows": rows}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(payload) FROM executions_executionevent "
                       "WHERE execution_id = %s AND type = 'node.succeeded'", [answer["id"]])
        assert cursor.fetchall() == [("lz4",)]
    assert NodeRun.objects.get(execution_id=answer["id"], node_id="a").output == {"rows": rows}


def test_a_start_whose_nodes_finish_in_its_step_builds_no_node_run_models(
        embedded: Any, store: Store, run: Run, editor: Any) -> None:
    # Its rows are inserted from their values and the answer is made from the nodes' states; a
    # row becomes a model only for a later step of the same execution.
    store(chain("unbuilt", 40))
    built: list[Any] = []

    def count(sender: Any, **kwargs: Any) -> None:
        built.append(sender)

    pre_init.connect(count, sender=NodeRun)
    try:
        answer = editor.post("/api/v1/workflows/unbuilt/execute?include=steps,io", {"input": {"v": 1}, "wait": 20},
                             format="json").json()
    finally:
        pre_init.disconnect(count, sender=NodeRun)
    assert answer["status"] == "succeeded" and answer["output"] == 40, answer
    assert len(answer["steps"]) == 40 and answer["steps"][-1]["output"] == {"v": 40}
    assert built == []
    rows = {row.node_id: row for row in NodeRun.objects.filter(execution_id=answer["id"])}
    assert {step["node_id"]: (step["status"], step["output"]) for step in answer["steps"]} == {
        node_id: (row.status, row.output) for node_id, row in rows.items()}


@pytest.mark.django_db
def test_a_steps_updates_find_their_rows_by_key_in_a_table_of_thousands() -> None:
    # Told nothing of a recordset's rows, PostgreSQL guesses 100 and joined a table of a few
    # thousand rows (never analyzed yet, as autovacuum leaves a new table) by reading all of it
    # for every step: the cost of a step grew with the table.
    Tenant.objects.bulk_create([Tenant(slug=f"bulk-{index}", name="bulk") for index in range(5000)])
    tenant = Tenant.objects.get(slug="bulk-17")
    tenant.name = "renamed"
    writes = StepWrites()
    writes.update_rows([tenant], ["name"], key=("id",))
    [sql] = writes.queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", writes.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using workflows_tenant_pkey" in plan and "Seq Scan on workflows_tenant" not in plan, plan
    writes.send()
    assert Tenant.objects.get(slug="bulk-17").name == "renamed"
    assert Tenant.objects.filter(name="renamed").count() == 1


@pytest.mark.django_db
def test_a_statement_run_again_and_again_is_prepared_on_its_connection() -> None:
    # Parsed (and, once a generic plan serves, planned) once per connection: DB_PREPARE_THRESHOLD.
    assert settings.DB_PREPARE_THRESHOLD > 0
    for _ in range(settings.DB_PREPARE_THRESHOLD + 1):
        assert not Tenant.objects.filter(slug="nobody-at-all").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "workflows_tenant" WHERE "workflows_tenant"."slug" = $' in statement
               for statement in prepared), prepared
