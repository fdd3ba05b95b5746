"""The node-type catalog and the JSON Schema of the language."""

from __future__ import annotations

import jsonschema
import yaml

from workflows.catalog import NodeConfig, get_node_type, node_type, node_types
from workflows.spec import load_document, validate_document, workflow_json_schema

BUILT_IN = {
    "http", "transform", "condition", "switch", "merge", "foreach", "delay", "wait_until", "approval",
    "sub_workflow", "llm", "function", "log", "noop", "webhook_response", "fail",
}


def test_every_built_in_type_is_described() -> None:
    described = {t.name: t.to_dict() for t in node_types()}
    assert set(described) >= BUILT_IN
    for entry in described.values():
        assert entry["title"] and entry["category"] and entry["description"]
        assert entry["config_schema"]["type"] == "object"
    assert described["http"]["config_schema"]["required"] == ["url"]
    assert described["condition"]["output_ports"] == ["true", "false", "failure"]


def test_a_custom_type_registered_from_python_is_validated() -> None:
    @node_type("test_slack_message", title="Slack message", category="Integrations")
    class SlackConfig(NodeConfig):
        channel: str
        text: str

    assert get_node_type("test_slack_message").title == "Slack message"
    doc = ("apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: s}\nspec:\n  nodes:\n"
           "    - {id: a, type: test_slack_message, config: {channel: general}}\n")
    report = validate_document(load_document(doc))
    assert [(i.code, i.node_id) for i in report.errors] == [("invalid_config", "a")]
    assert "text" in report.errors[0].message


def test_the_json_schema_accepts_a_good_document_and_checks_configs() -> None:
    schema = workflow_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load("""
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: ok}
spec:
  nodes:
    - {id: a, type: http, config: {url: "https://x", method: POST}, timeout: 30s}
""")
    assert list(validator.iter_errors(good)) == []
    good["spec"]["nodes"][0]["config"]["method"] = "FETCH"
    assert list(validator.iter_errors(good))
