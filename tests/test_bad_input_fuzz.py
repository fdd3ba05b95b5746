"""Every route of the OpenAPI schema fed malformed input, as an owner of a test tenant: never a
5xx, always the JSON error envelope on a 4xx, and nothing stored changes when a request is refused.

The cases are a fixed list (deterministic, no random draws): for each operation in
``/api/schema/``, bad path parameters, bad query parameters (the declared ones and
``page``/``page_size``), and for operations with a body, malformed JSON (NUL, lone surrogates,
``1e400``, integers past 64 bits, NaN, 10,000-deep nesting), each body property in turn given a
wrong or unstorable value, and wrong content types (text, XML, forms and multipart carrying NUL,
YAML that no database can store, bytes that are not UTF-8).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client

from executions.models import Execution, ExecutionEvent, NodeRun, Secret
from tests.factories import UserFactory, make_key
from tests.workflows.api.documents import hello
from workflows.models import ApiKey, Membership, Role, Template, Tenant, Workflow, WorkflowVersion


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = None


# --- the malformed values ---------------------------------------------------------------------
BAD_PATH_VALUES = [
    "%00", "a%00b", "%ED%A0%80", "%F0%28%8C%28", "99999999999999999999999999", "-1", "0", "1e400", "NaN",
    "x" * 1000, "-" * 36, "0" * 32, "%20", "null",
]
BAD_QUERY_VALUES = [
    "%00", "a%00", "%ED%A0%80", "%FF", "1e400", "99999999999999999999999999", "-1", "NaN", "", "abc",
    "x" * 5000, "true",
]
DEEP = 10_000
RAW_JSON_BODIES = [
    ("nul and surrogate", '{"input": {"s": "\\u0000\\ud800"}, "name": "\\u0000", "yaml": "\\ud800"}'),
    ("nul key", '{"\\u0000": 1}'),
    ("1e400", '{"input": {"n": 1e400}, "version": 1e400, "wait": 1e400}'),
    ("-1e400", '{"input": {"n": -1e400}, "wait": -1e400}'),
    ("huge int", '{"input": {"n": 1' + "0" * 30 + '}, "version": 1' + "0" * 30 + "}"),
    ("5000 digits", '{"version": 1' + "0" * 5000 + "}"),
    ("NaN", '{"input": NaN, "wait": NaN}'),
    ("Infinity", "Infinity"),
    ("deep list", "[" * DEEP + "]" * DEEP),
    ("deep object", '{"a": ' * DEEP + "1" + "}" * DEEP),
    ("deep input", '{"input": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}"),
    ("list", "[]"), ("string", '"text"'), ("number", "42"), ("null", "null"), ("true", "true"),
    ("truncated", '{"input": {'), ("bom", '\ufeff{"input": {}}'),
]
BAD_FIELD_VALUES: list[tuple[str, Any]] = [
    ("nul", "a\u0000b"), ("surrogate", "\ud800"), ("1e400", "1e400"), ("huge int", 10**30), ("list", [1, 2]),
    ("object", {"a": 1}), ("number", 42), ("bool", True), ("null", None), ("deep", "deep"),
]
COMMON_FIELDS = ["input", "yaml", "document", "name", "value", "role", "version", "message", "wait", "archived"]
OTHER_CONTENT = [
    ("text", "text/plain", b"hello"),
    ("xml", "application/xml", b"<a>1</a>"),
    ("form nul", "application/x-www-form-urlencoded", b"name=a%00b&input=1&yaml=%00"),
    ("form nul key", "application/x-www-form-urlencoded", b"a%00=1"),
    ("multipart nul", "multipart/form-data; boundary=XX",
     b'--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\na\x00b\r\n--XX--\r\n'),
    ("multipart broken", "multipart/form-data; boundary=XX", b"--XX\r\nnonsense"),
    ("multipart no boundary", "multipart/form-data", b"whatever"),
    ("yaml nul escape", "application/yaml", b'apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: "a\\0"}\n'),
    ("yaml inf", "application/yaml",
     b"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: f}\nspec:\n  nodes:\n"
     b"    - {id: a, type: transform, config: {mapping: {v: .inf}}}\n"),
    ("yaml raw nul", "application/yaml", b"a: b\x00c\n"),
    ("yaml surrogate escape", "text/yaml", b'a: "\\ud800"\n'),
    ("yaml deep", "application/x-yaml", b"a: " + b"[" * DEEP + b"]" * DEEP + b"\n"),
    ("json not utf-8", "application/json", b'{"name": "\xff\xfe"}'),
    ("yaml not utf-8", "application/yaml", b"a: \xff\n"),
    ("json as latin-1", "application/json; charset=latin-1", b'{"name": "\xe9"}'),
    ("no type", "", b'{"input": {}}'),
]


def _field_value(value: Any) -> Any:
    if value == "deep":
        deep: Any = 1
        for _ in range(150):
            deep = {"a": deep}
        return deep
    return value


def _json_text(value: Any) -> str:
    """JSON with the bad values Python would refuse to write (a lone surrogate, 1e400)."""
    if value == "1e400":
        return "1e400"
    return json.dumps(value)


# --- the schema walk -----------------------------------------------------------------------------
def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _body_fields(operation: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolve(content.get("application/json", {}).get("schema", {}), spec)
    return sorted(schema.get("properties", {})) or COMMON_FIELDS


def _fill(path: str, valid: dict[str, str], bad: tuple[str, str] | None = None) -> str:
    for name, value in valid.items():
        path = path.replace("{" + name + "}", bad[1] if bad and bad[0] == name else value)
    return path


def cases_of(path: str, method: str, operation: dict[str, Any], spec: dict[str, Any],
             valid: dict[str, str]) -> Iterator[Case]:
    params = operation.get("parameters", [])
    names = [p["name"] for p in params if p["in"] == "path"]
    # Never a DELETE with real ids: deleting the fixtures is allowed, and would end the walk.
    url = _fill(path, valid) if method != "delete" else None
    for name in names:
        for value in BAD_PATH_VALUES:
            yield Case(f"path {name}={value[:20]}", method, _fill(path, valid, (name, value)))
    if url is None:
        return
    queries = [p["name"] for p in params if p["in"] == "query"] + (["page", "page_size"] if method == "get" else [])
    for name in queries:
        for value in BAD_QUERY_VALUES:
            yield Case(f"query {name}={value[:20]}", method, f"{url}?{name}={value}")
    if "requestBody" not in operation:
        return
    for label, raw in RAW_JSON_BODIES:
        yield Case(f"json {label}", method, url, raw.encode("utf-8", "surrogatepass"), "application/json")
    for field in _body_fields(operation, spec):
        for label, value in BAD_FIELD_VALUES:
            raw = "{" + json.dumps(field) + ": " + _json_text(_field_value(value)) + "}"
            yield Case(f"field {field}={label}", method, url, raw.encode("utf-8", "surrogatepass"),
                       "application/json")
    for label, content_type, raw_bytes in OTHER_CONTENT:
        yield Case(f"content {label}", method, url, raw_bytes, content_type)


# --- what is stored -------------------------------------------------------------------------------
STORED = [Tenant, Membership, ApiKey, Workflow, WorkflowVersion, Template, Execution, NodeRun, ExecutionEvent,
          Secret, get_user_model()]
IGNORED = {"last_used_at", "last_login"}  # reading with a key or a session stamps these


def _columns(model: type[Model]) -> list[str]:
    return [field.column for field in model._meta.concrete_fields if field.name not in IGNORED]


def snapshot() -> dict[str, Any]:
    """Every stored row, per model. On PostgreSQL as one digest per table, computed by the
    server in one round trip (the walk takes a snapshot after each of some 2,500 requests)."""
    if connection.vendor != "postgresql":
        return {model.__name__: list(model.objects.order_by("pk").values_list(*(
            field.name for field in model._meta.concrete_fields if field.name not in IGNORED)))
            for model in STORED}
    digests = [
        f"(SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM "
        f"(SELECT {', '.join(connection.ops.quote_name(c) for c in _columns(model))} "
        f"FROM {connection.ops.quote_name(model._meta.db_table)}) r)"
        for model in STORED
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(digests))
        row = cursor.fetchone()
    return dict(zip((model.__name__ for model in STORED), row, strict=True))


@pytest.fixture
def world(transactional_db: None, api_client_for: Any, tenant: Tenant) -> tuple[Client, dict[str, str]]:
    """An owner key of a tenant holding one of everything, and the ids that name them. Committed
    for real (``transactional_db``): rows made in a rolled-back transaction hand their ids on to
    the next test on SQLite, where a process's caches by id (plans by version) would mistake them."""
    owner = api_client_for(Role.OWNER, tenant)
    created = owner.post("/api/v1/workflows", hello(), content_type="application/yaml")
    assert created.status_code == 201, created.content
    saved = owner.put("/api/v1/workflows/hello", hello(greeting="Hi"), content_type="application/yaml")
    assert saved.status_code == 200, saved.content
    run = owner.post("/api/v1/workflows/hello/execute", {"input": {"name": "Ann"}, "wait": 10}, format="json")
    assert run.json()["status"] == "succeeded", run.content
    assert owner.post("/api/v1/secrets", {"name": "TOKEN", "value": "s3cret"}, format="json").status_code == 201
    template = owner.post("/api/v1/templates", hello(name="tpl"), content_type="application/yaml")
    assert template.status_code == 201, template.content
    key, _ = make_key(tenant, Role.VIEWER, name="spare")
    member = Membership.objects.create(user=UserFactory(username="member"), tenant=tenant, role=Role.EDITOR)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    valid = {"ref": "hello", "execution_id": run.json()["id"], "key_id": str(key.pk), "member_id": str(member.pk),
             "type_name": "http", "template_id": template.json()["id"], "name": "TOKEN", "number": "1",
             "task_id": "00000000-0000-0000-0000-000000000000"}
    return client, valid


def send(client: Client, case: Case) -> Any:
    """The request in a transaction of its own: a query the database refused (answered 500)
    does not leave the connection unusable for the rest of the walk."""
    try:
        with transaction.atomic():
            return client.generic(case.method.upper(), case.url, case.body or b"", content_type=case.content_type or "")
    except DatabaseError as exc:  # raised on leaving the transaction of a request the database refused
        return HttpResponse(f"the database refused a query: {exc}".encode(), status=599)


def test_no_route_answers_a_5xx_and_a_refused_request_changes_nothing(world: tuple[Client, dict[str, str]]) -> None:
    client, valid = world
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    spec = json.loads(schema.content)
    operations = [(path, method, operation) for path, methods in spec["paths"].items()
                  for method, operation in methods.items()]
    assert len(operations) >= 40  # the whole API, not an empty schema

    problems: list[str] = []
    refused = 0
    stored = snapshot()
    for path, method, operation in operations:
        for case in cases_of(path, method, operation, spec, valid):
            response = send(client, case)
            where = f"{case.method.upper()} {path} [{case.label}] -> {response.status_code}"
            # A stream (/executions/{id}/stream) is not read: its status is the answer here.
            if response.status_code >= 500:
                problems.append(f"{where}: {response.content[:200]!r}")
            elif response.status_code >= 400:
                refused += 1
                body = json.loads(response.content) if response["Content-Type"].startswith("application/json") else {}
                if set(body) != {"error"} or set(body["error"]) != {"code", "message", "details"}:
                    problems.append(f"{where}: not the error envelope: {response.content[:200]!r}")
                now = snapshot()
                if now != stored:
                    changed = sorted(name for name in now if now[name] != stored[name])
                    problems.append(f"{where}: a refused request changed what is stored: {changed}")
                    stored = now
            else:
                stored = snapshot()  # a request the API accepted may change things
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])
    assert refused > 2000

    # The snapshot sees a change made in place (a flag), so an unchanged one means something.
    archived = Workflow.objects.get(name="hello").archived
    flipped = client.patch("/api/v1/workflows/hello", {"archived": not archived}, content_type="application/json")
    assert flipped.status_code == 200
    assert snapshot() != stored
