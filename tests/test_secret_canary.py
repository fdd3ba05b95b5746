"""A secret cannot be read back: a canary pushed through every built-in filter, slicing,
methods, operators and loops, and sent whole to a real HTTP server, never shows up - nor any
form of it the test can compute - in the database, the server's log, the API's answers, the
server-sent events or the WebSocket feed. The HTTP server does get the real value."""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import sqlite3
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from websockets.sync.client import connect

from tests.executions.servers import LocalServer
from tests.server_process import ServerProcess, server_process
from workflows.spec.expressions.sandbox import ENV, LOOP_FILTER

CANARY = "cnry" + uuid.uuid4().hex  # 36 characters, none of them special to URLs or JSON

# Arguments for the filters that need some.
FILTER_ARGS = {
    "attr": "('x')", "batch": "(2)", "slice": "(2)", "groupby": "('x')", "map": "('upper')",
    "selectattr": "('x')", "rejectattr": "('x')", "replace": "('c', 'k')", "jmespath": "('@')",
    "add_hours": "(1)", "add_days": "(1)", "center": "(60)", "indent": "(2)", "wordwrap": "(5)",
    "truncate": "(10)", "join": "(',')", "format": "('x')", "round": "(1)", "int": "", "float": "",
}
OTHER_USES = [
    "{{ secrets.CANARY[:20] }}", "{{ secrets.CANARY[4:] }}", "{{ (secrets.CANARY ~ '')[:20] }}",
    "{{ (secrets.CANARY ~ '') | upper }}", "{{ ('Bearer ' ~ secrets.CANARY) | b64encode }}",
    "{{ secrets.CANARY.upper() }}", "{{ secrets.CANARY.replace('c', 'k') }}", "{{ secrets.CANARY.split('a') }}",
    "{{ '%s' % secrets.CANARY }}", "{{ '{}'.format(secrets.CANARY) }}", "{{ 'x'.join([secrets.CANARY, 'y']) }}",
    "{{ secrets.CANARY * 2 }}", "{{ secrets.CANARY == 'x' }}", "{{ 'c' in secrets.CANARY }}",
    "{{ secrets.CANARY | length }}", "{{ [secrets.CANARY] | join(',') }}", "{{ {'k': secrets.CANARY} | tojson }}",
    "{{ [secrets.CANARY] | map('upper') | list }}", "{{ secrets | tojson }}", "{{ secrets | dictsort }}",
    "{% for c in secrets.CANARY %}{{ c }}{% endfor %}", "{{ vars.token | b64encode }}", "{{ vars.token[::-1] }}",
    "{{ secrets.CANARY ~ secrets.CANARY | reverse }}", "{{ secrets.CANARY | default('x') }}", "{{ secrets }}",
    "{{ secrets.CANARY.__class__ }}", "{{ secrets.CANARY._value }}", "{{ vars }}", "Bearer {{ secrets.CANARY }}",
]


def _uses() -> list[str]:
    filters = sorted(name for name in ENV.filters if name != LOOP_FILTER)
    assert len(filters) > 50  # every built-in filter of Jinja, and ours
    return [f"{{{{ secrets.CANARY | {name}{FILTER_ARGS.get(name, '')} }}}}" for name in filters] + OTHER_USES


def _derived_forms() -> dict[str, str]:
    raw = CANARY.encode()
    forms = {
        "canary": CANARY, "upper": CANARY.upper(), "reversed": CANARY[::-1], "title": CANARY.title(),
        "capitalize": CANARY.capitalize(), "swapcase": CANARY.swapcase(), "replaced": CANARY.replace("c", "k"),
        "b64": base64.b64encode(raw).decode(), "b64-bearer": base64.b64encode(b"Bearer " + raw).decode(),
        "b64-of-bytes-after-prefix": base64.b64encode(raw[4:]).decode()[:24],
        "hex": raw.hex(), "sha256": hashlib.sha256(raw).hexdigest(), "md5": hashlib.md5(raw).hexdigest(),
        "rot13": codecs.encode(CANARY, "rot13"), "urlquoted": urllib.parse.quote(CANARY),
        "head": CANARY[:16], "middle": CANARY[10:26], "tail": CANARY[-16:], "spaced": " ".join(CANARY[:12]),
        "centered-head": CANARY[:12].upper(),
    }
    return forms


def _workflow(server_url: str) -> str:
    uses = _uses()
    nodes = [f"    - {{id: use{index}, type: transform, config: {{mapping: {{value: {json.dumps(use)}}}}}}}"
             for index, use in enumerate(uses)]
    edges = [f"    - {{from: use{index}, to: sink, on: failure}}" for index in range(len(uses))]
    return "\n".join([
        "apiVersion: mbflow/v1", "kind: Workflow", "metadata: {name: canary}", "spec:",
        "  variables: {token: \"{{ secrets.CANARY }}\"}",
        "  nodes:",
        *nodes,
        "    - {id: sink, type: noop}",
        f"    - id: send\n      type: http\n      config:\n"
        f"        method: POST\n        url: \"{server_url}/echo?key={{{{ secrets.CANARY }}}}\"\n"
        f"        headers: {{X-Token: \"{{{{ secrets.CANARY }}}}\"}}\n"
        f"        auth: {{type: bearer, token: \"{{{{ vars.token }}}}\"}}\n"
        f"        json: {{secret: \"{{{{ secrets.CANARY }}}}\", note: \"k={{{{ secrets.CANARY }}}}\"}}",
        "  edges:",
        *edges,
        "  output: {sent: \"{{ nodes.send.output.body }}\", first: \"{{ nodes.use0.output }}\"}",
    ]) + "\n"


@pytest.fixture(scope="module")
def echo() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(Path(tmp_path_factory.mktemp("canary")), MBFLOW_HTTP_ALLOW_HOSTS="127.0.0.1",
                        LOG_LEVEL="debug") as running:
        yield running


def _database_text(server: ServerProcess) -> str:
    """Every row of every table of the server's database, as text."""
    url = server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return "\n".join(conn.iterdump())
    parts = []
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        for table in tables:
            for (row,) in conn.execute(f'SELECT row_to_json(t)::text FROM "{table}" t'):
                parts.append(row)
    return "\n".join(parts)


def test_a_secret_never_comes_back_in_any_form(server: ServerProcess, echo: LocalServer) -> None:
    seen: list[str] = []
    with server.client() as client:
        created = client.post("/api/v1/secrets", json={"name": "CANARY", "value": CANARY})
        assert created.status_code == 201, created.text
        saved = client.post("/api/v1/workflows", json={"yaml": _workflow(echo.url)})
        assert saved.status_code == 201, saved.text
        ws_url = urlparse(server.url)._replace(scheme="ws", path="/ws/executions/",
                                               query=f"api_key={server.key}").geturl()
        feed: list[str] = []
        with connect(ws_url) as socket:
            finished = threading.Event()

            def listen() -> None:
                for message in socket:
                    feed.append(str(message))
                    if '"execution.' in str(message) and ('succeeded"' in str(message) or 'failed"' in str(message)):
                        finished.set()
                        return

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            started = client.post("/api/v1/workflows/canary/execute?include=steps,io", json={"input": {}, "wait": 60})
            assert started.status_code in (200, 201), started.text
            execution = started.json()
            assert finished.wait(30), "the live feed did not carry the end of the run"
        seen += [started.text, *feed]
        assert execution["status"] == "succeeded", execution["error"]
        steps = {step["node_id"]: step for step in execution["steps"]}
        refused = [step for node_id, step in steps.items() if node_id.startswith("use") and step["status"] == "failed"]
        shown = [step for node_id, step in steps.items() if node_id.startswith("use") and step["status"] == "succeeded"]
        assert len(refused) > 60 and len(refused) + len(shown) == len(_uses())
        assert {step["error"]["code"] for step in refused} <= {"secret_misuse", "expression_error", "expression_limit"}
        assert all("[secret]" in json.dumps(step["output"]) for step in shown), shown
        # The server it was sent to got the real value, in every place it was put.
        request = next(r for r in echo.requests if r["path"] == "/echo")
        assert request["query"]["key"] == CANARY
        assert request["headers"]["x-token"] == CANARY
        assert request["headers"]["authorization"] == f"Bearer {CANARY}"
        assert request["body"] == {"secret": CANARY, "note": f"k={CANARY}"}
        execution_id = execution["id"]
        for path in (f"/api/v1/executions/{execution_id}", f"/api/v1/executions/{execution_id}/results",
                     f"/api/v1/executions/{execution_id}/events?limit=1000", "/api/v1/executions",
                     "/api/v1/secrets", "/api/v1/workflows/canary"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            seen.append(answer.text)
        with client.stream("GET", f"/api/v1/executions/{execution_id}/stream") as stream:
            assert stream.status_code == 200
            seen.append(stream.read().decode())
        assert "execution.succeeded" in seen[-1]
    with connect(f"{ws_url.replace('/ws/executions/', f'/ws/executions/{execution_id}/')}&after_seq=0") as socket:
        replayed = [str(socket.recv(timeout=10))]
        while '"execution.succeeded"' not in replayed[-1]:
            replayed.append(str(socket.recv(timeout=10)))
    seen += replayed
    seen.append(_database_text(server))
    seen.append(server.log.read_text(errors="replace"))
    everything = "\n".join(seen)
    assert "[secret]" in everything
    leaks = {name: form for name, form in _derived_forms().items() if form in everything}
    assert leaks == {}
