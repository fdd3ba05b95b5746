"""The machinery of the conformance tests: scenarios grouped into a few executions, run once per
dispatcher and shared by the names whose effects they show.

A *group* is a function that stores workflows, runs them and returns what it saw (executions,
events, the requests a local server received) as plain data. A *scenario* is a group and a check
of one documented name's effect on what the group saw. Each name is its own test; the first test
that needs a group runs it (with the fixtures it needs, taken then) and the others read what it
saw, so the many names cost a few executions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.dispatch import use_dispatcher
from executions.dispatch.celery import CeleryDispatcher
from executions.models import ExecutionEvent
from tests.executions.conftest import timer_pump
from tests.executions.language_reference import defined, documented
from tests.executions.servers import LocalServer

EMBEDDED = ("embedded",)
BOTH = ("embedded", "celery")
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
Seen = dict[str, Any]


@dataclass(frozen=True)
class Group:
    run: Callable[[Harness], Seen]
    dispatchers: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.run.__module__}.{self.run.__qualname__}"


def group(dispatchers: tuple[str, ...] = EMBEDDED) -> Callable[[Callable[[Harness], Seen]], Group]:
    """Declares a group of scenarios and the dispatchers its effects are checked on."""

    def declare(run: Callable[[Harness], Seen]) -> Group:
        return Group(run, dispatchers)

    return declare


@dataclass(frozen=True)
class Scenario:
    group: Group
    check: Callable[[Seen], None]


@dataclass
class Harness:
    """What a group works with: the API as an editor and an admin, the local HTTP server, and a
    tag unique to this run (for names of workflows, breakers and server keys, which outlive a
    test: the server lives for the session, breakers in Redis)."""

    request: pytest.FixtureRequest
    dispatcher: str
    editor: APIClient
    admin: APIClient
    server: LocalServer
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def store(self, yaml_text: str, client: APIClient | None = None) -> dict[str, Any]:
        response = (client or self.editor).post("/api/v1/workflows", {"yaml": yaml_text}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    def put(self, name: str, body: str, client: APIClient | None = None) -> str:
        """Stores a native workflow named ``<name>-<tag>`` around the indented ``spec`` body
        (``@url`` is the local server's URL, ``@tag`` the tag); returns its name."""
        full = f"{name}-{self.tag}"
        self.store(doc(full, self.fill(body)), client)
        return full

    def fill(self, text: str) -> str:
        return text.replace("@url", self.server.url).replace("@tag", self.tag)

    def validate(self, yaml_text: str) -> dict[str, Any]:
        response = self.editor.post("/api/v1/workflows/validate", {"yaml": yaml_text}, format="json")
        return {"status": response.status_code, **response.json()}

    def start(self, workflow: str, data: Any = None, **extra: Any) -> str:
        response = self.editor.post("/api/v1/executions", {"workflow": workflow, "input": data or {}, **extra},
                                    format="json")
        assert response.status_code in (200, 201), response.json()
        return str(response.json()["id"])

    def get(self, execution_id: str) -> dict[str, Any]:
        return self.editor.get(f"/api/v1/executions/{execution_id}").json()

    def finished(self, execution_id: str, seconds: float = 30) -> dict[str, Any]:
        return self.until(execution_id, lambda body: body["status"] in FINISHED, seconds)

    def until(self, execution_id: str, done: Callable[[dict[str, Any]], bool], seconds: float = 30
              ) -> dict[str, Any]:
        """The execution once ``done`` says so (polled); fails the group if it never does."""
        deadline = time.monotonic() + seconds
        while True:
            body = self.get(execution_id)
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {execution_id} never reached the state waited for: "
                                     f"{body['status']}, {[(s['node_id'], s['status']) for s in body['steps']]}")
            time.sleep(0.03)

    def run(self, workflow: str, data: Any = None) -> dict[str, Any]:
        """Runs it to its end (the API waits for it; then, if still running, polled)."""
        response = self.editor.post("/api/v1/executions", {"workflow": workflow, "input": data or {}, "wait": 30},
                                    format="json")
        assert response.status_code in (200, 201), response.json()
        body = response.json()
        return body if body["status"] in FINISHED else self.finished(body["id"])

    def run_all(self, starts: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
        """Starts them all, then waits for each: independent runs overlap."""
        ids = [self.start(workflow, data) for workflow, data in starts]
        return [self.finished(execution_id) for execution_id in ids]

    def events(self, execution_id: str, node_id: str | None = None) -> list[dict[str, Any]]:
        rows = ExecutionEvent.objects.filter(execution_id=execution_id).order_by("seq")
        if node_id is not None:
            rows = rows.filter(node_id=node_id)
        return list(rows.values("seq", "type", "node_id", "payload", "time"))

    def calls(self, key: str) -> list[dict[str, Any]]:
        """The requests the local server received with ``?key=<key>``."""
        with self.server.lock:
            return [dict(request) for request in self.server.requests if request["query"].get("key") == key]


def steps(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["node_id"]: step for step in execution["steps"]}


def doc(name: str, body: str) -> str:
    """A native document around an indented ``spec`` body."""
    return f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: {name}\nspec:\n{body}"


# ----------------------------------------------------------------------------- running groups


@dataclass
class _Outcome:
    seen: Seen | None = None
    error: BaseException | None = None


_OUTCOMES: dict[tuple[str, str], _Outcome] = {}


def observe(request: pytest.FixtureRequest, chosen: Group, dispatcher: str) -> Seen:
    """What ``chosen`` saw on ``dispatcher``. The first test that asks runs every group the
    selected tests need on that dispatcher, one after the other in its own database (so there is
    one database set-up and flush, not one per group). A group that failed fails every name it
    serves, with its own error."""
    key = (chosen.name, dispatcher)
    if key not in _OUTCOMES:
        harness: Harness | None = None
        for wanted in [chosen, *_needed(request, dispatcher)]:
            if (wanted.name, dispatcher) in _OUTCOMES:
                continue
            outcome = _Outcome()
            try:
                harness = harness or _harness(request, dispatcher)
                outcome.seen = wanted.run(replace(harness, tag=uuid.uuid4().hex[:10]))
            except (Exception, pytest.skip.Exception) as exc:
                outcome.error = exc
            _OUTCOMES[(wanted.name, dispatcher)] = outcome
    outcome = _OUTCOMES[key]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.seen is not None
    return outcome.seen


def _needed(request: pytest.FixtureRequest, dispatcher: str) -> list[Group]:
    """The groups of the session's selected tests on ``dispatcher``."""
    needed: list[Group] = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        scenarios = getattr(getattr(item, "module", None), "SCENARIOS", {})
        scenario = scenarios.get(params.get("name")) if params.get("dispatcher") == dispatcher else None
        if scenario is not None and scenario.group not in needed:
            needed.append(scenario.group)
    return needed


def _harness(request: pytest.FixtureRequest, dispatcher: str) -> Harness:
    # Asked for now (not in the test's signature): the marker tells pytest-django it is transactional.
    request.node.add_marker(pytest.mark.django_db(transaction=True))
    request.getfixturevalue("transactional_db")
    if dispatcher == "embedded":
        request.getfixturevalue("embedded")
    else:
        worker = request.getfixturevalue("celery_worker")
        if worker is None:
            pytest.skip("Celery runs need Redis (REDIS_URL) and PostgreSQL")
        use_dispatcher(CeleryDispatcher())
        timer_pump(on=True)
        request.addfinalizer(lambda: use_dispatcher(None))
        request.addfinalizer(lambda: timer_pump(on=False))
    return Harness(request, dispatcher, request.getfixturevalue("editor"), request.getfixturevalue("admin_client"),
                   request.getfixturevalue("http_server"))


# ----------------------------------------------------------------------------- parametrising


AREAS = {
    "policies": ("node.", "retry.", "circuit_breaker.", "rate_limit.", "position.", "edge.", "compensation.",
                 "defaults.", "spec.defaults", "spec.timeout", "spec.compensation"),
    "triggers": ("trigger.", "spec.triggers"),
    "document": ("document.", "metadata.", "spec.", "duration."),
    "expressions": ("filter.", "test.", "expression.", "statement.", "refused.", "method."),
}


def area_of(name: str) -> str | None:
    """The test module that shows ``name``'s effect (its first matching area)."""
    if name.endswith("()"):
        return "expressions"  # function.now(), not the `function` node type's keys
    for area, prefixes in AREAS.items():
        if name.startswith(prefixes):
            return area
    head = name.split("=")[0].split(".")[0]
    if head == "type" or f"type.{head}" in documented() | defined():
        return "node_types"
    return None


def names(area: str) -> list[str]:
    """The names of ``area`` that the reference documents or the code defines."""
    return sorted(name for name in documented() | defined() if area_of(name) == area)


def cases(scenarios: dict[str, Scenario], area: str, known: dict[str, str] | None = None) -> Iterator[Any]:
    """One test per name of ``area`` and dispatcher of its scenario (a name without one: one
    test, which fails saying so). A name in ``known`` is a runtime defect reported to the lead:
    its test is expected to fail, strictly, so that fixing the runtime shows here."""
    for name in names(area):
        scenario = scenarios.get(name)
        marks = [pytest.mark.xfail(strict=True, reason=(known or {})[name])] if name in (known or {}) else []
        for dispatcher in scenario.group.dispatchers if scenario else EMBEDDED:
            yield pytest.param(name, dispatcher, id=f"{name}-{dispatcher}", marks=marks)


def missing(name: str) -> str:
    side = "documented in docs/workflow-language.md" if name in documented() else "defined in the code"
    return (f"`{name}` is {side} but no scenario shows its effect at run time: add one to the table "
            f"(or, until the runtime honours it, make validation refuse it)")
