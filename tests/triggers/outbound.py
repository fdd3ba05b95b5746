"""Helpers of the outbound webhook tests: subscribing, running and waiting for deliveries through
the API (the fixtures ``receiver`` and ``outbox`` are in conftest)."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.test import APIClient

ECHO = ("  nodes: [{id: echo, type: transform, config: {mapping: {got: \"{{ input }}\"}}}]\n"
        "  output: \"{{ nodes.echo.output.got }}\"\n")
FAILING = "  nodes: [{id: boom, type: fail, config: {message: it broke}}]\n"
TERMINAL = ("succeeded", "failed")


def subscribe(client: APIClient, url: str, events: list[str], **more: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/webhooks", {"url": url, "events": events, **more}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def run(client: APIClient, workflow: str, data: Any = None) -> dict[str, Any]:
    started = client.post(f"/api/v1/workflows/{workflow}/execute", {"input": data or {}}, format="json")
    assert started.status_code in (200, 201, 202), started.json()
    return started.json()


def settled(client: APIClient, count: int, timeout: float = 30.0, **filters: str) -> list[dict[str, Any]]:
    """The tenant's deliveries once ``count`` of them (matching ``filters``) have settled."""
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    deadline = time.monotonic() + timeout
    while True:
        found = client.get(f"/api/v1/webhooks/deliveries?{query}").json()["results"]
        if len(found) >= count and all(delivery["status"] in TERMINAL for delivery in found):
            return found
        assert time.monotonic() < deadline, f"deliveries did not settle: {found}"
        time.sleep(0.05)
