"""The cases of issue 15 (part 3) against a real server process: uvicorn decodes the URL and
reads the body itself, and each answer is a 400 naming the field, with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, server_process

HELLO = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: hello}
spec:
  nodes:
    - {id: start, type: noop}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("bad-input")) as running:
        with running.client() as client:
            assert client.post("/api/v1/workflows", content=HELLO,
                               headers={"Content-Type": "application/yaml"}).status_code == 201
        yield running


@pytest.mark.parametrize(("method", "url", "body", "field", "says"), [
    ("GET", "/api/v1/workflows/%00", None, "path", "NUL"),
    ("GET", "/api/v1/templates/%00", None, "path", "NUL"),
    ("GET", "/api/v1/workflows?search=%00", None, "search", "NUL"),
    ("POST", "/api/v1/workflows/hello/execute", b'{"input": {"s": "\\u0000\\ud800"}}', "input.s", "NUL"),
    ("POST", "/api/v1/workflows/hello/execute", b'{"input": {"s": "\\ud800"}}', "input.s", "surrogate"),
    ("POST", "/api/v1/workflows/hello/execute", b'{"input": {"n": 1e400}}', "input.n", "not finite"),
    ("POST", "/api/v1/workflows", b'{"yaml": "' + HELLO.replace("hello", "other").replace("\n", "\\n").encode()
     + b'# \\ud800"}', "yaml", "surrogate"),
])
def test_the_reported_500s_are_400s_naming_the_field(server: ServerProcess, method: str, url: str,
                                                      body: bytes | None, field: str, says: str) -> None:
    with server.client() as client:
        before = client.get("/api/v1/executions").json()["count"], client.get("/api/v1/workflows").json()["count"]
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response = client.request(method, url, content=body, headers=headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert says in error["details"]["fields"][field][0]
        after = client.get("/api/v1/executions").json()["count"], client.get("/api/v1/workflows").json()["count"]
        assert after == before
    assert "Traceback" not in Path(server.log).read_text(errors="replace")
