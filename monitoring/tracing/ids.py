"""The ids of an execution's trace, worked out from the execution itself.

Any process can name a span of any execution without asking anyone: the trace id is the
execution's id (a random UUID: 122 random bits), the execution's span id and each node
attempt's are hashes of what they are of. So an ``http`` node's worker sends the ``traceparent``
of the span that the process ending the attempt will export later, possibly elsewhere.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any


def trace_id_of(execution_id: Any) -> int:
    return uuid.UUID(str(execution_id)).int


def _span_id(*parts: Any) -> int:
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1  # 0 is the invalid span id


def execution_span_id(execution_id: Any) -> int:
    """The span of the execution's (first) run, every node attempt's parent."""
    return _span_id("execution", uuid.UUID(str(execution_id)))


def run_span_id(execution_id: Any, retried_seq: int) -> int:
    """The span of a run again after the execution was retried (its ``execution.retried`` event)."""
    return _span_id("run", uuid.UUID(str(execution_id)), retried_seq)


def attempt_span_id(execution_id: Any, node_id: str, attempt: int) -> int:
    return _span_id("attempt", uuid.UUID(str(execution_id)), node_id, attempt)


def trace_hex(execution_id: Any) -> str:
    return f"{trace_id_of(execution_id):032x}"


def traceparent(trace_id: int, span_id: int) -> str:
    """The W3C ``traceparent`` header of a sampled span."""
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def attempt_traceparent(execution_id: Any, node_id: str, attempt: int) -> str:
    return traceparent(trace_id_of(execution_id), attempt_span_id(execution_id, node_id, attempt))
