"""Node outputs over the payload limit: kept in the payload store, referenced by the events, read
back by expressions and served by the API's download link, to their tenant only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent
from executions.services import retention, verification
from executions.services.verification import executions_to_verify
from tests.executions.conftest import Run, Store, doc

BIG = doc("big-output", """
  payload_limit: 1KiB
  retention: {succeeded: 1h}
  nodes:
    - {id: big, type: transform, config: {mapping: {text: "{{ input.text }}", n: "{{ input.n }}"}}}
    - {id: small, type: transform, config: {mapping: {length: "{{ nodes.big.output.text | length }}",
                                                       n: "{{ upstream.n + 1 }}"}}}
  edges:
    - {from: big, to: small, condition: "{{ output.n > 0 }}"}
  output: {length: "{{ nodes.small.output.length }}", head: "{{ nodes.big.output.text[:3] }}",
           n: "{{ nodes.small.output.n }}"}
""")


@pytest.fixture(autouse=True)
def payload_store(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = {**settings.STORAGES, "payloads": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


def _succeeded_event(execution_id: str, node_id: str) -> dict[str, Any]:
    return ExecutionEvent.objects.get(execution_id=execution_id, node_id=node_id, type="node.succeeded").payload


def test_an_output_over_the_limit_is_kept_outside_the_event_and_read_back_by_expressions(
        embedded: object, store: Store, run: Run, editor: APIClient, payload_store: Path) -> None:
    store(BIG)
    text = "x" * 4000
    execution = run("big-output", {"text": text, "n": 1}, expect=200)
    assert execution["status"] == "succeeded", execution["error"]
    # Expressions read it whole: nodes.big.output, upstream, the edge's condition, the output.
    assert execution["output"] == {"length": 4000, "head": "xxx", "n": 2}
    # The event holds a reference, with the size and the limit, not the 4 KB.
    reference = _succeeded_event(execution["id"], "big")["output"]["$offloaded"]
    assert reference["limit"] == 1024 and reference["size"] == len(json.dumps({"text": text, "n": 1},
                                                                               separators=(",", ":")))
    tenant_id = Execution.objects.get(pk=execution["id"]).tenant_id
    assert reference["key"].startswith(f"{tenant_id}/{execution['id']}/big.1.")
    assert (payload_store / reference["key"]).is_file()
    assert _succeeded_event(execution["id"], "small")["output"] == {"length": 4000, "n": 2}  # small: in the row
    # The API shows the reference with its download link, which serves the whole output.
    steps = {step["node_id"]: step for step in execution["steps"]}
    link = steps["big"]["output"]["$offloaded"]["url"]
    assert link.endswith(f"/api/v1/executions/{execution['id']}/steps/big/output")
    downloaded = editor.get(link[link.index("/api/"):])
    assert downloaded.status_code == 200 and downloaded["Content-Type"] == "application/json"
    assert json.loads(b"".join(downloaded.streaming_content)) == {"text": text, "n": 1}
    results = editor.get(f"/api/v1/executions/{execution['id']}/results").json()
    assert results["nodes"]["big"]["output"]["$offloaded"]["url"] == link
    # A step kept in the row downloads the same way.
    inline = editor.get(f"/api/v1/executions/{execution['id']}/steps/small/output")
    assert json.loads(b"".join(inline.streaming_content)) == {"length": 4000, "n": 2}
    # The log still folds to the rows.
    [checked] = verification.verify_executions(executions_to_verify(execution_id=execution["id"]))
    assert checked.matches, checked.lines()


def test_the_default_limit_is_the_servers_and_small_outputs_stay_in_the_row(
        embedded: object, store: Store, run: Run, settings: Any) -> None:
    store(BIG.replace("  payload_limit: 1KiB\n", ""))
    kept = run("big-output", {"text": "y" * 4000, "n": 1}, expect=200)
    assert _succeeded_event(kept["id"], "big")["output"] == {"text": "y" * 4000, "n": 1}  # under 1 MiB
    settings.MBFLOW_PAYLOAD_LIMIT = 2000
    offloaded = run("big-output", {"text": "y" * 4000, "n": 1}, expect=200)
    assert _succeeded_event(offloaded["id"], "big")["output"]["$offloaded"]["limit"] == 2000
    assert offloaded["output"]["length"] == 4000


def test_the_download_link_and_the_reference_serve_their_tenant_only(
        embedded: object, store: Store, run: Run, editor: APIClient, outsider: APIClient) -> None:
    store(BIG)
    execution = run("big-output", {"text": "z" * 4000, "n": 1}, expect=200)
    link = f"/api/v1/executions/{execution['id']}/steps/big/output"
    assert outsider.get(link).status_code == 404
    assert editor.get(link).status_code == 200
    key = _succeeded_event(execution["id"], "big")["output"]["$offloaded"]["key"]
    # A workflow of another tenant that writes the reference itself reads it as it wrote it.
    outsider.post("/api/v1/workflows", {"yaml": doc("forge", f"""
  nodes:
    - {{id: forged, type: transform, config: {{mapping: {{"$offloaded": {{key: "{key}", size: 9, limit: 1}}}}}}}}
    - {{id: reader, type: transform, config: {{mapping: {{seen: "{{{{ nodes.forged.output }}}}"}}}}}}
  edges: [{{from: forged, to: reader}}]
  output: "{{{{ nodes.reader.output.seen }}}}"
""")}, format="json")
    forged = outsider.post("/api/v1/executions", {"workflow": "forge", "input": {}, "wait": 10}, format="json").json()
    assert forged["status"] == "succeeded", forged["error"]
    assert "zzz" not in json.dumps(forged["output"]) and forged["output"]["$offloaded"]["key"] == key
    forged_link = f"/api/v1/executions/{forged['id']}/steps/forged/output"
    assert "zzz" not in b"".join(outsider.get(forged_link).streaming_content).decode()


def test_retention_deletes_the_payloads_with_their_execution(embedded: object, store: Store, run: Run,
                                                             editor: APIClient, payload_store: Path) -> None:
    store(BIG)
    execution = run("big-output", {"text": "w" * 4000, "n": 1}, expect=200)
    key = _succeeded_event(execution["id"], "big")["output"]["$offloaded"]["key"]
    assert (payload_store / key).is_file()
    assert retention.prune(timezone.now() + timedelta(hours=2)).executions == 1
    assert not (payload_store / key).exists()
    assert editor.get(f"/api/v1/executions/{execution['id']}/steps/big/output").status_code == 404


@pytest.mark.parametrize(("limit", "valid"), [("512KiB", True), ("2MB", True), (4096, True), ("0", False),
                                              ("lots", False), ("-1", False)])
def test_payload_limit_takes_sizes(editor: APIClient, limit: object, valid: bool, db: None) -> None:
    document = doc("sized", f"  payload_limit: {json.dumps(limit)}\n  nodes:\n    - {{id: a, type: noop}}\n")
    answer = editor.post("/api/v1/workflows/validate", {"yaml": document}, format="json").json()
    assert answer["valid"] is valid, answer
    if not valid:
        assert "payload_limit" in json.dumps(answer["errors"])
