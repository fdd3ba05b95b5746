"""The `mbflow` console script, run as a user runs it (a subprocess), against a live server and
in process (--local)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
import psycopg
import pytest
import yaml

from mbflow import Client
from tests.sdk.conftest import hello, slow
from tests.server_process import ServerProcess, _admin_url
from tests.workflows.api.documents import CYCLE, magic_flow_user_onboarding

MBFLOW = str(Path(sys.executable).parent / "mbflow")
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, server: ServerProcess | None = None, env: dict[str, str] | None = None, cwd: Path | None = None,
        stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `mbflow ARGS` with a clean configuration: the server's URL and key when given."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("MBFLOW_URL", "MBFLOW_API_KEY", "MBFLOW_PROFILE", "DJANGO_SETTINGS_MODULE")}
    environment.update({"MBFLOW_CONFIG": "/nonexistent/mbflow.toml", "COLUMNS": "200", "NO_COLOR": "1"})
    if server is not None:
        environment.update({"MBFLOW_URL": server.url, "MBFLOW_API_KEY": server.key})
    environment.update(env or {})
    return subprocess.run([MBFLOW, *args], env=environment, cwd=cwd or ROOT, input=stdin, capture_output=True,
                          text=True, timeout=timeout, check=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


COMMANDS = [[], ["start"], ["validate"], ["convert"], ["fmt"], ["import"], ["export"], ["list"], ["diff"],
            ["rollback"], ["run"], ["worker"], ["executions"], ["executions", "list"], ["executions", "show"],
            ["executions", "logs"], ["executions", "cancel"], ["executions", "retry"], ["events"],
            ["events", "send"], ["generate"], ["generate", "client"], ["generate", "docs"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "mbflow")
def test_every_command_has_help(command: list[str]) -> None:
    done = cli(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: mbflow" in done.stdout
    if not command:
        assert "Exit codes: 0 done" in done.stdout  # the codes of docs/cli.md


@pytest.mark.parametrize("where", ["local", "remote"])
def test_validate_prints_file_line_col_code_message_and_exits_1(where: str, server: ServerProcess,
                                                                tmp_path: Path) -> None:
    bad = tmp_path / "loop.yaml"
    bad.write_text(CYCLE)
    good = tmp_path / "hello.yaml"
    good.write_text(hello("fine"))
    done = cli("validate", str(good), str(bad), server=server if where == "remote" else None)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(re.match(rf"^{re.escape(str(bad))}:\d+:\d+: \w+ ", line) for line in lines), lines
    cycle = next(line for line in lines if ": cycle " in line)
    line_number = int(cycle.split(":")[1])
    assert "b" in CYCLE.splitlines()[line_number - 1]  # points into the cycle's part of the file
    assert "2 file(s) checked, 1 invalid" in done.stderr

    fine = cli("validate", "--json", str(good), server=server if where == "remote" else None)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)[0]["valid"] is True


@pytest.mark.parametrize("where", ["local", "remote"])
def test_convert_writes_a_seed_file_as_native_yaml(where: str, server: ServerProcess, tmp_path: Path) -> None:
    seed = tmp_path / "workflow.yaml"
    seed.write_text(magic_flow_user_onboarding())
    done = cli("convert", str(seed), server=server if where == "remote" else None)
    assert done.returncode == 0, done.stderr
    native = yaml.safe_load(done.stdout)
    assert native["apiVersion"] == "mbflow/v1" and native["metadata"]["name"] == "user-onboarding"
    assert {node["id"] for node in native["spec"]["nodes"]} >= {"validate-user", "create-account"}


def test_fmt_rewrites_a_file_canonically_and_check_says_so(tmp_path: Path) -> None:
    path = tmp_path / "messy.yaml"
    path.write_text("spec:\n  nodes:\n  - {type: noop, id: a}\nkind: Workflow\nmetadata: {name: messy}\n"
                    "apiVersion: mbflow/v1\n")
    assert cli("fmt", "--check", str(path)).returncode == 1
    done = cli("fmt", str(path))
    assert done.returncode == 0 and "reformatted" in done.stderr
    text = path.read_text()
    assert text.startswith("apiVersion: mbflow/v1\nkind: Workflow\n")
    assert "- id: a\n" in text
    assert cli("fmt", "--check", str(path)).returncode == 0


def test_fmt_leaves_a_file_with_comments_unless_told_to_drop_them(tmp_path: Path) -> None:
    path = tmp_path / "noted.yaml"
    original = ("kind: Workflow\napiVersion: mbflow/v1\nmetadata: {name: noted}  # the CRM sync\n"
                "spec:\n  nodes:\n  - {type: transform, id: a, config: {mapping: {tag: '#not-a-comment'}}}\n")
    path.write_text(original)
    kept = cli("fmt", str(path))
    assert kept.returncode == 1 and "has comments" in kept.stderr
    assert path.read_text() == original
    assert cli("fmt", "--check", str(path)).returncode == 1  # it would still change
    done = cli("fmt", "--drop-comments", str(path))
    assert done.returncode == 0 and "reformatted" in done.stderr
    assert "# the CRM sync" not in path.read_text() and "#not-a-comment" in path.read_text()
    hashed = tmp_path / "hashed.yaml"  # a '#' inside values is no comment: formatted as usual
    hashed.write_text("kind: Workflow\napiVersion: mbflow/v1\nmetadata: {name: hashed}\n"
                      "spec:\n  nodes:\n  - {type: transform, id: a, config: {mapping: {tag: 'a #b', u: x#y}}}\n")
    assert cli("fmt", str(hashed)).returncode == 0


def test_import_list_export_diff_rollback(server: ServerProcess, tmp_path: Path) -> None:
    name = unique("cli")
    first, second = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    first.write_text(hello(name))
    second.write_text(hello(name, "Hi"))
    done = cli("import", str(first), server=server)
    assert done.returncode == 0 and f"created {name} v1" in done.stdout, done.stderr
    done = cli("import", "-m", "hi", str(second), server=server)
    assert done.returncode == 3 and "name_taken" in done.stderr  # import creates; a new version is a PUT
    with Client(server.url, server.key) as client:
        client.workflows.update(name, second.read_text(), message="hi")
    listed = cli("list", "--json", "--search", name, server=server)
    assert [w["name"] for w in json.loads(listed.stdout)] == [name]
    assert name in cli("list", server=server).stdout
    exported = cli("export", name, "--version", "1", server=server)
    assert exported.returncode == 0 and "Hello {{ input.name }}" in exported.stdout
    diff = cli("diff", name, "1", "2", server=server)
    assert diff.returncode == 0 and "-" in diff.stdout and "nodes changed: shape" in diff.stderr
    back = cli("rollback", name, "1", "-m", "back", server=server)
    assert back.returncode == 0 and "v3 is now active" in back.stdout
    missing = cli("export", unique("nope"), server=server)
    assert missing.returncode == 3 and "not_found" in missing.stderr


def test_run_waits_shows_progress_lines_and_exits_by_the_outcome(server: ServerProcess, tmp_path: Path) -> None:
    name = unique("cli-run")
    with Client(server.url, server.key) as client:
        client.workflows.create(hello(name))
    done = cli("run", name, "--input", '{"name": "Ada"}', "--wait", server=server)
    assert done.returncode == 0, done.stderr
    assert "execution " in done.stdout and ": succeeded" in done.stdout
    assert json.loads(done.stdout.split("\n", 1)[1]) == {"greeting": "Hello Ada"}
    # Not a terminal: one plain line per event, in order.
    events = [line.split() for line in done.stderr.splitlines() if re.match(r"^\d\d:\d\d:\d\d +\d+ ", line)]
    assert [int(e[1]) for e in events] == list(range(1, len(events) + 1))
    assert ["node.succeeded", "shape"] in [e[2:4] for e in events]

    (tmp_path / "input.json").write_text('{"nom": "Ada"}')
    refused = cli("run", name, "--input", f"@{tmp_path / 'input.json'}", "--wait", server=server)
    assert refused.returncode == 3 and "invalid_input" in refused.stderr

    started = cli("run", name, "--input", '{"name": "Bo"}', server=server)
    assert started.returncode == 0
    execution_id = started.stdout.strip()
    shown = cli("executions", "show", execution_id, "--json", server=server)
    assert json.loads(shown.stdout)["id"] == execution_id


def test_a_failed_run_exits_1_and_a_run_past_its_timeout_exits_5(server: ServerProcess, tmp_path: Path) -> None:
    failing = tmp_path / "fail.yaml"
    failing.write_text("apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: boom}\nspec:\n  nodes:\n"
                       "    - {id: boom, type: fail, config: {message: Boom}}\n")
    done = cli("run", str(failing), "--wait", server=server)
    assert done.returncode == 1 and ": failed" in done.stdout and "Boom" in done.stderr
    name = unique("cli-slow")
    with Client(server.url, server.key) as client:
        client.workflows.create(slow(name, "30s"))
    late = cli("run", name, "--wait", "--timeout", "1", "--json", server=server)
    assert late.returncode == 5
    execution = json.loads(late.stdout)
    assert execution["status"] == "running"
    cancelled = cli("executions", "cancel", execution["id"], server=server)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    logs = cli("executions", "logs", execution["id"], server=server)
    assert logs.returncode == 0 and "execution.cancelled" in logs.stdout
    listed = cli("executions", "list", "--workflow", name, "--json", server=server)
    assert [e["status"] for e in json.loads(listed.stdout)] == ["cancelled"]
    narrow = cli("executions", "list", "--workflow", name, "--status", "cancelled", server=server,
                 env={"COLUMNS": "60"})
    assert narrow.returncode == 0 and execution["id"] in narrow.stdout  # an id is never cut to fit
    not_failed = cli("executions", "retry", execution["id"], server=server)
    assert not_failed.returncode == 3 and "not_failed" in not_failed.stderr


def test_run_local_runs_a_file_in_process(tmp_path: Path) -> None:
    path = tmp_path / "hello.yaml"
    path.write_text(hello("local-hello"))
    done = cli("run", "--local", str(path), "--input", '{"name": "Ada"}', env={"DATABASE_URL": "postgresql://x@/x"})
    assert done.returncode == 0, done.stderr
    assert ": succeeded" in done.stdout and '"greeting": "Hello Ada"' in done.stdout
    assert not list(tmp_path.glob("*.sqlite3")) and not (ROOT / "mbflow.sqlite3-wal").exists()


LOCAL_WORKER = '''\
import mbflow

worker = mbflow.Worker(executor="user-service")

@worker.function("validateUserData")
def validate(data: dict) -> dict:
    return {"valid": "@" in data["user_data"]["email"], "errors": []}

@worker.function("createUserAccount", executor="account-service")
def create(data: dict) -> dict:
    return {"user_id": "u-" + data["email"].split("@")[0], "status": "created"}

@worker.function("verifyUser", executor="verification-service")
def verify(data: dict) -> dict:
    return {"verified": True}

@worker.function("sendWelcomeEmail", executor="notification-service")
def welcome(data: dict) -> dict:
    return {"sent": True, "to": data["email"]}
'''


def test_run_local_serves_the_seeds_function_steps_with_a_worker_module(tmp_path: Path) -> None:
    (tmp_path / "seed_worker.py").write_text(LOCAL_WORKER)
    seed = tmp_path / "workflow.yaml"
    seed.write_text(magic_flow_user_onboarding())
    done = cli("run", "--local", str(seed), "--worker", "seed_worker:worker", "--json", "--input",
               '{"email": "ada@example.com", "name": "Ada", "preferences": {}}', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    steps = {step["node_id"]: step for step in execution["steps"]}
    assert steps["send-welcome-email"]["output"] == {"sent": True, "to": "ada@example.com"}
    assert steps["create-account"]["status"] == "succeeded"


def test_where_the_server_is_comes_from_flags_env_or_a_profile(server: ServerProcess, tmp_path: Path) -> None:
    profiles = tmp_path / "config.toml"
    profiles.write_text(f'profile = "dev"\n\n[profiles.dev]\nurl = "{server.url}"\napi_key = "{server.key}"\n\n'
                        '[profiles.broken]\nurl = "http://127.0.0.1:9"\napi_key = "x"\n')
    config = {"MBFLOW_CONFIG": str(profiles)}
    assert cli("list", "--json", env=config).returncode == 0  # the file's default profile
    unreachable = cli("--profile", "broken", "list", env=config)
    assert unreachable.returncode == 4 and "Could not reach" in unreachable.stderr
    assert cli("--profile", "nope", "list", env=config).returncode == 3
    flags = cli("--url", server.url, "--api-key", server.key, "--profile", "broken", "list", "--json", env=config)
    assert flags.returncode == 0, flags.stderr  # flags win over the profile
    bad_key = cli("list", server=server, env={"MBFLOW_API_KEY": "wrong"})
    assert bad_key.returncode == 3 and "401" in bad_key.stderr


EVENT_WORKFLOW = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: NAME}
spec:
  nodes:
    - {id: shape, type: transform, config: {mapping: {order: "{{ input.order }}"}}}
  output: "{{ nodes.shape.output }}"
  triggers:
    - {type: event, event: TYPE}
"""


def test_events_send_starts_the_workflows_listening_or_says_the_api_is_missing(server: ServerProcess) -> None:
    served = "/api/v1/events/" in httpx.get(f"{server.url}/api/schema/?format=json", timeout=30).json()["paths"]
    kind = f"order.{uuid.uuid4().hex[:6]}"
    if served:
        with Client(server.url, server.key) as client:
            client.workflows.create(EVENT_WORKFLOW.replace("NAME", unique("on-order")).replace("TYPE", kind))
    done = cli("events", "send", kind, "--data", '{"order": 7}', "--json", server=server)
    if not served:
        assert done.returncode == 6 and "no events API" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert len(answer["executions"]) == 1, answer
    with Client(server.url, server.key) as client:
        finished = client.executions.wait(answer["executions"][0]["execution"], timeout=60)
    assert finished.output == {"order": 7}
    event_id = unique("ev")
    plain = cli("events", "send", kind, "--data", '{"order": 8}', "--id", event_id, server=server)
    assert plain.returncode == 0 and plain.stdout.startswith(f"event {kind} {event_id}: started 1 execution(s): ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_start_serves_the_site_until_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL")}
    settings = tmp_path / "mbflow.env"
    settings.write_text(f"# settings\nDATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
                        "MBFLOW_ADMIN_PASSWORD='pw-Secret-1'\n")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen([MBFLOW, "start", "--port", str(port), "--host", "127.0.0.1", "--config",
                                str(settings)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mbflow start did not serve /health"
            time.sleep(0.2)
        assert (tmp_path / "db.sqlite3").exists()  # the --config file's DATABASE_URL
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def _processes_with(variable: str) -> list[int]:
    """The processes whose environment has ``variable`` (KEY=VALUE): what `mbflow start` began."""
    found = []
    for folder in Path("/proc").iterdir():
        try:
            if folder.name.isdigit() and variable.encode() in (folder / "environ").read_bytes().split(b"\0"):
                found.append(int(folder.name))
        except OSError:
            continue
    return found


def test_start_with_workers_runs_the_nodes_on_its_own_celery_worker(tmp_path: Path) -> None:
    """GIVEN a broker WHEN `mbflow start --workers 2` serves THEN a run started through the API is
    carried out by the Celery worker it began (the dispatcher is Celery: nothing else runs nodes),
    and SIGTERM stops the server and the worker."""
    given = os.environ.get("DATABASE_URL", "")
    if not (os.environ.get("REDIS_URL") and given.startswith(("postgres://", "postgresql://"))):
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis or PostgreSQL is missing")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    database = f"mbflow_start_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(given), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    prefix = f"MBFLOW_QUEUE_PREFIX=start{uuid.uuid4().hex[:8]}"
    port, key = _free_port(), f"start-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "MBFLOW_DISPATCHER")}
    env.update({"DATABASE_URL": urlunparse(urlparse(given)._replace(path=f"/{database}")), "API_KEYS": key,
                "CELERY_BROKER_URL": os.environ["REDIS_URL"], "MBFLOW_ADMIN_PASSWORD": "pw-Secret-1",
                "MBFLOW_QUEUE_PREFIX": prefix.split("=", 1)[1]})
    log = (tmp_path / "start.log").open("wb")
    process = subprocess.Popen([MBFLOW, "start", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"],
                               env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while b" ready." not in (tmp_path / "start.log").read_bytes() or not _healthy(url):
            assert process.poll() is None, (tmp_path / "start.log").read_text()
            assert time.monotonic() < deadline, "mbflow start --workers did not come up"
            time.sleep(0.2)
        assert len(_processes_with(prefix)) >= 3  # mbflow start, uvicorn, the Celery worker
        with Client(url, key) as client:
            client.workflows.create(slow("on-celery", "200ms"))
            execution = client.executions.start("on-celery", wait=60)
        assert execution.status == "succeeded" and execution.output == {"done": True}
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        deadline = time.monotonic() + 30
        while _processes_with(prefix):  # the worker and uvicorn stop with it
            assert time.monotonic() < deadline, _processes_with(prefix)
            time.sleep(0.2)
    finally:
        for pid in _processes_with(prefix):
            os.kill(pid, signal.SIGKILL)
        log.close()
        with psycopg.connect(_admin_url(given), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


SYNTAX_ERROR = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: x\nspec: [\n"  # line 4 col 5


@pytest.mark.parametrize("where", ["local", "remote"])
def test_a_file_that_is_not_a_document_is_reported_where_it_breaks_and_the_others_still_checked(
        where: str, server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "syntax.yaml").write_text(SYNTAX_ERROR)
    (tmp_path / "scalar.yaml").write_text("just a string\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "good.yaml").write_text(hello("fine"))
    files = ["syntax.yaml", "good.yaml", "scalar.yaml", "empty.yaml"]
    given = server if where == "remote" else None
    done = cli("validate", *files, server=given, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines() == [
        "syntax.yaml:4:5: yaml_syntax While parsing a flow mapping did not find expected ',' or '}'.",
        "scalar.yaml:1:1: not_a_mapping A workflow document is a mapping, not a str.",
        "empty.yaml:1:1: not_a_mapping The document is empty."]
    assert "4 file(s) checked, 3 invalid, 3 error(s)" in done.stderr
    reports = json.loads(cli("validate", "--json", *files, server=given, cwd=tmp_path).stdout)
    assert [(r["file"], r["valid"]) for r in reports] == [(f, f == "good.yaml") for f in files]
    assert reports[0]["errors"][0] | {"message": ""} == {
        "code": "yaml_syntax", "message": "", "severity": "error", "node_id": None, "edge": None, "path": None,
        "line": 4, "column": 5}

    converted = cli("convert", "syntax.yaml", server=given, cwd=tmp_path)
    assert converted.returncode == 1 and converted.stdout == ""
    assert converted.stderr.startswith("syntax.yaml:4:5: yaml_syntax ")


def test_fmt_reports_a_broken_file_and_formats_the_rest(tmp_path: Path) -> None:
    (tmp_path / "syntax.yaml").write_text(SYNTAX_ERROR)
    (tmp_path / "messy.yaml").write_text("kind: Workflow\napiVersion: mbflow/v1\nmetadata: {name: messy}\n"
                                         "spec:\n  nodes:\n  - {type: noop, id: a}\n")
    done = cli("fmt", "syntax.yaml", "messy.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "syntax.yaml:4:5: yaml_syntax " in done.stderr and "reformatted messy.yaml" in done.stderr
    assert (tmp_path / "messy.yaml").read_text().startswith("apiVersion: mbflow/v1\n")
    assert (tmp_path / "syntax.yaml").read_text() == SYNTAX_ERROR


def test_bad_input_gets_a_message_and_its_exit_code_never_a_traceback(server: ServerProcess, tmp_path: Path) -> None:
    """What a user gets wrong: each a one-line error naming the problem and the documented code."""
    (tmp_path / "syntax.yaml").write_text(SYNTAX_ERROR)
    (tmp_path / "binary.yaml").write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00")
    (tmp_path / "hello.yaml").write_text(hello("bad-input"))
    down = {"MBFLOW_URL": "http://127.0.0.1:9"}
    cases: list[tuple[list[str], dict[str, str], int, str]] = [
        (["run", "hello.yaml", "--input", "{bad"], {}, 2, "--input is not JSON: Expecting property name"),
        (["run", "hello.yaml", "--input", "@nowhere.json"], {}, 2, "cannot read --input from nowhere.json"),
        (["events", "send", "x", "--data", "[1,"], {}, 2, "--data is not JSON"),
        (["validate", "missing.yaml"], {}, 2, "does not exist"),
        (["executions", "list", "--status", "bogus"], {}, 2, "'bogus' is not one of 'pending'"),
        (["run", "--local", "missing.yaml"], {}, 2, "missing.yaml is not a file"),
        (["validate", "binary.yaml"], {}, 2, "binary.yaml is not UTF-8 text"),
        (["run", "missing.yaml", "--wait"], {}, 3, "no workflow named 'missing.yaml' on the server, and no file"),
        (["run", "no-such-workflow", "--wait"], {}, 3, "No workflow 'no-such-workflow'. (404 not_found)"),
        (["run", "syntax.yaml", "--wait"], {}, 3, "syntax.yaml:4:5: yaml_syntax While parsing"),
        (["run", "--local", "syntax.yaml"], {}, 3, "syntax.yaml:4:5: yaml_syntax While parsing"),
        (["import", "syntax.yaml"], {}, 3, "syntax.yaml:4:5: yaml_syntax While parsing"),
        (["generate", "client", "--workflow", "syntax.yaml"], {}, 3, "syntax.yaml:4:5: yaml_syntax"),
        (["executions", "show", "not-an-id"], {}, 3, "(404 not_found)"),
        (["list"], {"MBFLOW_API_KEY": "wrong"}, 3, "Invalid or revoked API key. (401 authentication_failed)"),
        (["list"], {"MBFLOW_URL": "localhost:8181"}, 3, "The server URL 'localhost:8181' given needs its scheme"),
        (["run", "hello.yaml", "--wait"], down, 4, "Could not reach the MBFlow server at http://127.0.0.1:9"),
        (["executions", "list"], down, 4, "Could not reach the MBFlow server"),
    ]
    for args, env, code, message in cases:
        done = cli(*args, server=server, env=env, cwd=tmp_path)
        assert (done.returncode, "Traceback" in done.stderr) == (code, False), (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)


def test_run_local_shows_its_progress_and_resumes_a_delay(tmp_path: Path) -> None:
    (tmp_path / "slow.yaml").write_text(slow("local-slow", "200ms"))
    done = cli("run", "--local", "slow.yaml", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr and " ERROR " not in done.stderr, done.stderr
    assert ": succeeded" in done.stdout and '"done": true' in done.stdout
    # Not a terminal: one plain line per event of the run, in order, as on a server.
    events = [line.split() for line in done.stderr.splitlines() if re.match(r"^\d\d:\d\d:\d\d +\d+ ", line)]
    assert [int(e[1]) for e in events] == list(range(1, len(events) + 1))
    assert ["node.succeeded", "pause"] in [e[2:4] for e in events] and events[-1][2] == "execution.succeeded"
    lines = [line for line in done.stderr.splitlines() if re.match(r"^\d\d:\d\d:\d\d +\d+ ", line)]
    assert not [line for line in lines if line != line.rstrip()]  # no trailing blank where no duration is known


def test_in_a_terminal_run_draws_the_nodes_ticking_over_and_a_bar(tmp_path: Path) -> None:
    """Standard error a terminal (a pty): a live table of the nodes with their durations and a
    bar of the nodes done, redrawn in place as the run goes, instead of plain lines."""
    (tmp_path / "slow.yaml").write_text(slow("tty-slow", "300ms"))
    environment = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "NO_COLOR")}
    environment.update({"MBFLOW_CONFIG": "/nonexistent/mbflow.toml", "COLUMNS": "120", "TERM": "xterm"})
    main, secondary = os.openpty()
    process = subprocess.Popen([MBFLOW, "run", "--local", "slow.yaml"], cwd=tmp_path, env=environment,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the pty closed: the process is done
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    assert process.wait(120) == 0
    assert process.stdout is not None and ": succeeded" in process.stdout.read().decode()
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode(errors="replace"))
    assert "\x1b[1A" in drawn.decode(errors="replace")  # redrawn in place (cursor up), not appended
    assert not re.search(r"^\d\d:\d\d:\d\d +\d+ ", screen, re.MULTILINE)  # no plain event lines
    final = screen[screen.rindex("node"):]
    for node in ("first", "pause", "last"):
        assert re.search(rf"{node}\s+succeeded\s+1\s+\d+\.\d\ds", final), final
    assert re.search(r"^succeeded .*━+ 3/3 ", final, re.MULTILINE), final  # the bar: the run's status, 3 of 3 done
