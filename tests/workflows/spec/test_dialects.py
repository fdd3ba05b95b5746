"""The seed dialects (Go MBFlow, Magic Flow v2) convert to native documents that point back at
the lines the user wrote; the built-in templates are valid native documents."""

from __future__ import annotations

import copy
import json
from pathlib import Path as FsPath
from typing import Any

import pytest

from workflows.spec import context_schemas, dump_yaml, load_document, validate_context, validate_document
from workflows.spec.dialects import convert, detect_dialect
from workflows.spec.loader import parse_yaml

FIXTURES = FsPath(__file__).resolve().parent / "fixtures"
TEMPLATES = FsPath(__file__).resolve().parents[3] / "workflows" / "templates_library"


# ----------------------------------------------------------------------------- helpers


def _convert(text: str) -> tuple[dict[str, Any], dict[Any, tuple[int, int]], str, list[Any]]:
    data, marks = parse_yaml(text)
    return convert(data, marks)


def _line(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing needle."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} occurs {len(hits)} times"
    return hits[nth - 1]


def _node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(node for node in document["spec"]["nodes"] if node["id"] == node_id)


def _node_index(document: dict[str, Any], node_id: str) -> int:
    return next(i for i, node in enumerate(document["spec"]["nodes"]) if node["id"] == node_id)


def _edges(document: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(e["from"], e["to"], e.get("on", "success"), e.get("port")) for e in document["spec"]["edges"]]


def _edge_index(document: dict[str, Any], source: str, target: str) -> int:
    return next(i for i, e in enumerate(document["spec"]["edges"]) if e["from"] == source and e["to"] == target)


@pytest.fixture(scope="module")
def seed_onboarding() -> str:
    """The Magic Flow v2 `user-onboarding` example, as written in the seed document (the YAML
    block under "YAML Workflow Definition", kept byte for byte as a fixture)."""
    return _fixture("magic_flow_seed_user_onboarding.yaml")


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("data", "dialect"),
    [
        ({"apiVersion": "workflow.magic-flow.io/v2", "kind": "Workflow", "spec": {"steps": []}}, "magic_flow"),
        ({"apiVersion": "workflow.magic-flow.io/v3", "spec": {}}, "magic_flow"),
        ({"metadata": {"name": "x"}, "nodes": [{"id": "a", "type": "http"}]}, "mbflow"),
        ({"nodes": []}, "mbflow"),
        ({"metadata": {"name": "x"}, "edges": []}, "mbflow"),
        ({"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "x"}, "spec": {"nodes": []}}, "native"),
        ({"apiVersion": "argoproj.io/v1alpha1", "nodes": []}, "native"),
        ({"metadata": {"name": "x"}, "spec": {"nodes": []}}, "native"),
        ({"metadata": {"name": "x"}, "nodes": {"a": {}}}, "native"),
        ({}, "native"),
    ],
)
def test_it_detects_the_dialect_from_the_top_level_keys(data: dict[str, Any], dialect: str) -> None:
    assert detect_dialect(data) == dialect


def test_it_returns_a_native_document_and_its_marks_unchanged() -> None:
    text = (TEMPLATES / "webhook_alert.yaml").read_text()
    data, marks = parse_yaml(text)
    document, new_marks, dialect, warnings = convert(data, marks)
    assert (document, new_marks, dialect, warnings) == (data, marks, "native", [])
    assert document is data


# ----------------------------------------------------------------------------- every fixture


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ("mbflow_user_onboarding.yaml", "mbflow"),
        ("mbflow_ticket_router.yaml", "mbflow"),
        ("magic_flow_order_processing.yaml", "magic_flow"),
        ("magic_flow_data_sync.yaml", "magic_flow"),
    ],
)
def test_each_fixture_converts_to_a_valid_native_document(name: str, dialect: str) -> None:
    loaded = load_document(_fixture(name))
    report = validate_document(loaded)

    assert loaded.dialect == dialect
    assert loaded.data["apiVersion"] == "mbflow/v1"
    assert list(loaded.data) == ["apiVersion", "kind", "metadata", "spec"]
    assert report.valid, [issue.to_dict() for issue in report.errors]
    json.dumps(loaded.data)  # plain data only
    spec = loaded.data["spec"]
    for index in range(len(spec["nodes"])):
        assert ("spec", "nodes", index) in loaded.marks
        assert ("spec", "nodes", index, "id") in loaded.marks
    for index in range(len(spec["edges"])):
        assert ("spec", "edges", index, "to") in loaded.marks


@pytest.mark.parametrize(
    "name",
    ["mbflow_user_onboarding.yaml", "mbflow_ticket_router.yaml", "magic_flow_order_processing.yaml",
     "magic_flow_data_sync.yaml"],
)
def test_a_converted_document_exports_and_reimports_as_the_same_native_document(name: str) -> None:
    converted = load_document(_fixture(name))
    exported = dump_yaml(converted.data)
    reimported = load_document(exported)

    assert reimported.dialect == "native"
    assert reimported.data == converted.data
    assert dump_yaml(reimported.data) == exported


# ----------------------------------------------------------------------------- Go MBFlow


def test_go_templates_read_the_upstream_data_of_each_node() -> None:
    document, _, _, _ = _convert(_fixture("mbflow_user_onboarding.yaml"))

    mapping = _node(document, "receive_user")["config"]["mapping"]
    assert mapping["user_id"] == "{{ input.user_id }}"  # an entry node reads the execution input
    assert mapping["first_name"] == "{{ input.name.split(' ')[0] }}"
    assert mapping["plan"] == "{{ input.plan | default('free', true) }}"
    assert mapping["created_at"] == "{{ input.created_at | default(now(), true) }}"
    assert mapping["traits"] == "{{ input.traits | default({}, true) }}"

    crm = _node(document, "create_crm_contact")["config"]
    assert crm["url"] == "{{ vars.api_base_url }}/contacts"
    assert crm["headers"] == {"Authorization": "Bearer {{ vars.crm_token }}"}
    assert crm["json"] == {  # one parent: its output
        "email": "{{ nodes.receive_user.output.email }}",
        "plan": "{{ nodes.receive_user.output.plan }}",
    }
    assert crm["method"] == "POST"
    assert crm["timeout"] == "15s"

    # Behind the switch, the branch reads what the Go conditional passed on: its own input.
    assert _node(document, "notify_sales")["config"]["json"]["text"] == (
        "New enterprise signup: {{ nodes.receive_user.output.email }} on {{ vars.app_name }}"
    )
    assert _node(document, "schedule_day1_email")["config"]["json"]["send_at"] == (
        "{{ nodes.merge_paths.output.created_at | add_hours(24) }}"
    )
    completed = _node(document, "complete_onboarding")["config"]["mapping"]
    assert completed == {
        "status": "{{ 'success' }}",
        "user_id": "{{ nodes.schedule_day1_email.output.body.user_id }}",
        "emails_scheduled": 1,
        "completed_at": "{{ now() }}",
    }
    assert document["spec"]["variables"]["crm_token"] == "{{ secrets.CRM_TOKEN }}"


def test_a_go_conditional_with_branches_becomes_a_switch_routed_by_ports() -> None:
    document, _, _, _ = _convert(_fixture("mbflow_user_onboarding.yaml"))

    router = _node(document, "check_plan_type")
    assert router["type"] == "switch"
    assert router["config"] == {
        "value": "{{ nodes.receive_user.output.plan }}",
        "cases": [{"equals": "enterprise", "output": "enterprise"}, {"equals": "pro", "output": "pro"}],
        "default": "free",
    }
    edges = _edges(document)
    assert ("check_plan_type", "notify_sales", "success", "enterprise") in edges
    assert ("check_plan_type", "notify_success_pro", "success", "pro") in edges
    assert ("check_plan_type", "merge_paths", "success", "free") in edges
    assert all("condition" not in e for e in document["spec"]["edges"] if e["from"] == "check_plan_type")

    merge = _node(document, "merge_paths")
    assert merge["config"] == {"mode": "first", "strategy": "object"}
    assert merge["timeout"] == "5s"


def test_go_metadata_and_trigger_become_native() -> None:
    document, _, _, warnings = _convert(_fixture("mbflow_user_onboarding.yaml"))

    assert document["metadata"] == {
        "name": "user-onboarding-automation",
        "title": "User Onboarding Automation",
        "description": "Welcome new users, tell sales about big plans, schedule follow-ups",
        "tags": ["onboarding", "users", "crm"],
        "annotations": {"version": "1"},
    }
    assert document["spec"]["triggers"] == [
        {"type": "event", "name": "User Created Event", "enabled": True, "event": "user.created",
         "source": "auth-service", "filter": {"verified": True}},
    ]
    assert warnings == []


GO_SDK_WORKFLOW = """\
name: "My Workflow"
description: Fetches the data
tags: [sdk]
nodes:
  - id: node-1
    name: Fetch Data
    type: http
    config: {method: GET, url: "https://api.example.com/data"}
"""


def test_the_go_models_top_level_name_names_the_workflow() -> None:
    """GIVEN a Go workflow as its model writes it (`name`, `description`, `tags` at the top, as
    in the SDK example) WHEN converted THEN they name and describe the workflow."""
    document, marks, dialect, warnings = _convert(GO_SDK_WORKFLOW)

    assert dialect == "mbflow"
    assert document["metadata"] == {"name": "my-workflow", "title": "My Workflow",
                                    "description": "Fetches the data", "tags": ["sdk"]}
    assert marks[("metadata", "name")][0] == _line(GO_SDK_WORKFLOW, 'name: "My Workflow"')
    assert warnings == []
    assert validate_document(load_document(GO_SDK_WORKFLOW)).valid

    # metadata.name, when also written, names it; the top-level one is reported as dropped.
    both = GO_SDK_WORKFLOW + "metadata: {name: from-metadata}\n"
    document, _, _, warnings = _convert(both)
    assert document["metadata"]["name"] == "from-metadata"
    assert document["metadata"]["description"] == "Fetches the data"
    assert [(w.code, w.line) for w in warnings] == [("dialect_dropped", 1)]


def test_a_boolean_go_conditional_becomes_a_condition_with_true_and_false_ports() -> None:
    text = _fixture("mbflow_ticket_router.yaml")
    document, marks, _, _ = _convert(text)

    check = _node(document, "check_reply")
    assert check["type"] == "condition"
    assert check["config"] == {"expression": "{{ nodes.draft_reply.output.finish_reason == 'stop' }}"}
    assert ("check_reply", "post_reply", "success", "true") in _edges(document)
    assert ("check_reply", "flag_for_human", "success", "false") in _edges(document)

    # A condition on an edge that does not leave a router stays a condition, in Jinja.
    e1 = document["spec"]["edges"][_edge_index(document, "fetch_ticket", "normalize")]
    assert e1["condition"] == "{{ output.status == 200 }}"
    assert marks[("spec", "edges", 0, "condition")][0] == _line(text, "id: e1,")

    normalize = _node(document, "normalize")["config"]["mapping"]
    assert normalize["has_attachments"] == "{{ nodes.fetch_ticket.output.body.attachments | length > 0 }}"
    assert normalize["tags"] == "{{ nodes.fetch_ticket.output.body.tags | default([], true) }}"
    assert _node(document, "queue_normal")["config"] == {"duration": "2s"}
    assert document["spec"]["triggers"][0] == {
        "type": "cron", "name": "Every weekday morning", "enabled": True,
        "schedule": "0 8 * * 1-5", "timezone": "Europe/Paris",
    }


def test_go_marks_point_at_the_nodes_and_edges_as_written() -> None:
    text = _fixture("mbflow_user_onboarding.yaml")
    document, marks, _, _ = _convert(text)

    index = _node_index(document, "create_crm_contact")
    assert marks[("spec", "nodes", index)][0] == _line(text, "- id: create_crm_contact")
    assert marks[("spec", "nodes", index, "id")][0] == _line(text, "- id: create_crm_contact")
    assert marks[("spec", "nodes", index, "config", "json", "email")][0] == _line(text, 'email: "{{input.email}}"')
    assert marks[("spec", "nodes", index, "position", "x")][0] == _line(text, "x: 300")

    merge = _node_index(document, "merge_paths")
    assert marks[("spec", "nodes", merge, "timeout")][0] == _line(text, "timeout: 5")

    edge = _edge_index(document, "check_plan_type", "notify_sales")
    assert marks[("spec", "edges", edge)][0] == _line(text, "- id: e3")
    assert marks[("spec", "edges", edge, "to")][0] == _line(text, "to: notify_sales")
    assert marks[("spec", "edges", edge, "port")][0] == _line(text, "condition: \"output == 'enterprise'\"")
    assert marks[("spec", "triggers", 0, "source")][0] == _line(text, 'source: "auth-service"')
    assert marks[("metadata", "name")][0] == _line(text, 'name: "User Onboarding Automation"')


GO_ROUGH = """\
metadata:
  name: "Rough edges"
nodes:
  - id: fetch data
    type: http
    config: {url: "https://example.com", retries: 2}
  - id: other
    type: http
    config: {url: "https://example.org"}
  - id: combine
    type: transform
    config:
      mapping:
        a: "$.a"
        label: "plain text"
        both: "{{input.a}} and {{input.b}}"
  - id: notify
    type: telegram
    color: blue
    config:
      message: "{{#each input.items}}{{title}}{{/each}}"
edges:
  - {from: fetch data, to: combine}
  - {from: other, to: combine, label: second}
  - {from: combine, to: notify}
  - {from: combine, to: ghost}
"""


def test_go_oddities_are_kept_or_reported_with_their_lines() -> None:
    document, marks, _, warnings = _convert(GO_ROUGH)

    # An id that is not a valid node id is renamed everywhere it is used.
    assert _node(document, "fetch_data")["type"] == "http"
    assert ("fetch_data", "combine", "success", None) in _edges(document)
    # Several parents: the merged upstream data.
    mapping = _node(document, "combine")["config"]["mapping"]
    assert mapping == {"a": "{{ upstream.a }}", "label": "plain text",
                       "both": "{{ upstream.a }} and {{ upstream.b }}"}
    # Unknown types, unknown config keys and untranslatable templates stay for validation to show.
    assert _node(document, "notify")["type"] == "telegram"
    assert _node(document, "notify")["config"]["message"] == "{{#each input.items}}{{title}}{{/each}}"
    assert _node(document, "fetch_data")["config"]["retries"] == 2
    # An edge to an undefined node stays, marked at its line.
    ghost = _edge_index(document, "combine", "ghost")
    assert marks[("spec", "edges", ghost, "to")][0] == _line(GO_ROUGH, "to: ghost")

    found = {(w.code, w.line) for w in warnings}
    assert ("dialect_renamed", _line(GO_ROUGH, "- id: fetch data")) in found
    assert ("dialect_dropped", _line(GO_ROUGH, "label: second")) in found
    assert ("dialect_dropped", _line(GO_ROUGH, "color: blue")) in found
    assert ("dialect_untranslated", _line(GO_ROUGH, "{{#each")) in found
    assert all(w.severity == "warning" for w in warnings)

    report = validate_document(load_document(GO_ROUGH))
    errors = {(e.code, e.line) for e in report.errors}
    assert ("dangling_edge", _line(GO_ROUGH, "to: ghost")) in errors
    assert ("unknown_node_type", _line(GO_ROUGH, "type: telegram")) in errors


# ----------------------------------------------------------------------------- Magic Flow v2


def test_the_seed_user_onboarding_example_converts_to_native(seed_onboarding: str) -> None:
    document, _, dialect, warnings = _convert(seed_onboarding)
    assert dialect == "magic_flow"
    assert [w.code for w in warnings] == ["dialect_undefined_step"] * 3  # its three undefined steps

    assert document["metadata"] == {
        "name": "user-onboarding",
        "description": "Complete user onboarding process",
        "tags": ["user-management", "onboarding"],
        "annotations": {"version": "v1.0.0", "owner": "team@company.com", "created_by": "visual_designer"},
    }
    spec = document["spec"]
    assert spec["timeout"] == "10m"
    assert spec["timeout_action"] == "cancel_and_cleanup"
    assert spec["defaults"] == {"retry": {"max_attempts": 3, "backoff": "exponential"}}
    assert [n["id"] for n in spec["nodes"]][:4] == [
        "validate-user", "create-account", "external-verification", "send-welcome-email",
    ]

    validate = _node(document, "validate-user")
    assert validate["type"] == "function"
    assert validate["config"] == {
        "executor": "user-service",
        "function": "validateUserData",
        "input": {"user_data": "{{ input }}"},
        "output": {"validation_result": "{{ response.valid }}", "validation_errors": "{{ response.errors }}"},
    }
    assert validate["timeout"] == "30s"
    assert validate["timeout_action"] == "retry"
    assert validate["retry"] == {"max_attempts": 3, "backoff": "exponential", "initial_delay": "1s",
                                 "max_delay": "10s", "jitter": True}

    create = _node(document, "create-account")
    assert create["when"] == "{{ nodes['validate-user'].output.validation_result == true }}"
    assert create["fallback"] == "create-guest-account"
    assert create["config"]["input"]["email"] == "{{ input.email }}"

    verify = _node(document, "external-verification")
    assert verify["circuit_breaker"] == {"failure_threshold": 5, "recovery_timeout": "60s",
                                         "half_open_max_calls": 3, "failure_rate_threshold": 0.5}
    assert verify["fallback"] == "skip-verification"
    assert _node(document, "send-welcome-email")["config"]["input"]["user_id"] == (
        "{{ nodes['create-account'].output.user_id }}"
    )

    edges = _edges(document)
    assert ("validate-user", "create-account", "success", None) in edges
    assert ("validate-user", "notify-validation-error", "failure", None) in edges
    assert ("create-account", "send-welcome-email", "success", None) in edges
    assert ("create-account", "cleanup-partial-data", "failure", None) in edges
    # on_success and on_failure both name send-welcome-email: one edge, on: always.
    assert [e for e in edges if e[0] == "external-verification"] == [
        ("external-verification", "send-welcome-email", "always", None)
    ]


def test_the_seed_error_handling_becomes_a_fail_node_and_compensation(seed_onboarding: str) -> None:
    document, marks, _, _ = _convert(seed_onboarding)

    failed = _node(document, "validate-user-error")
    assert failed["type"] == "fail"
    assert failed["config"] == {"message": "User validation failed",
                                "details": "{{ nodes['validate-user'].output.validation_errors }}"}
    assert failed["when"] == "{{ nodes['validate-user'].output.validation_result == false }}"
    assert ("validate-user", "validate-user-error", "success", None) in _edges(document)

    cleanup = _node(document, "cleanup-partial-data")
    assert cleanup["config"] == {"executor": "user-service", "function": "cleanup"}
    assert document["spec"]["compensation"] == [{"node": "cleanup-partial-data", "when_failed": "create-account"}]
    assert marks[("spec", "compensation", 0, "node")][0] == _line(seed_onboarding, '- name: "cleanup-partial-data"')
    assert marks[("spec", "compensation", 0, "when_failed")][0] == _line(
        seed_onboarding, "$.create-account.status == 'failed'"
    )


def test_seed_marks_point_at_the_steps_as_written(seed_onboarding: str) -> None:
    document, marks, _, _ = _convert(seed_onboarding)

    index = _node_index(document, "create-account")
    assert marks[("spec", "nodes", index)][0] == _line(seed_onboarding, "- name: create-account")
    assert marks[("spec", "nodes", index, "id")][0] == _line(seed_onboarding, "- name: create-account")
    assert marks[("spec", "nodes", index, "fallback")][0] == _line(
        seed_onboarding, "fallback_step: create-guest-account"
    )
    assert marks[("spec", "nodes", index, "when")][0] == _line(seed_onboarding, "condition: \"$.validate-user")
    assert marks[("spec", "nodes", index, "config", "input", "email")][0] == _line(
        seed_onboarding, 'email: "$.input.email"'
    )
    edge = _edge_index(document, "validate-user", "notify-validation-error")
    assert marks[("spec", "edges", edge)][0] == _line(seed_onboarding, "on_failure: notify-validation-error")
    assert marks[("spec", "edges", edge, "to")][0] == _line(seed_onboarding, "on_failure: notify-validation-error")


def test_the_seeds_undefined_steps_become_placeholder_fail_nodes(seed_onboarding: str) -> None:
    """GIVEN the seed as written, whose on_failure and fallback_step name three steps it never
    defines WHEN it is loaded THEN each is a `fail` node saying so, each reference a warning at its
    line, and the document is valid."""
    loaded = load_document(seed_onboarding)
    report = validate_document(loaded)

    assert report.valid, [e.to_dict() for e in report.errors]
    document = loaded.data
    for name in ("notify-validation-error", "create-guest-account", "skip-verification"):
        node = _node(document, name)
        assert node == {
            "id": name,
            "description": "A placeholder: the imported file names this step but does not define it.",
            "type": "fail",
            "config": {"message": f"Step `{name}` is not defined in the imported file"},
        }
    # The references are kept: an edge, two fallbacks.
    assert ("validate-user", "notify-validation-error", "failure", None) in _edges(document)
    assert _node(document, "create-account")["fallback"] == "create-guest-account"
    assert _node(document, "external-verification")["fallback"] == "skip-verification"
    # The placeholders follow the steps; the compensation step written in error_handling is no placeholder.
    assert [n["id"] for n in document["spec"]["nodes"]][-3:] == [
        "notify-validation-error", "create-guest-account", "skip-verification"]
    assert _node(document, "cleanup-partial-data")["type"] == "function"

    warnings = [(w.code, w.line, w.node_id) for w in report.warnings]
    assert warnings == [
        ("dialect_undefined_step", _line(seed_onboarding, "on_failure: notify-validation-error"),
         "notify-validation-error"),
        ("dialect_undefined_step", _line(seed_onboarding, "fallback_step: create-guest-account"),
         "create-guest-account"),
        ("dialect_undefined_step", _line(seed_onboarding, "fallback_step: skip-verification"), "skip-verification"),
    ]
    assert "placeholder `fail` node" in report.warnings[0].message
    index = _node_index(document, "skip-verification")
    assert loaded.marks[("spec", "nodes", index)][0] == _line(seed_onboarding, "fallback_step: skip-verification")


MAGIC_FLOW_UNDEFINED = """\
apiVersion: workflow.magic-flow.io/v2
kind: Workflow
metadata: {name: undefined-steps}
spec:
  steps:
    - name: fetch
      type: function
      executor: svc
      function: fetch
      on_success: [store, audit trail]
      on_failure: "clean up"
    - name: store
      type: function
      executor: svc
      function: store
      depends_on: [warm-cache]
      fallback_step: audit trail
  error_handling:
    - condition: "$.store.status == 'failed'"
      action:
        type: compensate
        steps: [undo-store, {name: "clean up", service: svc, method: cleanup}]
"""


def test_every_kind_of_reference_to_an_undefined_step_gets_one_placeholder() -> None:
    """GIVEN a list on_success, depends_on, a fallback, a compensation step named by its name and
    names that are not node ids WHEN converted THEN one placeholder per undefined name, every
    reference pointing at it, and a step defined inside error_handling is no placeholder."""
    document, _, _, warnings = _convert(MAGIC_FLOW_UNDEFINED)

    placeholders = {n["id"]: n for n in document["spec"]["nodes"] if n["type"] == "fail"}
    assert set(placeholders) == {"audit_trail", "warm-cache", "undo-store"}
    assert placeholders["audit_trail"]["name"] == "audit trail"
    assert placeholders["audit_trail"]["config"]["message"] == "Step `audit trail` is not defined in the imported file"
    # "clean up" is defined inside error_handling: the on_failure edge written before it reaches it.
    clean_up = next(n for n in document["spec"]["nodes"] if n.get("name") == "clean up")
    assert clean_up["id"] == "clean_up" and clean_up["type"] == "function"
    edges = _edges(document)
    assert ("fetch", "audit_trail", "success", None) in edges
    assert ("fetch", "clean_up", "failure", None) in edges
    assert ("warm-cache", "store", "success", None) in edges
    assert _node(document, "store")["fallback"] == "audit_trail"
    assert {"node": "undo-store", "when_failed": "store"} in document["spec"]["compensation"]
    assert {"node": "clean_up", "when_failed": "store"} in document["spec"]["compensation"]

    assert sorted((w.node_id, w.line) for w in warnings if w.code == "dialect_undefined_step") == sorted([
        ("audit_trail", _line(MAGIC_FLOW_UNDEFINED, "on_success: [store, audit trail]")),
        ("audit_trail", _line(MAGIC_FLOW_UNDEFINED, "fallback_step: audit trail")),
        ("warm-cache", _line(MAGIC_FLOW_UNDEFINED, "depends_on: [warm-cache]")),
        ("undo-store", _line(MAGIC_FLOW_UNDEFINED, "steps: [undo-store")),
    ])
    assert validate_document(load_document(MAGIC_FLOW_UNDEFINED)).valid


def test_magic_flow_resilience_settings_and_schemas_carry_over() -> None:
    text = _fixture("magic_flow_order_processing.yaml")
    document, marks, _, warnings = _convert(text)
    assert warnings == []

    assert document["metadata"]["tags"] == ["orders", "payments", "team=commerce"]
    assert document["metadata"]["annotations"] == {
        "runbook": "https://wiki.example.com/orders", "version": "v2.1.0", "owner": "commerce@company.com",
    }
    schema = document["spec"]["input_schema"]
    assert schema["required"] == ["order_id", "customer_id"]  # `required: true` on properties, lifted
    assert "required" not in schema["properties"]["order_id"]
    assert document["spec"]["defaults"] == {"retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay": "2s"}}

    fraud = _node(document, "fraud-check")  # a built-in step type: its other keys are its config
    assert fraud["type"] == "http"
    assert fraud["config"] == {"url": "https://fraud.example.com/score", "method": "POST",
                               "json": {"customer": "{{ input.customer_id }}"}}
    charge = _node(document, "charge-payment")
    assert charge["retry"] == {"max_attempts": 3, "backoff": "exponential", "initial_delay": "1s",
                               "max_delay": "20s", "multiplier": 3, "jitter": True}
    assert charge["fallback"] == "queue-manual-payment"
    assert charge["config"]["input"]["risk"] == "{{ nodes['fraud-check'].output.body.score }}"
    assert _node(document, "reserve-stock")["retry"]["backoff"] == "linear"
    assert _node(document, "queue-manual-payment")["fallback_output"] == {"payment_id": None, "queued": True}
    assert _node(document, "reject-order")["config"] == {
        "message": "Order {{ input.order_id }} was rejected", "level": "warning",
    }

    edges = _edges(document)
    assert ("validate-order", "reserve-stock", "success", None) in edges
    assert ("validate-order", "fraud-check", "success", None) in edges
    assert ("validate-order", "reject-order", "failure", None) in edges
    second = _edge_index(document, "validate-order", "fraud-check")
    assert marks[("spec", "edges", second, "to")][0] == _line(text, "on_success: [reserve-stock, fraud-check]")

    assert document["spec"]["compensation"] == [{"node": "release-stock", "when_failed": "charge-payment"}]
    assert _node(document, "release-stock")["config"] == {"executor": "inventory-service", "function": "releaseItems"}
    assert document["spec"]["output"] == {
        "order_id": "{{ input.order_id }}", "payment_id": "{{ nodes['charge-payment'].output.payment_id }}",
    }


def test_magic_flow_approximations_are_reported_as_warnings_at_their_lines() -> None:
    text = _fixture("magic_flow_data_sync.yaml")
    document, _, _, warnings = _convert(text)

    assert document["metadata"]["name"] == "nightly-data-sync"
    assert document["metadata"]["title"] == "Nightly Data Sync"
    fetch = _node(document, "fetch-source")
    assert fetch["type"] == "function"
    assert fetch["timeout_action"] == "ignore"
    assert fetch["retry"] == {"max_attempts": 4, "backoff": "exponential", "initial_delay": "2s", "jitter": True}
    load = _node(document, "load-warehouse")
    assert load["config"]["input"] == {"rows": "{{ nodes['fetch-source'].output.records }}"}
    assert "parallel" not in load and "parallel" not in load["config"]
    assert _node(document, "report")["config"]["input"]["loaded"] == (
        "{{ nodes['load-warehouse'].output.loaded | default(0, true) }}"
    )
    edges = _edges(document)
    assert ("load-warehouse", "report", "always", None) in edges
    assert ("cool-down", "load-warehouse", "success", None) in edges  # depends_on
    assert ("has-changes", "cool-down", "success", None) in edges

    assert sorted((w.code, w.line) for w in warnings) == sorted([
        ("dialect_approximated", _line(text, "type: grpc")),
        ("dialect_approximated", _line(text, "timeout_action: skip")),
        ("dialect_approximated", _line(text, "backoff_strategy: jitter")),
        ("dialect_dropped", _line(text, "parallel: true")),
    ])


def test_the_seed_context_becomes_a_workflow_context_naming_its_workflow() -> None:
    """GIVEN the seed's context.yaml (`metadata.name: user-onboarding-context`) WHEN loaded THEN it
    is a WorkflowContext for the workflow `user-onboarding`, its schemas carried over."""
    text = _fixture("magic_flow_seed_user_onboarding_context.yaml")
    loaded = load_document(text)
    report = validate_context(loaded)

    assert (loaded.dialect, loaded.kind) == ("magic_flow", "WorkflowContext")
    assert report.valid, [e.to_dict() for e in report.errors]
    assert loaded.warnings == []
    document = loaded.data
    assert document["apiVersion"] == "mbflow/v1"
    assert document["metadata"] == {"name": "user-onboarding-context"}
    assert document["spec"]["workflow"] == "user-onboarding"
    assert loaded.marks[("spec", "workflow")][0] == _line(text, "name: user-onboarding-context")
    schema = document["spec"]["input_schema"]
    assert schema["required"] == ["email", "name"]  # `required: true` on properties, lifted
    assert schema["properties"]["email"] == {"type": "string", "format": "email",
                                             "description": "User's email address"}
    assert document["spec"]["output_schema"]["properties"]["account_status"]["enum"] == ["active", "pending", "failed"]
    assert context_schemas(document) == {"input_schema": schema, "output_schema": document["spec"]["output_schema"]}
    # Exported, it reads back as the same native context.
    again = load_document(dump_yaml(document))
    assert (again.dialect, again.kind, again.data) == ("native", "WorkflowContext", document)


@pytest.mark.parametrize(
    ("metadata", "spec_extra", "workflow"),
    [
        ("{name: billing_context}", "", "billing"),
        ("{name: Billing.Context}", "", "billing"),
        ("{name: billing}", "", "billing"),
        ("{name: anything}", "workflow: Order Processing", "order-processing"),
    ],
)
def test_a_context_names_its_workflow_explicitly_or_by_its_own_name(metadata: str, spec_extra: str,
                                                                   workflow: str) -> None:
    text = f"""\
apiVersion: workflow.magic-flow.io/v2
kind: WorkflowContext
metadata: {metadata}
spec:
  {spec_extra or "output_schema: {type: object}"}
  input_schema: {{type: object}}
"""
    loaded = load_document(text)
    assert loaded.data["spec"]["workflow"] == workflow
    assert validate_context(loaded).valid


def test_a_context_with_problems_is_reported_at_its_lines() -> None:
    text = """\
apiVersion: mbflow/v1
kind: WorkflowContext
metadata: {name: ctx}
spec:
  workflow: Not A Name
  input_schema:
    type: object
    properties:
      email: {type: strung}
  steps: []
"""
    report = validate_context(load_document(text))
    found = {(e.code, e.line) for e in report.errors}
    assert found == {
        ("invalid_value", _line(text, "workflow: Not A Name")),
        ("unknown_field", _line(text, "steps: []")),
    }
    report = validate_context(load_document(text.replace("Not A Name", "ok").replace("  steps: []\n", "")))
    assert [(e.code, e.line) for e in report.errors] == [("invalid_schema", _line(text, "type: strung"))]
    assert "spec.input_schema is not a JSON Schema" in report.errors[0].message
    bare = "apiVersion: mbflow/v1\nkind: WorkflowContext\nmetadata: {name: ctx}\nspec: {workflow: ok}\n"
    assert [e.code for e in validate_context(load_document(bare)).errors] == ["missing_field"]


# ----------------------------------------------------------------------------- templates

REQUIRED_TEMPLATES = {
    "fetch_transform_summarize", "order_processing", "user_onboarding", "scheduled_report", "webhook_alert",
    "parallel_fetch_merge",
}


def test_the_template_library_has_the_advertised_templates() -> None:
    assert {path.stem for path in TEMPLATES.glob("*.yaml")} >= REQUIRED_TEMPLATES


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_template_is_a_valid_native_document_laid_out_left_to_right(path: FsPath) -> None:
    loaded = load_document(path.read_text())
    report = validate_document(loaded)

    assert loaded.dialect == "native"
    assert report.valid, [issue.to_dict() for issue in report.errors]
    metadata = loaded.data["metadata"]
    assert metadata.get("title") and metadata.get("description") and metadata.get("tags")
    assert loaded.data["spec"].get("input_schema", {}).get("type") == "object"
    positions = {node["id"]: node["position"] for node in loaded.data["spec"]["nodes"]}
    assert set(positions) == {node["id"] for node in loaded.data["spec"]["nodes"]}
    for edge in loaded.data["spec"]["edges"]:
        assert positions[edge["to"]]["x"] > positions[edge["from"]]["x"], edge


def test_the_templates_use_switch_merge_cron_webhook_condition_and_llm_nodes() -> None:
    types: set[str] = set()
    triggers: set[str] = set()
    ported = False
    for path in TEMPLATES.glob("*.yaml"):
        spec = load_document(path.read_text()).data["spec"]
        types |= {node["type"] for node in spec["nodes"]}
        triggers |= {trigger["type"] for trigger in spec.get("triggers", [])}
        ported = ported or any("port" in edge for edge in spec["edges"])
    assert {"http", "transform", "llm", "switch", "merge", "condition", "webhook_response"} <= types
    assert {"cron", "webhook", "event", "manual"} <= triggers
    assert ported


# ----------------------------------------------------------------------------- robustness

_ODD_VALUES: list[Any] = [None, 7, [], {"a": [1]}, "$.a || {{"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@pytest.mark.parametrize(
    "name",
    ["mbflow_user_onboarding.yaml", "mbflow_ticket_router.yaml", "magic_flow_order_processing.yaml",
     "magic_flow_data_sync.yaml"],
)
def test_conversion_survives_any_value_in_the_wrong_place(name: str) -> None:
    """GIVEN a seed document with one value replaced by something of another shape
    WHEN it is converted THEN conversion returns a document (validation reports the rest)."""
    text = _fixture(name)
    data, marks = parse_yaml(text)
    for path in _paths(data)[1:]:
        for odd in _ODD_VALUES:
            mangled = copy.deepcopy(data)
            target = mangled
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = odd
            document, _, dialect, _ = convert(mangled, marks)
            assert dialect in ("mbflow", "magic_flow", "native"), path
            assert isinstance(document, dict), path
