"""docker-compose.yml: it parses, and every command it runs exists in this tree (Docker is not
here to start it: the file is read as Compose reads it, anchors and merge keys included)."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path
from typing import Any

import yaml
from django.core.management import get_commands

from mbflow_site.celery import QUEUES

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def _services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _commands(service: dict[str, Any]) -> list[list[str]]:
    """The command lines a service runs (``sh -c "a && b"`` gives a and b)."""
    command = service.get("command")
    if command is None:
        return []
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in words[2].split("&&")]
    return [words]


def test_the_topology_is_all_there() -> None:
    services = _services()
    assert {"postgres", "redis", "rabbitmq", "migrate", "web-1", "web-2", "proxy", "worker-light", "worker-io",
            "worker-llm", "beat", "consumer"} <= set(services)
    beats = [name for name, service in services.items()
             for line in _commands(service) if line[:1] == ["celery"] and "beat" in line]
    assert beats == ["beat"]  # exactly one beat, or every periodic task would run twice
    for name, service in services.items():
        for other in service.get("depends_on", {}):
            assert other in services, (name, other)
    proxy = _commands(services["proxy"])[0]
    assert [proxy[index + 1] for index, word in enumerate(proxy) if word == "--to"] == ["web-1:8181", "web-2:8181"]


def test_every_queue_has_its_worker_and_each_worker_reads_a_real_queue() -> None:
    read: set[str] = set()
    for service in _services().values():
        for line in _commands(service):
            if line[:1] == ["celery"] and "worker" in line:
                importlib.import_module(line[line.index("-A") + 1])
                queues = line[line.index("-Q") + 1].split(",")
                assert set(queues) <= set(QUEUES.values()), queues
                read |= set(queues)
    assert read == set(QUEUES.values())


def test_every_command_exists() -> None:
    management = get_commands()
    for name, service in _services().items():
        if "build" not in service:
            continue  # an image's own command
        for line in _commands(service):
            program = line[0]
            if program == "python":
                assert line[1] == "manage.py" and line[2] in management, (name, line)
            elif program == "uvicorn":
                module, _, attribute = line[1].partition(":")
                assert hasattr(importlib.import_module(module), attribute), (name, line)
            elif program == "celery":
                importlib.import_module(line[line.index("-A") + 1])
                assert line[line.index("-A") + 2] in ("worker", "beat"), (name, line)
            else:
                raise AssertionError(f"{name} runs {program}, which this test does not know")
