"""Fixtures of the SDK and CLI tests: a real MBFlow server process (PostgreSQL when
``DATABASE_URL`` names it, the embedded dispatcher unless a test asks for Celery), reached over
HTTP only, as a program using the SDK reaches it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mbflow import Client
from tests.server_process import ServerProcess, server_process


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("sdk-server"), MBFLOW_HTTP_ALLOW_HOSTS="127.0.0.1") as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url, server.key) as sdk:
        yield sdk


def hello(name: str, greeting: str = "Hello") -> str:
    return f"""\
apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: {name}, title: Greeter}}
spec:
  input_schema: {{type: object, required: [name], properties: {{name: {{type: string}}}}}}
  nodes:
    - id: shape
      type: transform
      config:
        mapping:
          greeting: "{greeting} {{{{ input.name }}}}"
  output: "{{{{ nodes.shape.output }}}}"
"""


def slow(name: str, seconds: str = "1s") -> str:
    """Two nodes around a delay: long enough to watch it run."""
    return f"""\
apiVersion: mbflow/v1
kind: Workflow
metadata: {{name: {name}}}
spec:
  nodes:
    - {{id: first, type: transform, config: {{mapping: {{n: 1}}}}}}
    - {{id: pause, type: delay, config: {{duration: {seconds}}}}}
    - {{id: last, type: transform, config: {{mapping: {{done: true}}}}}}
  edges:
    - {{from: first, to: pause}}
    - {{from: pause, to: last}}
  output: "{{{{ nodes.last.output }}}}"
"""
