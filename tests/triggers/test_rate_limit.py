"""The webhook rate limit counted in the cache (Redis when REDIS_URL is set): a fixed window per
trigger, its first call making the counter, and concurrent calls each counted once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.core.cache import cache

from triggers.models import Trigger
from triggers.services.webhooks import rate_limit_wait


@pytest.fixture
def limited(settings: Any) -> Trigger:
    settings.MBFLOW_WEBHOOK_RATE_LIMIT, settings.MBFLOW_WEBHOOK_RATE_WINDOW = 3, 60
    return Trigger(pk=uuid.uuid4())  # only its id is counted by


def test_calls_over_the_limit_wait_for_the_next_window(limited: Trigger) -> None:
    start = 1_000_040.0  # 20 s into a window of 60 (1,000,020 opens one)
    assert [rate_limit_wait(limited, start + n) for n in range(3)] == [None, None, None]
    assert rate_limit_wait(limited, start + 10) == 30
    assert rate_limit_wait(limited, start + 39.5) == 1
    assert rate_limit_wait(limited, start + 40) is None  # the next window counts from one
    other = Trigger(pk=uuid.uuid4())
    assert rate_limit_wait(other, start + 10) is None  # another trigger has a window of its own


def test_calls_at_once_are_each_counted(limited: Trigger, settings: Any) -> None:
    settings.MBFLOW_WEBHOOK_RATE_LIMIT = 20
    now = 2_000_000.0
    waits: list[int | None] = []
    ready = threading.Barrier(30)

    def call() -> None:
        ready.wait()
        waits.append(rate_limit_wait(limited, now))

    threads = [threading.Thread(target=call) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waits.count(None) == 20 and [wait for wait in waits if wait is not None] == [40] * 10
    assert cache.get(f"triggers:hook-rate:{limited.pk}:{int(now // 60)}") == 30
