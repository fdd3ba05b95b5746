"""Circuit breakers in Redis: one state per breaker, shared by every web and worker process.

Each breaker is one JSON value at ``<prefix>:state:<tenant>:<key>``, with a set of the tenant's
keys at ``<prefix>:index:<tenant>`` for listing. A change is an optimistic compare-and-set: run
the engine's pure state machine (``decide_admission`` / ``decide_outcome``) on the breaker as
last read, and write the result with a small script that writes only while the stored value is
still the one read (and returns the newer value otherwise, to decide again on). So two processes
can never both take the last probe slot, nor both count from the same state. The script knows
nothing of the rules, which stay in one place (Python); it only makes "still the same? then
write" one step. An attempt's outcome is decided on the state its admission read (kept per
thread for the next ``record`` of that breaker): admitting a call to a closed breaker is one
GET, counting its outcome one script call, two round trips per call (and one more only when
another process changed the breaker between).

Time is this process's clock (``time.time``): processes on one machine agree on it; across hosts
a skew shifts ``recovery_timeout`` by that much. A breaker nobody has called for
``idle_seconds`` (a week) expires, so breakers of deleted workflows do not stay for ever.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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

# KEYS: the breaker's state, the tenant's index. ARGV: the value read ('' when there was none),
# the new value, its time to live, the breaker's key (the index member). Returns {1} once
# written, else {0, the value now stored} ({0} when there is none).
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then
  if current then return {0, current} end
  return {0}
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {1}
"""
_UNREAD = object()


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
        self._compare_and_set = self._redis.register_script(COMPARE_AND_SET)
        # Per thread: the value each breaker had when this thread last admitted a call through
        # it (or wrote it), for the outcome of that call to be counted from.
        self._seen = threading.local()

    @contextmanager
    def preloaded(self, tenant_id: Any, keys: Iterable[str]) -> Iterator[None]:
        """Reads the breakers of ``keys`` in one MGET for the admissions this thread makes in
        the block (each of them once): a step running a chain of light nodes, each with a
        breaker, asks Redis once per node (to count its outcome), not twice. An admission
        decided on a value read a few milliseconds earlier in the step is one made just as
        well a few milliseconds earlier; its outcome is still counted with a compare-and-set."""
        tenant = str(tenant_id)
        names = [self._state_key(tenant, key) for key in dict.fromkeys(keys)]
        previous = getattr(self._seen, "preloaded", None)
        self._seen.preloaded = dict(zip(names, self._redis.mget(names), strict=True)) if names else {}
        try:
            yield
        finally:
            self._seen.preloaded = previous

    def _seen_values(self) -> dict[str, bytes | None]:
        values: dict[str, bytes | None] | None = getattr(self._seen, "values", None)
        if values is None:
            values = self._seen.values = {}
        return values

    def _state_key(self, tenant: str, key: str) -> str:
        return f"{self._prefix}:state:{tenant}:{key}"

    def _index_key(self, tenant: str) -> str:
        return f"{self._prefix}:index:{tenant}"

    def admit(self, tenant_id: Any, key: str, policy: CircuitBreaker) -> Admission:
        tenant = str(tenant_id)
        name = self._state_key(tenant, key)
        # Most admissions change nothing (closed, or open and not yet due): one GET decides them.
        preloaded = getattr(self._seen, "preloaded", None)
        raw = preloaded.pop(name) if preloaded and name in preloaded else self._redis.get(name)
        self._seen_values()[name] = raw
        admission, new = decide_admission(decode(raw), key, policy, self._clock())
        if new is None:
            return admission
        return self._change(tenant, key, lambda current, now: decide_admission(current, key, policy, now),
                            extra_ttl=policy.recovery_timeout, read=raw)

    def record(self, tenant_id: Any, key: str, policy: CircuitBreaker, ok: bool) -> str | None:
        tenant = str(tenant_id)
        read = self._seen_values().pop(self._state_key(tenant, key), _UNREAD)
        return self._change(tenant, key, lambda current, now: decide_outcome(current, key, policy, ok, now),
                            extra_ttl=policy.recovery_timeout, read=read)

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

    def _change(self, tenant: str, key: str, decide: Decide[T], *, extra_ttl: float, read: Any = _UNREAD) -> T:
        """Runs ``decide`` on the breaker's current state and writes what it returns, as one
        atomic change: when another process wrote the breaker since it was read (``read``, the
        value read already, else one GET now), the write is refused and we decide again on
        the value it has now."""
        name, index = self._state_key(tenant, key), self._index_key(tenant)
        ttl = self._idle + int(extra_ttl)
        raw = self._redis.get(name) if read is _UNREAD else read
        fresh = read is _UNREAD
        while True:
            result, new = decide(decode(raw), self._clock())
            if new is None:
                if fresh:
                    return result
                raw, fresh = self._redis.get(name), True  # nothing to write: decided on the value as it is now
                continue
            encoded = encode(new)
            answer = self._compare_and_set(keys=[name, index], args=[raw or b"", encoded, ttl, key])
            if answer[0] == 1:
                self._seen_values()[name] = encoded.encode()
                return result
            raw, fresh = (answer[1] if len(answer) > 1 else None), True
