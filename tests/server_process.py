"""A real MBFlow server process for tests that must see what a client sees: migrated, the demo
tenant seeded with an admin API key, served by uvicorn on a free port.

On PostgreSQL (``DATABASE_URL``) it gets a database of its own next to the tests' one, dropped
afterwards; otherwise a SQLite file in a temporary folder (the embedded default).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class ServerProcess:
    url: str
    key: str
    process: subprocess.Popen[bytes]
    log: Path
    database_url: str

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {self.key}"})

    def peak_rss_bytes(self) -> int:
        """The most memory the server process has held (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"The server did not answer /health in time; see {log}")


@contextmanager
def server_process(folder: Path, **env_overrides: str) -> Iterator[ServerProcess]:
    """Starts a server (embedded dispatcher unless ``env_overrides`` say otherwise)."""
    given = os.environ.get("DATABASE_URL", "")
    database = ""
    if given.startswith(("postgres://", "postgresql://")):
        database = f"mbflow_srv_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_admin_url(given), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        database_url = urlunparse(urlparse(given)._replace(path=f"/{database}"))
    else:
        database_url = f"sqlite:///{folder / 'server.sqlite3'}"
    key = f"srv-{uuid.uuid4().hex}"
    env: dict[str, Any] = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "API_KEYS": key,
                           "MBFLOW_ADMIN_PASSWORD": "srv-Secret-pass-1", "MBFLOW_DISPATCHER": "embedded",
                           **env_overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CELERY_BROKER_URL", None)
    manage = [str(BIN / "python"), str(ROOT / "manage.py")]
    log = folder / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "mbflow_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        port = _free_port()
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(BIN / "uvicorn"), "mbflow_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "warning"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, process, log)
        yield ServerProcess(url, key, process, log, database_url)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if database:
            with psycopg.connect(_admin_url(given), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
