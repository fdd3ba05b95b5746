"""Fixtures of the trigger tests: workflows stored through the API, the embedded dispatcher, and
for outbound webhooks a receiver and the embedded sender."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from executions.dispatch import use_dispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.models import Execution
from tests.triggers.receiver import Receiver
from triggers.outbound import EmbeddedSender, use_sender


def doc(name: str, body: str) -> str:
    """A native document around an indented ``spec`` body."""
    return f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: {name}\nspec:\n{body}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None,
                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    """On SQLite, a file test database: the engine's threads need real locking."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture
def embedded(transactional_db: None) -> Iterator[EmbeddedDispatcher]:
    dispatcher = EmbeddedDispatcher(workers=4)
    use_dispatcher(dispatcher)
    yield dispatcher
    use_dispatcher(None)
    dispatcher.close()


Store = Callable[[str], dict[str, Any]]


@pytest.fixture
def store(editor: APIClient) -> Store:
    """Saves a workflow document through the API and returns the workflow."""

    def save(yaml_text: str) -> dict[str, Any]:
        response = editor.post("/api/v1/workflows", {"yaml": yaml_text}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return save


def finished(execution_id: Any, timeout: float = 20.0) -> Execution:
    """The execution once it has finished (polled; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = Execution.objects.get(pk=execution_id)
        if execution.status in ("succeeded", "failed", "cancelled"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not finish in {timeout}s")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def outbox(embedded: Any, settings: Any) -> Iterator[EmbeddedSender]:
    """Deliveries sent by threads of the test process; retries 0.2 s, 0.4 s... apart."""
    settings.MBFLOW_HTTP_ALLOW_HOSTS = ["127.0.0.1"]
    settings.MBFLOW_DELIVERY_RETRY_SECONDS = 0.2
    settings.MBFLOW_DELIVERY_MAX_ATTEMPTS = 4
    sender = EmbeddedSender(workers=2)
    use_sender(sender)
    yield sender
    use_sender(None)
    sender.close()
