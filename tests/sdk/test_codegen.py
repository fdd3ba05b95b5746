"""Generated typed clients: `mbflow generate client` in Python (checked by mypy --strict, run
against a live server) and TypeScript (compiled by tsc --strict, run under node against a live
server); `GET /workflows/{id}/client` serves the same as a zip; `mbflow generate docs` writes
the workflow's OpenAPI document."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mbflow import Client
from mbflow.codegen.typescript import NODE_DIR
from tests.sdk.test_cli import cli
from tests.server_process import ServerProcess
from tests.workflows.api.documents import SPEC_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TSC = NODE_DIR / "node_modules" / ".bin" / "tsc"

GREETER = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: greeter, title: Greeter, description: Says hello}
spec:
  input_schema:
    type: object
    required: [name]
    properties:
      name: {type: string}
      tone: {type: string, enum: [plain, loud]}
  output_schema:
    type: object
    required: [greeting, length]
    properties:
      greeting: {type: string}
      length: {type: integer}
  nodes:
    - id: shape
      type: transform
      config:
        mapping:
          greeting: "Hello {{ input.name }}{{ '!' if input.tone == 'loud' else '' }}"
    - id: measure
      type: transform
      config: {mapping: {length: "{{ nodes.shape.output.greeting | length }}"}}
  edges:
    - {from: shape, to: measure}
  output:
    greeting: "{{ nodes.shape.output.greeting }}"
    length: "{{ nodes.measure.output.length }}"
"""

PYTHON_USE = """\
from mbflow import Client

from greeter_client import Functions, Input, Output, Steps, WorkflowFailed, run, start
from greeter_client.models import Tone
from user_onboarding_client import Functions as Onboarding
from user_onboarding_client import Input as OnboardingInput

with Client() as client:
    output: Output = run(client, Input(name="Ada", tone=Tone.loud))
    length: int = output.length
    print(output.greeting, length, Steps.SHAPE, Steps.MEASURE)
    execution = start(client, Input(name="Bo"))
    print(execution.id)

validate: str = Onboarding.UserService.VALIDATE_USER_DATA
executor: str = Onboarding.UserService.EXECUTOR
user = OnboardingInput(email="ada@example.com", name="Ada")
print(validate, executor, user.email, WorkflowFailed.__name__, Functions.__name__)
"""

TYPESCRIPT_USE = """\
import { run, start, Steps, WORKFLOW, ApiError } from "./index.js";
import type { Input, Output } from "./index.js";

const options = { baseUrl: process.env.MBFLOW_URL ?? "", apiKey: process.env.MBFLOW_API_KEY ?? "" };
const input: Input = { name: "Ada", tone: "loud" };
const output: Output = await run(options, input);
const length: number = output.length;
console.log(JSON.stringify({ greeting: output.greeting, length, step: Steps.SHAPE, workflow: WORKFLOW }));
const started = await start(options, { name: "Bo" });
console.log(started.status);
try {
  await start(options, { name: 7 } as unknown as Input);
} catch (error) {
  if (error instanceof ApiError) console.log(error.code);
}
declare const process: { env: Record<string, string | undefined> };
"""


@pytest.fixture(scope="module")
def greeter(server: ServerProcess) -> str:
    with Client(server.url, server.key) as client:
        client.workflows.create(GREETER)
    return "greeter"


def _env(server: ServerProcess, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return {**env, "MBFLOW_URL": server.url, "MBFLOW_API_KEY": server.key, **extra}


def test_the_python_client_type_checks_and_runs_against_the_server(server: ServerProcess, greeter: str,
                                                                   tmp_path: Path) -> None:
    made = cli("generate", "client", "--workflow", greeter, "--language", "python", "--output", str(tmp_path),
               server=server)
    assert made.returncode == 0, made.stderr
    # The Magic Flow seed as files: its workflow.yaml with its context.yaml's schemas.
    seed = cli("generate", "client", "--workflow", str(SPEC_FIXTURES / "magic_flow_seed_user_onboarding.yaml"),
               "--context", str(SPEC_FIXTURES / "magic_flow_seed_user_onboarding_context.yaml"), "--output",
               str(tmp_path))
    assert seed.returncode == 0, seed.stderr
    (tmp_path / "use.py").write_text(PYTHON_USE)

    checked = subprocess.run([str(BIN / "mypy"), "--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy"),
                              "use.py", "greeter_client", "user_onboarding_client"], cwd=tmp_path,
                             env=_env(server, MYPYPATH=str(ROOT)), capture_output=True, text=True, timeout=600,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    ran = subprocess.run([sys.executable, "use.py"], cwd=tmp_path, env=_env(server), capture_output=True, text=True,
                         timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "Hello Ada! 10 shape measure"
    assert lines[2] == "validateUserData user-service ada@example.com WorkflowFailed Functions"


@pytest.mark.skipif(not TSC.exists(), reason="run `make codegen` (npm ci in mbflow/codegen/node)")
def test_the_typescript_client_compiles_strictly_and_runs_under_node(server: ServerProcess, greeter: str,
                                                                     tmp_path: Path) -> None:
    made = cli("generate", "client", "--workflow", greeter, "--language", "typescript", "--output", str(tmp_path),
               server=server)
    assert made.returncode == 0, made.stderr
    (tmp_path / "src" / "main.ts").write_text(TYPESCRIPT_USE)
    compiled = subprocess.run([str(TSC), "-p", ".", "--strict"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(["node", "dist/main.js"], cwd=tmp_path, env=_env(server), capture_output=True, text=True,
                         timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    first, status, code = ran.stdout.splitlines()
    assert json.loads(first) == {"greeting": "Hello Ada!", "length": 10, "step": "shape", "workflow": "greeter"}
    assert status in ("running", "succeeded")
    assert code == "invalid_input"


def test_the_server_serves_the_client_as_a_zip(server: ServerProcess, greeter: str) -> None:
    with Client(server.url, server.key) as client:
        archive = zipfile.ZipFile(io.BytesIO(client.workflows.client(greeter, "python")))
        names = sorted(archive.namelist())
        assert names == ["greeter-client-python/greeter_client/__init__.py",
                         "greeter-client-python/greeter_client/client.py",
                         "greeter-client-python/greeter_client/models.py",
                         "greeter-client-python/greeter_client/py.typed"]
        models = archive.read("greeter-client-python/greeter_client/models.py").decode()
        assert "class Input(BaseModel):" in models and "greeting: str" in models
        if TSC.exists():
            typescript = zipfile.ZipFile(io.BytesIO(client.workflows.client(greeter, "typescript")))
            assert "greeter-client-typescript/src/types.ts" in typescript.namelist()
    with server.client() as http:
        refused = http.get("/api/v1/workflows/greeter/client?language=cobol")
        assert refused.status_code == 400 and "language" in refused.json()["error"]["details"]["fields"]
        assert http.get("/api/v1/workflows/no-such/client").status_code == 404
        # What curl -H 'Accept: application/zip' or a download tool asks is served, not refused with 406.
        zipped = http.get("/api/v1/workflows/greeter/client", headers={"Accept": "application/zip"})
        assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == names
        missing = http.get("/api/v1/workflows/no-such/client", headers={"Accept": "application/zip"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        exported = http.get("/api/v1/workflows/greeter/export", headers={"Accept": "text/yaml"})
        assert exported.status_code == 200 and "kind: Workflow" in exported.text


def test_generate_docs_writes_the_workflows_openapi_with_its_schemas(server: ServerProcess, greeter: str,
                                                                     tmp_path: Path) -> None:
    target = tmp_path / "greeter.openapi.json"
    done = cli("generate", "docs", "--workflow", greeter, "--output", str(target), server=server)
    assert done.returncode == 0, done.stderr
    document = json.loads(target.read_text())
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": server.url}]
    execute = document["paths"]["/api/v1/workflows/greeter/execute"]["post"]
    assert execute["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExecuteRequest"}
    with Client(server.url, server.key) as client:
        spec = client.workflows.get(greeter).spec["spec"]
    assert document["components"]["schemas"]["Input"] == spec["input_schema"]
    assert document["components"]["schemas"]["Output"] == spec["output_schema"]
    # The document describes what the server answers: the execute call, made as it says.
    with server.client() as http:
        answer = http.post("/api/v1/workflows/greeter/execute", json={"input": {"name": "Cy"}, "wait": 30})
    assert str(answer.status_code) in execute["responses"]
    assert set(document["components"]["schemas"]["Execution"]["required"]) <= set(answer.json())
