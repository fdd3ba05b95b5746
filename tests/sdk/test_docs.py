"""The examples of docs/sdk.md and docs/cli.md run as written, against a live server of their own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, server_process

ROOT = Path(__file__).resolve().parents[2]


def blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", (ROOT / "docs" / page).read_text(), re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("docs-server")) as running:
        yield running


def environment(server: ServerProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "MBFLOW_PROFILE")}
    return {**env, "MBFLOW_URL": server.url, "MBFLOW_API_KEY": server.key, "MBFLOW_CONFIG": "/nonexistent.toml",
            "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "NO_COLOR": "1", "COLUMNS": "160"}


def test_every_python_example_of_the_sdk_page_runs(docs_server: ServerProcess, tmp_path: Path) -> None:
    examples = blocks("sdk.md", "python")
    assert len(examples) >= 7
    printed = []
    for number, code in enumerate(examples, start=1):
        script = tmp_path / f"example_{number}.py"
        script.write_text(code)
        done = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=environment(docs_server),
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"example {number}:\n{code}\n{done.stderr}"
        printed.append(done.stdout)
    everything = "\n".join(printed)
    assert "succeeded {'greeting': 'Hello Ada'}" in everything
    assert "400 invalid_input" in everything
    assert "{'receipt': 'r-5'}" in everything
    assert "succeeded {'n': 42}" in everything and "{'id': 'r-5'}" in everything
    assert "event 3 node.succeeded double" in everything  # embedded on_event, as the run went


def test_every_bash_example_of_the_cli_page_runs(docs_server: ServerProcess, tmp_path: Path) -> None:
    examples = blocks("cli.md", "bash")
    assert len(examples) >= 3
    printed = []
    for number, code in enumerate(examples, start=1):
        done = subprocess.run(["bash", "-e", "-c", code], cwd=tmp_path, env=environment(docs_server),
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"example {number}:\n{code}\n{done.stdout}\n{done.stderr}"
        printed.append(done.stdout)
    everything = "\n".join(printed)
    assert "validate exited 1" in everything and "run exited 3" in everything
    assert ": succeeded" in everything and '"greeting": "Hello Ada"' in everything
    assert (tmp_path / "clients" / "cli_hello_client" / "models.py").exists()
    assert (tmp_path / "cli-hello.openapi.json").exists()
