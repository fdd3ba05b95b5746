"""Circuit breaker stores: process memory (embedded) and Redis (shared), held to one contract.

The stores run the engine's state machine on a clock the test moves, so every time is explicit.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from executions.engine import ports
from executions.engine.breakers import CLOSED, HALF_OPEN, OPEN, Admission, BreakerStore, MemoryBreakerStore
from executions.stores.breakers import RedisBreakerStore, decode, encode
from tests.executions.conftest import _redis_up, _require_services
from workflows.spec.models import CircuitBreaker

T0 = 1_700_000_000.0
TENANT, OTHER = uuid.uuid4(), uuid.uuid4()
POLICY = CircuitBreaker(failure_threshold=2, recovery_timeout=60, half_open_max_calls=2)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_url() -> str:
    if not _redis_up():
        if _require_services():
            pytest.fail("MBFLOW_REQUIRE_SERVICES=1 but Redis is not reachable")
        pytest.skip("needs Redis (REDIS_URL)")
    return settings.REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A prefix of this test's own, whose keys are deleted afterwards."""
    prefix = f"test-breakers-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, clock: Clock) -> BreakerStore:
    if request.param == "memory":
        return MemoryBreakerStore(clock=clock)
    prefix = request.getfixturevalue("redis_prefix")
    return RedisBreakerStore(settings.REDIS_URL, prefix=prefix, clock=clock)


def trip(store: BreakerStore, key: str = "svc", tenant: uuid.UUID = TENANT) -> None:
    for _ in range(POLICY.failure_threshold):
        assert store.admit(tenant, key, POLICY).allowed
        store.record(tenant, key, POLICY, False)


def test_a_store_opens_refuses_probes_and_closes_through_the_state_machine(
        store: BreakerStore, clock: Clock) -> None:
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=True, state=CLOSED)
    assert store.record(TENANT, "svc", POLICY, False) is None
    assert store.record(TENANT, "svc", POLICY, False) == OPEN
    clock.now = T0 + 30
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=False, state=OPEN, retry_at=T0 + 60)
    clock.now = T0 + 60
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=True, state=HALF_OPEN, changed=HALF_OPEN)
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=True, state=HALF_OPEN)
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=False, state=HALF_OPEN, retry_at=T0 + 120)
    assert store.record(TENANT, "svc", POLICY, True) is None
    assert store.record(TENANT, "svc", POLICY, True) == CLOSED
    [state] = store.states(TENANT)
    assert (state.key, state.state, state.failures, state.calls, state.updated_at) == ("svc", CLOSED, 0, 0, T0 + 60)


def test_states_lists_the_tenants_breakers_by_key_with_their_counts(store: BreakerStore, clock: Clock) -> None:
    store.record(TENANT, "b-service", POLICY, True)
    store.record(TENANT, "a-service", POLICY, False)
    clock.now = T0 + 5
    trip(store, "c-service")
    assert [(s.key, s.state, s.failures, s.calls, s.window_failures) for s in store.states(TENANT)] == [
        ("a-service", CLOSED, 1, 1, 1), ("b-service", CLOSED, 0, 1, 0), ("c-service", OPEN, 2, 2, 2)]
    opened = store.states(TENANT)[2]
    assert (opened.opened_at, opened.retry_at, opened.updated_at) == (T0 + 5, T0 + 65, T0 + 5)


def test_an_admission_to_a_closed_breaker_creates_no_state(store: BreakerStore) -> None:
    assert store.admit(TENANT, "svc", POLICY).allowed
    assert store.states(TENANT) == []


def test_tenants_never_share_a_breaker_of_the_same_key(store: BreakerStore) -> None:
    trip(store, "svc", TENANT)
    assert store.admit(OTHER, "svc", POLICY).allowed
    assert store.states(OTHER) == []
    assert store.reset(OTHER, "svc") is False
    assert not store.admit(TENANT, "svc", POLICY).allowed


def test_reset_closes_a_breaker_and_forgets_its_counts(store: BreakerStore, clock: Clock) -> None:
    trip(store)
    clock.now = T0 + 1
    assert store.reset(TENANT, "svc") is True
    [state] = store.states(TENANT)
    assert (state.state, state.failures, state.calls, state.window_failures, state.opened_at, state.updated_at) == (
        CLOSED, 0, 0, 0, None, T0 + 1)
    assert store.admit(TENANT, "svc", POLICY) == Admission(allowed=True, state=CLOSED)


def test_reset_of_a_breaker_that_never_saw_a_call_is_false(store: BreakerStore) -> None:
    assert store.reset(TENANT, "nothing") is False
    assert store.states(TENANT) == []


def test_a_redis_breaker_round_trips_its_window_of_a_thousand_outcomes(redis_prefix: str, clock: Clock) -> None:
    store = RedisBreakerStore(settings.REDIS_URL, prefix=redis_prefix, clock=clock)
    wide = CircuitBreaker(failure_threshold=1000, window=1000)
    for i in range(1000):
        store.record(TENANT, "svc", wide, ok=i % 3 != 0)
    [state] = store.states(TENANT)
    assert (state.calls, state.window_failures) == (1000, 334)
    assert decode(encode(state)) == state


def test_a_redis_breaker_expires_when_idle_and_leaves_the_listing(redis_prefix: str, clock: Clock) -> None:
    store = RedisBreakerStore(settings.REDIS_URL, prefix=redis_prefix, clock=clock, idle_seconds=3600)
    trip(store, "svc")
    store.record(TENANT, "kept", POLICY, True)
    client = redis.Redis.from_url(settings.REDIS_URL)
    state_key = f"{redis_prefix}:state:{TENANT}:svc"
    assert 3600 < client.ttl(state_key) <= 3600 + 60  # idle time plus the recovery timeout
    client.delete(state_key)  # what its expiry does
    assert [state.key for state in store.states(TENANT)] == ["kept"]
    assert client.smembers(f"{redis_prefix}:index:{TENANT}") == {b"kept"}


def test_racing_threads_take_no_more_probe_slots_than_allowed(store: BreakerStore, clock: Clock) -> None:
    trip(store)
    clock.now = T0 + 60
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def admit_many() -> None:
        start.wait()
        for _ in range(10):
            allowed.append(store.admit(TENANT, "svc", POLICY).allowed)

    threads = [threading.Thread(target=admit_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 80
    assert allowed.count(True) == POLICY.half_open_max_calls


def test_the_app_wires_breakers_in_redis_when_redis_is_configured_else_in_memory() -> None:
    assert isinstance(ports.breaker_store(), RedisBreakerStore if settings.REDIS_URL else MemoryBreakerStore)
