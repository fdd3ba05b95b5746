"""mbflow.Client against a live server: workflows, executions, typed answers, typed errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import yaml

import mbflow
from mbflow import Client
from mbflow.models import Diff, Execution, Imported, Page, Results, Trigger, Validation, Workflow, WorkflowDetail
from tests.sdk.conftest import hello, slow
from tests.server_process import ServerProcess
from tests.workflows.api.documents import CYCLE, magic_flow_user_onboarding


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_workflow_goes_through_its_versions(client: Client) -> None:
    name = unique("greet")
    created = client.workflows.create(hello(name), message="first")
    assert isinstance(created, WorkflowDetail)
    assert created.name == name and created.version is not None and created.version.number == 1
    assert created.version.message == "first"

    updated = client.workflows.update(name, hello(name, "Hi"), message="hi")
    assert updated.version is not None and updated.version.number == 2
    listed = client.workflows.list(search=name)
    assert isinstance(listed, Page) and [w.name for w in listed.results] == [name]
    assert all(isinstance(w, Workflow) for w in listed.results)
    assert [v.number for v in client.workflows.versions(name).results] == [2, 1]
    assert "Hello" in client.workflows.version(name, 1).yaml

    diff = client.workflows.diff(name, 1, 2)
    assert isinstance(diff, Diff) and (diff.from_, diff.to) == (1, 2)
    assert diff.nodes.changed == ["shape"] and "-" in diff.unified

    rolled = client.workflows.rollback(name, 1, message="back")
    assert rolled.version is not None and rolled.version.number == 3
    assert "Hello {{ input.name }}" in client.workflows.export(name)
    assert "Hi {{ input.name }}" in client.workflows.export(name, version=2)

    client.workflows.delete(name)
    with pytest.raises(mbflow.NotFound) as missing:
        client.workflows.get(name)
    assert missing.value.status == 404 and missing.value.code == "not_found"


def test_validate_reports_each_issue_with_its_line(client: Client) -> None:
    report = client.workflows.validate(CYCLE)
    assert isinstance(report, Validation) and report.valid is False
    cycle = next(issue for issue in report.errors if issue.code == "cycle")
    assert cycle.line is not None and cycle.line > 1

    with pytest.raises(mbflow.InvalidWorkflow) as refused:
        client.workflows.create(CYCLE)
    assert refused.value.status == 400
    assert any(error["code"] == "cycle" and error["line"] for error in refused.value.errors)


def test_import_takes_a_seed_dialect_and_says_what_it_did(client: Client) -> None:
    name = unique("onboarding")
    seed = magic_flow_user_onboarding().replace("name: user-onboarding", f"name: {name}")
    imported = client.workflows.import_(seed)
    assert isinstance(imported, Imported) and imported.created
    assert imported.dialect == "magic_flow" and imported.workflow is not None
    assert imported.workflow.name == name
    assert {warning.node_id for warning in imported.warnings} >= {"create-guest-account"}
    with pytest.raises(mbflow.Conflict) as taken:
        client.workflows.create(seed)
    assert taken.value.code == "name_taken"


def test_an_execution_starts_waits_and_reads_back(client: Client) -> None:
    name = unique("greet")
    client.workflows.create(hello(name))
    execution = client.executions.start(name, {"name": "Ada"}, wait=30)
    assert isinstance(execution, Execution)
    assert execution.status == "succeeded" and execution.output == {"greeting": "Hello Ada"}
    assert execution.step("shape").status == "succeeded"

    results = client.executions.results(execution.id)
    assert isinstance(results, Results) and results.nodes["shape"].output == {"greeting": "Hello Ada"}
    events = client.executions.events(execution.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "execution.succeeded"
    assert client.executions.events(execution.id, after_seq=2)[0].seq == 3
    listed = client.executions.list(workflow=name)
    assert [e.id for e in listed.results] == [execution.id]

    again = client.executions.start(name, {"name": "Ada"}, wait=30, idempotency_key=f"k-{execution.id}")
    same = client.executions.start(name, {"name": "Bob"}, wait=30, idempotency_key=f"k-{execution.id}")
    assert same.id == again.id and same.output == {"greeting": "Hello Ada"}

    rerun = client.executions.rerun(execution.id, {"name": "Cy"}, wait=30)
    assert rerun.id != execution.id and rerun.output == {"greeting": "Hello Cy"}


def test_bad_input_is_a_validation_error_naming_the_field(client: Client) -> None:
    name = unique("greet")
    client.workflows.create(hello(name))
    with pytest.raises(mbflow.ValidationError) as refused:
        client.executions.start(name, {"nom": "Ada"})
    assert refused.value.status == 400 and refused.value.code == "invalid_input"
    assert "name" in refused.value.message


def test_the_stream_follows_a_run_live_and_resumes_from_a_seq(client: Client) -> None:
    name = unique("slow")
    client.workflows.create(slow(name, "1s"))
    execution = client.executions.start(name)
    assert execution.status == "running"  # the delay keeps it open while the stream starts
    seen = list(execution.stream())
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].type == "execution.succeeded"
    assert any(e.type == "node.succeeded" and e.node_id == "pause" for e in seen)

    resumed = list(client.executions.stream(execution.id, after_seq=3))
    assert [e.seq for e in resumed] == [e.seq for e in seen[3:]]
    assert execution.refresh().output == {"done": True}


def test_control_pause_resume_cancel(client: Client) -> None:
    name = unique("slow")
    client.workflows.create(slow(name, "30s"))
    execution = client.executions.start(name)
    with pytest.raises(mbflow.Conflict) as not_paused:
        client.executions.resume(execution.id)
    assert not_paused.value.code == "not_paused"
    assert client.executions.pause(execution.id).status == "paused"
    assert client.executions.resume(execution.id).status == "running"
    cancelled = client.executions.cancel(execution.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(mbflow.Conflict):
        client.executions.retry(execution.id)


def test_a_bad_key_and_a_viewer_key_raise_their_own_errors(server: ServerProcess, client: Client) -> None:
    with Client(server.url, "not-a-key") as stranger, pytest.raises(mbflow.AuthenticationError) as unknown:
        stranger.workflows.list()
    assert unknown.value.status == 401
    viewer_key = httpx.post(f"{server.url}/api/v1/keys", json={"name": unique("viewer"), "role": "viewer"},
                            headers={"Authorization": f"Bearer {server.key}"}).json()["key"]
    with Client(server.url, viewer_key) as viewer, pytest.raises(mbflow.PermissionDenied) as denied:
        viewer.workflows.create(hello(unique("nope")))
    assert denied.value.status == 403


def test_base_url_and_key_come_from_the_environment(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MBFLOW_URL", server.url + "/api/v1/")
    monkeypatch.setenv("MBFLOW_API_KEY", server.key)
    monkeypatch.setenv("MBFLOW_CONFIG", "/nonexistent/mbflow.toml")
    with Client() as sdk:
        assert sdk.me()["role"] == "admin"
    with pytest.raises(mbflow.ConfigError, match="needs its scheme"):
        Client("localhost:8181")  # refused at once, not tried four times as an unknown protocol


async def test_the_async_client_does_the_same(server: ServerProcess) -> None:
    name = unique("greet")
    async with mbflow.AsyncClient(server.url, server.key) as sdk:
        await sdk.workflows.create(hello(name))
        execution = await sdk.executions.start(name, {"name": "Ada"}, wait=30)
        assert execution.output == {"greeting": "Hello Ada"}
        types = [event.type async for event in execution.astream()]
        assert types[0] == "execution.created" and types[-1] == "execution.succeeded"
        assert (await execution.arefresh()).status == "succeeded"
        with pytest.raises(mbflow.NotFound):
            await sdk.executions.get(str(uuid.uuid4()))


TWO_STEPS = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME}
spec:
  nodes:
    - {id: first, type: transform, config: {mapping: {n: "{{ input.n }}"}}}
    - {id: second, type: transform, config: {mapping: {m: "{{ nodes.first.output.n * 10 }}"}}}
  edges:
    - {from: first, to: second}
  output: "{{ nodes.second.output }}"
  triggers:
    - {type: webhook, name: form}
"""


def test_replay_from_a_node_and_retry_a_failed_run(client: Client, tmp_path: Path) -> None:
    name = unique("two")
    (tmp_path / "two.yaml").write_text(TWO_STEPS.replace("NAME", name))
    assert client.workflows.create(tmp_path / "two.yaml").name == name  # a file
    first = client.executions.start(name, {"n": 2}, wait=30)
    assert first.output == {"m": 20}
    replayed = client.executions.replay(first.id, "second", wait=30)
    assert replayed.id != first.id and replayed.replay_of == first.id
    assert replayed.status == "succeeded" and replayed.output == {"m": 20}
    assert replayed.step("first").reused_from == first.id  # not run again

    failing = client.executions.start_adhoc("apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: boom}\n"
                                            "spec:\n  nodes:\n    - {id: boom, type: fail, config: {message: B}}\n",
                                            wait=30)
    assert failing.status == "failed"
    retried = client.executions.retry(failing.id, wait=30)
    assert retried.id == failing.id and retried.status == "failed" and retried.step("boom").attempt == 2


def test_triggers_and_secrets(client: Client) -> None:
    name = unique("hooked")
    assert client.workflows.create(yaml.safe_load(TWO_STEPS.replace("NAME", name))).name == name  # a mapping
    (hook,) = client.workflows.triggers(name)
    assert isinstance(hook, Trigger)
    assert (hook.type, hook.name, hook.workflow.name, hook.enabled) == ("webhook", "form", name, True)
    assert hook.id in {trigger.id for trigger in client.triggers.list()}
    assert client.triggers.disable(hook.id).enabled is False
    assert client.triggers.get(hook.id).enabled is False
    assert client.triggers.enable(hook.id).enabled is True
    with pytest.raises(mbflow.NotFound):
        client.triggers.get(str(uuid.uuid4()))

    secret = unique("TOKEN").upper().replace("-", "_")
    stored = client.secrets.set(secret, "s3cr3t-value")
    assert stored.name == secret and "s3cr3t-value" not in stored.model_dump_json()
    listed = client.secrets.list()
    assert secret in {item.name for item in listed}
    assert "s3cr3t-value" not in "".join(item.model_dump_json() for item in listed)
    client.secrets.delete(secret)
    assert secret not in {item.name for item in client.secrets.list()}
