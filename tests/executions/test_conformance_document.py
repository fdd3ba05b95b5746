"""Conformance of the document's own keys (apiVersion, kind, metadata, spec) and of durations:
each documented or defined key with what it does to a stored workflow and its runs.

The engine's policies under ``spec`` (timeout, timeout_action, defaults, compensation) are in
test_conformance_policies, ``spec.triggers`` in test_conformance_triggers.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from django.utils import timezone

from executions.models import Execution
from executions.services import retention
from tests.executions.conformance import Harness, Scenario, Seen, cases, group, missing, observe, steps

SECRET = "tok-conformance-5d4c"

DOCUMENT = """apiVersion: mbflow/v1
kind: Workflow
metadata:
  name: document-@tag
  title: Every key of the document
  description: A workflow that uses each key
  tags: [conformance, doc-@tag]
  annotations: {owner: team@example.com}
spec:
  input_schema: {type: object, required: [who], properties: {who: {type: string}}}
  output_schema: {type: object, required: [greeting], properties: {greeting: {type: string}}}
  variables: {greeting: "hello {{ input.who }}", token: "{{ secrets.CONFORMANCE_TOKEN }}", count: 3}
  nodes:
    - id: call
      type: http
      config: {url: "@url/echo?key=document-@tag", headers: {Authorization: "Bearer {{ vars.token }}"}}
    - {id: shape, type: transform, config: {mapping: {greeting: "{{ vars.greeting }}", count: "{{ vars.count }}"}}}
  edges:
    - {from: call, to: shape}
  output: {greeting: "{{ nodes.shape.output.greeting }}", count: "{{ nodes.shape.output.count }}",
           sent: "{{ nodes.call.output.body.authorization }}"}
"""
BAD_OUTPUT = """
  output_schema: {type: object, required: [greeting]}
  nodes:
    - {id: only, type: noop}
  output: {something: else}
"""
DURATIONS = ("500ms", "30s", "1m", "10m", "1h", "1d", "1h30m", "45")
COUNTED = """
  nodes: [{id: only, type: noop}]
  metrics:
    - {name: runs, type: counter, labels: {who: "{{ input.who }}"}}
    - {name: size, type: gauge, value: "{{ input.size }}", when: "{{ input.size > 0 }}"}
"""

KEPT = """
  retention: {succeeded: 1h, failed: 1d}
  nodes:
    - {id: first, type: noop}
    - {id: boom, type: fail, when: "{{ input.fail == true }}", config: {message: asked to}}
  edges: [{from: first, to: boom}]
"""


@group()
def document(h: Harness) -> Seen:
    created = h.admin.post("/api/v1/secrets", {"name": "CONFORMANCE_TOKEN", "value": SECRET}, format="json")
    assert created.status_code == 201, created.json()
    name = h.store(h.fill(DOCUMENT))["name"]
    execution = h.run(name, {"who": "ada"})
    before = Execution.objects.count()
    refused = h.editor.post("/api/v1/executions", {"workflow": name, "input": {"who": 3}}, format="json")
    created_after_refusal = Execution.objects.count() - before
    bad_output = h.run(h.put("bad-output", BAD_OUTPUT))
    probes = {
        "api_version": DOCUMENT.replace("mbflow/v1", "mbflow/v9"),
        "kind": DOCUMENT.replace("kind: Workflow", "kind: Pipeline"),
        "no_metadata": DOCUMENT.replace("metadata:\n  name: document-@tag\n", "metadata:\n"),
        "bad_name": DOCUMENT.replace("name: document-@tag", "name: Not A Slug"),
        "no_spec": DOCUMENT.split("spec:")[0],
        "unknown_key": DOCUMENT.replace("spec:\n", "spec:\n  surprise: 1\n"),
        "gauge_without_value": DOCUMENT.replace("spec:\n", "spec:\n  metrics: [{name: size, type: gauge}]\n"),
        "retention_zero": DOCUMENT.replace("spec:\n", "spec:\n  retention: {succeeded: 0s}\n"),
        "retention_unknown": DOCUMENT.replace("spec:\n", "spec:\n  retention: {skipped: 1d}\n"),
    }
    # Each approval waits for its `timeout`: the wait's end, in its event, shows the seconds read.
    waits = "".join(f"    - {{id: n{index}, type: approval, config: {{timeout: {text}}}}}\n"
                    for index, text in enumerate(DURATIONS))
    durations = h.put("durations", f"  nodes:\n{waits}")
    waiting = h.until(h.start(durations), lambda body: all(s["status"] == "waiting" for s in body["steps"]))
    assert h.editor.post(f"/api/v1/executions/{waiting['id']}/cancel").status_code == 200
    seconds = f"seconds-{h.tag}"  # saved as a document object (as the designer does), then exported
    saved = h.editor.post("/api/v1/workflows", {"document": {
        "apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": seconds},
        "spec": {"nodes": [{"id": "n", "type": "noop", "timeout": 45}]}}}, format="json")
    assert saved.status_code == 201, saved.json()
    waited = {event["node_id"]: (datetime.fromisoformat(event["payload"]["timeout_at"]) - event["time"])
              .total_seconds() for event in h.events(waiting["id"]) if event["type"] == "node.waiting"}
    counted = h.put("counted", COUNTED)
    for who, size in (("ada", 3), ("bob", 5), ("ada", 0)):
        h.run(counted, {"who": who, "size": size})
    kept = h.put("kept", KEPT)
    kept_runs = [h.run(kept), h.run(kept, {"fail": True})]
    pruned = [retention.prune(timezone.now() + timedelta(hours=hours)).executions for hours in (0.5, 2, 25)]
    gone_after = [[h.editor.get(f"/api/v1/executions/{run['id']}").status_code for run in kept_runs]]
    return {
        "name": name, "execution": execution, "steps": steps(execution),
        "request": h.calls(f"document-{h.tag}")[0],
        "refused": {"status": refused.status_code, **refused.json()}, "created_after_refusal": created_after_refusal,
        "bad_output": bad_output,
        "probes": {key: h.validate(h.fill(text)) for key, text in probes.items()},
        "workflow": h.editor.get(f"/api/v1/workflows/{name}").json(),
        "tagged": [w["name"] for w in h.editor.get("/api/v1/workflows", {"tag": f"doc-{h.tag}"}).json()["results"]],
        "exported": yaml.safe_load(h.editor.get(f"/api/v1/workflows/{name}/export").content),
        "waited": waited,
        "seconds_exported": yaml.safe_load(h.editor.get(f"/api/v1/workflows/{seconds}/export").content),
        "metrics": _observed(h, counted, "runs", 3),
        "kept_runs": [run["status"] for run in kept_runs], "pruned": pruned, "gone_after": gone_after,
    }


LARGE = """\
  payload_limit: 1KiB
  nodes:
    - {id: big, type: transform, config: {mapping: {text: "{{ input.text }}"}}}
    - {id: after, type: transform, config: {mapping: {length: "{{ upstream.text | length }}"}}}
  edges: [{from: big, to: after}]
  output: "{{ nodes.after.output.length }}"
"""


@group()
def large_outputs(h: Harness) -> Seen:
    execution = h.run(h.put("large", LARGE), {"text": "x" * 3000})
    return {
        "execution": execution,
        "events": {e["node_id"]: e["payload"] for e in h.events(execution["id"]) if e["type"] == "node.succeeded"},
        "probes": {"zero": h.validate(h.fill(DOCUMENT.replace("spec:\n", "spec:\n  payload_limit: 0\n"))),
                   "mib": h.validate(h.fill(DOCUMENT.replace("spec:\n", "spec:\n  payload_limit: 2MiB\n")))},
    }


def _observed(h: Harness, workflow: str, metric: str, count: int) -> dict[str, Any]:
    """The workflow's business metrics once ``metric`` has ``count`` observations (each is
    recorded as its run's end commits)."""
    deadline = time.monotonic() + 20
    while True:
        found = {entry["name"]: entry for entry in
                 h.editor.get(f"/api/v1/workflows/{workflow}/business-metrics").json()["metrics"]}
        if found[metric]["count"] >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _refused(seen: Seen, probe: str, *words: str) -> None:
    answer = seen["probes"][probe]
    assert not answer["valid"], answer
    text = str(answer["errors"])
    assert all(word in text for word in words), (words, answer["errors"])


def check_api_version(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded"  # mbflow/v1 is read as the native dialect
    assert not seen["probes"]["api_version"]["valid"]


def check_kind(seen: Seen) -> None:
    assert seen["workflow"]["name"] == seen["name"]  # a Workflow: stored as one
    assert not seen["probes"]["kind"]["valid"]


def check_metadata(seen: Seen) -> None:
    _refused(seen, "no_metadata", "name")


def check_name(seen: Seen) -> None:
    assert seen["workflow"]["name"] == seen["name"]
    assert seen["execution"]["workflow"]["name"] == seen["name"]  # run by its name
    _refused(seen, "bad_name", "name")


def check_title(seen: Seen) -> None:
    assert seen["workflow"]["title"] == "Every key of the document"


def check_description(seen: Seen) -> None:
    assert seen["workflow"]["description"] == "A workflow that uses each key"


def check_tags(seen: Seen) -> None:
    assert seen["workflow"]["tags"] == ["conformance", f"doc-{seen['name'].rsplit('-', 1)[1]}"]
    assert seen["tagged"] == [seen["name"]]  # listed by tag


def check_annotations(seen: Seen) -> None:
    assert seen["exported"]["metadata"]["annotations"] == {"owner": "team@example.com"}


def check_spec(seen: Seen) -> None:
    _refused(seen, "no_spec", "spec")
    _refused(seen, "unknown_key", "surprise")


def check_input_schema(seen: Seen) -> None:
    refused = seen["refused"]
    assert refused["status"] == 400 and refused["error"]["code"] == "invalid_input", refused
    assert "who" in str(refused["error"]), refused
    assert seen["created_after_refusal"] == 0  # nothing ran


def check_output_schema(seen: Seen) -> None:
    assert seen["execution"]["output"]["greeting"] == "hello ada"  # matches: kept
    bad = seen["bad_output"]
    assert (bad["status"], bad["error"]["code"]) == ("failed", "invalid_output"), bad["error"]


def check_variables(seen: Seen) -> None:
    assert seen["execution"]["output"]["greeting"] == "hello ada"  # rendered over the input
    assert seen["execution"]["output"]["count"] == 3  # native values stay native
    assert seen["request"]["headers"]["authorization"] == f"Bearer {SECRET}"  # a secret reaches the request
    assert seen["execution"]["output"]["sent"] == "Bearer [secret]"  # and nothing stored


def check_nodes(seen: Seen) -> None:
    assert {node: step["status"] for node, step in seen["steps"].items()} == {"call": "succeeded",
                                                                             "shape": "succeeded"}


def check_edges(seen: Seen) -> None:
    assert seen["steps"]["shape"]["started_at"] >= seen["steps"]["call"]["finished_at"]


def check_output(seen: Seen) -> None:
    assert seen["execution"]["output"] == {"greeting": "hello ada", "count": 3, "sent": "Bearer [secret]"}


def check_metrics(seen: Seen) -> None:
    _refused(seen, "gauge_without_value", "gauge needs `value`")
    runs, size = seen["metrics"]["runs"], seen["metrics"]["size"]
    assert (runs["type"], runs["count"], runs["value"]) == ("counter", 3, 3.0), runs
    assert {entry["labels"]["who"]: entry["sum"] for entry in runs["series"]} == {"ada": 2.0, "bob": 1.0}
    assert (size["type"], size["count"], size["last"], size["max"]) == ("gauge", 2, 5.0, 5.0), size  # `when`


def check_retention(seen: Seen) -> None:
    _refused(seen, "retention_zero", "retention.succeeded")
    _refused(seen, "retention_unknown", "skipped")
    assert seen["kept_runs"] == ["succeeded", "failed"]
    # After 30 minutes nothing goes; after 2 hours the succeeded run (1h); after 25 the failed one (1d).
    assert seen["pruned"] == [0, 1, 1], seen["pruned"]
    assert seen["gone_after"] == [[404, 404]]


def check_payload_limit(seen: Seen) -> None:
    assert seen["execution"]["status"] == "succeeded" and seen["execution"]["output"] == 3000
    reference = seen["events"]["big"]["output"]["$offloaded"]  # 3 KB over 1 KiB: kept outside the log
    assert reference["limit"] == 1024 and reference["size"] > 3000
    assert seen["events"]["after"]["output"] == {"length": 3000}  # read back by `upstream`
    _refused(seen, "zero", "payload_limit")
    assert seen["probes"]["mib"]["valid"], seen["probes"]["mib"]


SECONDS = {"500ms": 0.5, "30s": 30, "1m": 60, "10m": 600, "1h": 3600, "1d": 86400, "1h30m": 5400, "45": 45}


def check_duration(text: str) -> Any:
    def check(seen: Seen) -> None:
        node = f"n{DURATIONS.index(text)}"
        assert abs(seen["waited"][node] - SECONDS[text]) < 0.05, (text, seen["waited"][node])
        if text.isdigit():  # a number of seconds is kept as written on export
            [exported] = seen["seconds_exported"]["spec"]["nodes"]
            assert exported["timeout"] == int(text), exported

    return check


SCENARIOS: dict[str, Scenario] = {
    "document.apiVersion": Scenario(document, check_api_version),
    "document.kind": Scenario(document, check_kind),
    "document.metadata": Scenario(document, check_metadata),
    "document.spec": Scenario(document, check_spec),
    "metadata.name": Scenario(document, check_name),
    "metadata.title": Scenario(document, check_title),
    "metadata.description": Scenario(document, check_description),
    "metadata.tags": Scenario(document, check_tags),
    "metadata.annotations": Scenario(document, check_annotations),
    "spec.input_schema": Scenario(document, check_input_schema),
    "spec.output_schema": Scenario(document, check_output_schema),
    "spec.variables": Scenario(document, check_variables),
    "spec.nodes": Scenario(document, check_nodes),
    "spec.edges": Scenario(document, check_edges),
    "spec.output": Scenario(document, check_output),
    "spec.metrics": Scenario(document, check_metrics),
    "spec.retention": Scenario(document, check_retention),
    "spec.payload_limit": Scenario(large_outputs, check_payload_limit),
    **{f"duration.{'seconds' if text.isdigit() else text}": Scenario(document, check_duration(text))
       for text in DURATIONS},
}

# Defects reported to the lead: their tests are expected to fail, strictly (see conformance.cases).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(("name", "dispatcher"), list(cases(SCENARIOS, "document", KNOWN)))
def test_the_runtime_keeps_the_promise(name: str, dispatcher: str, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, missing(name)
    scenario.check(observe(request, scenario.group, dispatcher))
