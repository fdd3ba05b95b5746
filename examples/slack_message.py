"""A custom node type with its executor: post a message to a Slack incoming webhook.

Import this module once at start-up (for instance from your own app's ``AppConfig.ready``)
and ``slack_message`` appears in the designer's palette, is validated like a built-in type,
and runs on the ``io`` queue::

    - id: notify
      type: slack_message
      config: {webhook_url: "{{ secrets.SLACK_WEBHOOK }}", text: "New user {{ input.email }}"}

The definition (name, config schema) belongs to the workflow language; the runtime is an
``Executor`` registered for the same name.
"""

from __future__ import annotations

from typing import Any

import httpx

from executions.executors import Executor, NodeContext, PermanentError, RetryableError, executor
from executions.executors.ssrf import check_host
from workflows.spec import NodeConfig, node_type
from workflows.spec.expressions import reveal


@node_type("slack_message", title="Slack message", category="Integrations", icon="message-square")
class SlackMessageConfig(NodeConfig):
    """Posts a message to a Slack incoming webhook."""

    webhook_url: str
    text: str
    channel: str | None = None


@executor("slack_message")
class SlackMessageExecutor(Executor):
    queue = "io"

    def run(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        config = reveal(config)  # the webhook URL is usually a secret: real only in the request
        url = httpx.URL(str(config["webhook_url"]))
        check_host(url.host, url.port or 443)
        payload = {"text": str(config["text"])}
        if config.get("channel"):
            payload["channel"] = str(config["channel"])
        try:
            response = httpx.post(url, json=payload, timeout=ctx.remaining(10.0))
        except httpx.TransportError as exc:
            raise RetryableError(f"Slack is unreachable: {exc}", code="connection_error") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"Slack answered {response.status_code}.", code="slack_error")
        if response.status_code >= 400:
            raise PermanentError(f"Slack refused the message: {response.text[:200]}", code="slack_error")
        return {"sent": True, "status": response.status_code}
