"""Circuit breakers in Redis: one state per breaker, shared by every web and worker process.

Each breaker is one JSON value at ``<prefix>:state:<tenant>:<key>``, with a set of the tenant's
keys at ``<prefix>:index:<tenant>`` for listing. A change is an optimistic transaction: WATCH the
breaker, read it, run the engine's pure state machine (``decide_admission`` / ``decide_outcome``),
and write the result in MULTI/EXEC; when another process changed the breaker in between, EXEC
fails and the decision is made again on the new state. So two processes can never both take the
last probe slot, nor both count from the same state. A Lua script would do it in one round trip,
but it would be a second copy of the rules in another language; contention is per breaker (only
calls of one service race), and admitting a call to a closed or still-open breaker, the common
case, is a single GET with no transaction at all.

Time is this process's clock (``time.time``): processes on one machine agree on it; across hosts
a skew shifts ``recovery_timeout`` by that much. A breaker nobody has called for
``idle_seconds`` (a week) expires, so breakers of deleted workflows do not stay for ever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import redis

from executions.engine.breakers import (
    Admission,
    BreakerState,
    closed_state,
    decide_admission,
    decide_outcome,
)
from workflows.spec.models import CircuitBreaker

T = TypeVar("T")
Decide = Callable[[BreakerState | None, float], tuple[T, BreakerState | None]]

IDLE_SECONDS = 7 * 24 * 3600


def encode(state: BreakerState) -> str:
    data = asdict(state)
    data["recent"] = format(state.recent, "x")  # up to 1000 bits: hex, not a JSON number
    return json.dumps(data, separators=(",", ":"))


def decode(raw: bytes | str | None) -> BreakerState | None:
    if raw is None:
        return None
    data = json.loads(raw)
    data["recent"] = int(data.get("recent") or "0", 16)
    return BreakerState(**data)


class RedisBreakerStore:
    def __init__(self, url: str, *, prefix: str, clock: Callable[[], float] = time.time,
                 idle_seconds: int = IDLE_SECONDS) -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._clock = clock
        self._idle = idle_seconds

    def _state_key(self, tenant: str, key: str) -> str:
        return f"{self._prefix}:state:{tenant}:{key}"

    def _index_key(self, tenant: str) -> str:
        return f"{self._prefix}:index:{tenant}"

    def admit(self, tenant_id: Any, key: str, policy: CircuitBreaker) -> Admission:
        tenant = str(tenant_id)
        # Most admissions change nothing (closed, or open and not yet due): one GET decides them.
        admission, new = decide_admission(decode(self._redis.get(self._state_key(tenant, key))), key, policy,
                                          self._clock())
        if new is None:
            return admission
        return self._change(tenant, key, lambda current, now: decide_admission(current, key, policy, now),
                            extra_ttl=policy.recovery_timeout)

    def record(self, tenant_id: Any, key: str, policy: CircuitBreaker, ok: bool) -> str | None:
        return self._change(str(tenant_id), key, lambda current, now: decide_outcome(current, key, policy, ok, now),
                            extra_ttl=policy.recovery_timeout)

    def states(self, tenant_id: Any) -> list[BreakerState]:
        tenant = str(tenant_id)
        index = self._index_key(tenant)
        keys = sorted(member.decode() for member in self._redis.smembers(index))
        if not keys:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(self._state_key(tenant, key))
            raws = pipe.execute()
        gone = [key for key, raw in zip(keys, raws, strict=True) if raw is None]
        if gone:
            self._redis.srem(index, *gone)  # expired while idle
        return [state for raw in raws if (state := decode(raw)) is not None]

    def reset(self, tenant_id: Any, key: str) -> bool:
        def closed(current: BreakerState | None, now: float) -> tuple[bool, BreakerState | None]:
            return (False, None) if current is None else (True, closed_state(key, now))

        return self._change(str(tenant_id), key, closed, extra_ttl=0)

    def _change(self, tenant: str, key: str, decide: Decide[T], *, extra_ttl: float) -> T:
        """Runs ``decide`` on the breaker's current state and writes what it returns, as one
        atomic change: when another process writes the breaker between our read and our write,
        EXEC refuses ours and we decide again on theirs."""
        name, index = self._state_key(tenant, key), self._index_key(tenant)
        ttl = self._idle + int(extra_ttl)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    result, new = decide(decode(pipe.get(name)), self._clock())
                    if new is None:
                        return result
                    pipe.multi()
                    pipe.set(name, encode(new), ex=ttl)
                    pipe.sadd(index, key)
                    pipe.expire(index, ttl)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
