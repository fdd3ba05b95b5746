"""Chat completions through OpenAI-compatible (``/v1/chat/completions``) and Anthropic
(``/v1/messages``) APIs. ``base_url`` points at any compatible server, local ones included."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema

from executions.executors.base import Executor, NodeContext, NodeTimeout, PermanentError, RetryableError
from executions.executors.http import CLIENT, RETRYABLE_STATUS, trace_headers
from executions.executors.registry import executor
from executions.executors.ssrf import check_host
from workflows.spec.expressions import reveal

DEFAULTS = {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}
ANTHROPIC_VERSION = "2023-06-01"
TOOL_NAME = "respond"


def _endpoint(base_url: str, path: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    return f"{base}/v1/{path}"


def _messages(config: dict[str, Any]) -> list[dict[str, str]]:
    messages = [{"role": m["role"], "content": str(m["content"])} for m in config.get("messages") or []]
    if config.get("prompt"):
        messages.append({"role": "user", "content": str(config["prompt"])})
    if not messages:
        raise PermanentError("An llm node needs `prompt` or `messages`.", code="invalid_config")
    return messages


def _openai_request(config: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    messages = _messages(config)
    if config.get("system"):
        messages.insert(0, {"role": "system", "content": str(config["system"])})
    body: dict[str, Any] = {"model": config["model"], "messages": messages}
    if config.get("temperature") is not None:
        body["temperature"] = config["temperature"]
    if config.get("max_tokens") is not None:
        body["max_tokens"] = config["max_tokens"]
    if config.get("response_schema"):
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": config["response_schema"], "strict": True},
        }
    headers = {"Authorization": f"Bearer {config['api_key']}"} if config.get("api_key") else {}
    return _endpoint(config.get("base_url") or DEFAULTS["openai"], "chat/completions"), headers, body


def _openai_result(data: dict[str, Any]) -> dict[str, Any]:
    choice = (data.get("choices") or [{}])[0]
    usage = data.get("usage") or {}
    text = (choice.get("message") or {}).get("content") or ""
    return {
        "text": text,
        "model": data.get("model"),
        "finish_reason": choice.get("finish_reason"),
        "usage": _usage(usage.get("prompt_tokens"), usage.get("completion_tokens")),
    }


def _anthropic_request(config: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    messages = [m for m in _messages(config) if m["role"] != "system"]
    system_parts = [str(config["system"])] if config.get("system") else []
    system_parts += [m["content"] for m in config.get("messages") or [] if m["role"] == "system"]
    system = "\n\n".join(system_parts)
    body: dict[str, Any] = {"model": config["model"], "messages": messages,
                            "max_tokens": config.get("max_tokens") or 1024}
    if system:
        body["system"] = system
    if config.get("temperature") is not None:
        body["temperature"] = config["temperature"]
    if config.get("response_schema"):
        # Structured output through a forced tool call whose input must match the schema.
        body["tools"] = [{"name": TOOL_NAME, "description": "Respond with the structured result.",
                          "input_schema": config["response_schema"]}]
        body["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if config.get("api_key"):
        headers["x-api-key"] = str(config["api_key"])
    return _endpoint(config.get("base_url") or DEFAULTS["anthropic"], "messages"), headers, body


def _anthropic_result(data: dict[str, Any]) -> dict[str, Any]:
    text_parts, structured = [], None
    for block in data.get("content") or []:
        if block.get("type") == "text":
            text_parts.append(block.get("text", ""))
        elif block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
            structured = block.get("input")
    usage = data.get("usage") or {}
    result = {
        "text": "".join(text_parts) if structured is None else json.dumps(structured),
        "model": data.get("model"),
        "finish_reason": data.get("stop_reason"),
        "usage": _usage(usage.get("input_tokens"), usage.get("output_tokens")),
    }
    if structured is not None:
        result["json"] = structured
    return result


def _usage(input_tokens: Any, output_tokens: Any) -> dict[str, int]:
    i, o = int(input_tokens or 0), int(output_tokens or 0)
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}


@executor("llm")
class LlmExecutor(Executor):
    queue = "llm"
    stateless = True

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        config = reveal(config)  # the request carries the real key; no message below quotes it
        provider = config.get("provider", "openai")
        if not config.get("model"):
            raise PermanentError("An llm node needs `model`.", code="invalid_config")
        build = _anthropic_request if provider == "anthropic" else _openai_request
        url, headers, body = build(config)
        headers.update(trace_headers(ctx))  # traceparent, while tracing is on
        parsed_url = httpx.URL(url)
        check_host(parsed_url.host, parsed_url.port or (443 if parsed_url.scheme == "https" else 80))
        timeout = ctx.remaining(120.0)
        try:
            response = CLIENT.post(url, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise NodeTimeout(f"The {provider} API did not answer in {timeout:g}s.") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"The {provider} API is unreachable: {exc}", code="connection_error") from None
        if response.status_code >= 400:
            details = {"status": response.status_code, "body": response.text[:2000]}
            error = RetryableError if response.status_code in RETRYABLE_STATUS else PermanentError
            raise error(f"The {provider} API answered {response.status_code}.", details=details, code="llm_error")
        try:
            data = response.json()
        except ValueError:
            raise PermanentError(f"The {provider} API did not answer JSON.", code="llm_error") from None
        result = _anthropic_result(data) if provider == "anthropic" else _openai_result(data)
        result.setdefault("json", None)
        schema = config.get("response_schema")
        if schema:
            if result["json"] is None:
                try:
                    result["json"] = json.loads(result["text"])
                except ValueError:
                    raise RetryableError("The model did not answer valid JSON.", code="invalid_structured_output",
                                         details={"text": result["text"][:2000]}) from None
            try:
                jsonschema.validate(result["json"], schema)
            except jsonschema.ValidationError as exc:
                raise RetryableError(f"The model's JSON does not match response_schema: {exc.message}",
                                     code="invalid_structured_output") from None
        return result
