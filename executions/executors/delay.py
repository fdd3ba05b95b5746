from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from executions.executors.base import Executor, NodeContext, PermanentError
from executions.executors.registry import executor
from workflows.spec.durations import parse_duration


@executor("delay")
class DelayExecutor(Executor):
    """Its dispatch is deferred by ``duration``; the run itself only reports the wait."""

    def defer(self, config: dict[str, Any], ctx: NodeContext) -> float:
        try:
            return parse_duration(config.get("duration"))
        except ValueError as exc:
            raise PermanentError(str(exc), code="invalid_config") from None

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"delayed": self.defer(config, ctx)}


@executor("wait_until")
class WaitUntilExecutor(Executor):
    def _until(self, config: dict[str, Any]) -> datetime:
        raw = config.get("until")
        try:
            moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise PermanentError(f"`until` is not an ISO 8601 time: {raw!r}.", code="invalid_config") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def defer(self, config: dict[str, Any], ctx: NodeContext) -> float:
        return max((self._until(config) - datetime.now(UTC)).total_seconds(), 0.0)

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        # The moment it was scheduled for: ``until`` rendered again now may differ (``now()``).
        if ctx.scheduled_at is not None:
            return {"waited_until": ctx.scheduled_at.astimezone(UTC).isoformat()}
        return {"waited_until": self._until(config).isoformat()}
