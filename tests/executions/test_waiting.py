"""Waiting for an execution (``wait`` on start) must not starve the workers that finish it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from executions.dispatch.embedded import EmbeddedDispatcher
from executions.services.waiting import wait_for_finish
from tests.executions.conftest import Store, doc


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the connection pool is PostgreSQL's")
def test_more_waiters_than_pooled_connections_all_see_the_execution_finish(
        embedded: EmbeddedDispatcher, store: Store, editor: Any) -> None:
    # The delay node finishes on a dispatcher thread, which needs a pooled connection of its own
    # while every waiter is between two status checks.
    store(doc("slow", """
  nodes:
    - {id: pause, type: delay, config: {duration: 1s}}
"""))
    execution_id = editor.post("/api/v1/executions", {"workflow": "slow"}, format="json").json()["id"]
    waiters = settings.DB_MAX_CONNECTIONS + 5

    def wait() -> bool:
        try:
            return wait_for_finish(execution_id, 20)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(waiters) as pool:
        finished = list(pool.map(lambda _: wait(), range(waiters)))
    assert finished == [True] * waiters
