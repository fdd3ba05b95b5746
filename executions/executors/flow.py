"""The light executors: pure, quick, run inline by the orchestrator."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from executions.executors.base import Executor, NodeContext, PermanentError, config_field
from executions.executors.registry import executor

logger = logging.getLogger("mbflow.workflow")


class LightExecutor(Executor):
    light = True


@executor("transform")
class TransformExecutor(LightExecutor):
    raw_keys = frozenset({"jmespath", "source"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        if config.get("mapping") is not None:
            return config["mapping"]
        query = config.get("jmespath")
        if not query:
            raise PermanentError("A transform needs `mapping` or `jmespath`.", code="invalid_config")
        source = config.get("source")
        with config_field("config", "source"):
            data = ctx.evaluate(source) if isinstance(source, str) else ctx.upstream
        try:
            return _compiled(query).search(data)
        except JMESPathError as exc:
            raise PermanentError(f"JMESPath error: {exc}", code="jmespath_error") from None


@lru_cache(maxsize=1024)
def _compiled(query: str) -> ParsedResult:
    """A transform's query, parsed once per process (it is written in the document: ``jmespath``
    is not rendered). ``jmespath.search`` looks its parse up again on each call: a third of a
    light transform's time."""
    return jmespath.compile(query)


def _value(raw: Any, ctx: NodeContext) -> Any:
    return ctx.evaluate(raw) if isinstance(raw, str) else raw


@executor("condition")
class ConditionExecutor(LightExecutor):
    raw_keys = frozenset({"expression"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> bool:
        with config_field("config", "expression"):
            return bool(_value(config.get("expression"), ctx))


@executor("switch")
class SwitchExecutor(LightExecutor):
    raw_keys = frozenset({"value", "cases"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> str:
        raw = config.get("value")
        with config_field("config", "value"):
            value = ctx.evaluate(raw) if isinstance(raw, str) and raw else ctx.render(raw)
        for index, case in enumerate(config.get("cases") or []):
            with config_field("config", "cases", index):
                if case.get("when") is not None:
                    if _truthy(_value_with(case["when"], ctx, value)):
                        return str(case["output"])
                elif ctx.render(case.get("equals"), value=value) == value:
                    return str(case["output"])
        return str(config.get("default") or "default")


def _value_with(raw: Any, ctx: NodeContext, value: Any) -> Any:
    return ctx.evaluate(raw, value=value) if isinstance(raw, str) else raw


def _truthy(value: Any) -> bool:
    return bool(value) and value != "false"


@executor("merge")
class MergeExecutor(LightExecutor):
    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        strategy = config.get("strategy", "keyed")
        if strategy == "list":
            return list(ctx.inputs.values())
        if strategy == "object":
            merged: dict[str, Any] = {}
            for output in ctx.inputs.values():
                if isinstance(output, dict):
                    merged.update(output)
            return merged
        return dict(ctx.inputs)


@executor("noop")
class NoopExecutor(LightExecutor):
    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        return ctx.upstream


@executor("log")
class LogExecutor(LightExecutor):
    LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        message = config.get("message", "")
        message = message if isinstance(message, str) else str(message)
        logger.log(self.LEVELS.get(config.get("level", "info"), logging.INFO), "[%s/%s] %s",
                   ctx.execution_id, ctx.node_id, ctx.redact(message))
        return {"message": message}


@executor("fail")
class FailExecutor(LightExecutor):
    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        raise PermanentError(str(config.get("message") or "Failed"), details=config.get("details"), code="failed")


@executor("webhook_response")
class WebhookResponseExecutor(LightExecutor):
    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        status = config.get("status", 200)
        return {"status": int(status), "headers": config.get("headers") or {}, "body": config.get("body")}

