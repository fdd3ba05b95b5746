"""The built-in node types and their config schemas (the executors live in ``executions``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from workflows.spec.catalog import NodeConfig, node_type
from workflows.spec.models import Duration

Expr = Annotated[str, Field(json_schema_extra={"format": "expression"})]


class BearerAuth(NodeConfig):
    type: Literal["bearer"]
    token: Expr


class BasicAuth(NodeConfig):
    type: Literal["basic"]
    username: Expr
    password: Expr


class HeaderAuth(NodeConfig):
    type: Literal["header"]
    name: str
    value: Expr


@node_type("http", title="HTTP request", category="Network", icon="globe")
class HttpConfig(NodeConfig):
    """Calls an HTTP endpoint and returns its status, headers and body."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: Expr
    headers: dict[str, Expr] = {}
    query: dict[str, Any] = {}
    json_: Annotated[Any, Field(alias="json")] = None
    body: Any = None
    form: dict[str, Any] | None = None
    auth: Annotated[BearerAuth | BasicAuth | HeaderAuth, Field(discriminator="type")] | None = None
    response: Literal["auto", "json", "text", "binary"] = "auto"
    expected_status: list[int] | None = None
    follow_redirects: bool = False
    max_response_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    timeout: Duration | None = None


@node_type("transform", title="Transform", category="Data", light=True, icon="shuffle")
class TransformConfig(NodeConfig):
    """Builds a new value from expressions (a mapping) or a JMESPath query."""

    mapping: Annotated[dict[str, Any] | None, Field(description=(
        "The output, key by key: each value is text or an expression, such as "
        "{{ nodes.fetch.output.body.name }} (a value of a node before this one) or {{ input.email }}. "
        "When set, jmespath is not used."))] = None
    jmespath: Annotated[str | None, Field(title="JMESPath query", description=(
        "Instead of a mapping: a JMESPath query that picks and reshapes the data of source, "
        "such as items[?active].{name: name, email: email}."))] = None
    source: Annotated[Expr | None, Field(description=(
        "What the JMESPath query reads, as an expression such as {{ nodes.fetch.output.body }}. "
        "Empty: the outputs of the nodes just before this one."))] = None


@node_type("condition", title="Condition", category="Flow", output_ports=("true", "false", "failure"), light=True,
           icon="git-branch")
class ConditionConfig(NodeConfig):
    """Evaluates an expression; edges leave through the `true` or `false` port."""

    expression: Expr | bool


class SwitchCase(NodeConfig):
    equals: Any = None
    when: Expr | None = None
    output: str


@node_type("switch", title="Switch", category="Flow", output_ports=("default", "failure"), dynamic_ports="cases",
           light=True, icon="split")
class SwitchConfig(NodeConfig):
    """Routes by value: the first matching case names the port the flow leaves by."""

    value: Any = None
    cases: list[SwitchCase] = []
    default: str = "default"


@node_type("merge", title="Merge", category="Flow", light=True, icon="merge")
class MergeConfig(NodeConfig):
    """Joins branches: waits for all of them, or goes on with the first (or any) that arrives."""

    mode: Literal["all", "first", "any"] = "all"
    strategy: Literal["keyed", "object", "list"] = "keyed"


class InnerNode(NodeConfig):
    type: str
    config: dict[str, Any] = {}


@node_type("foreach", title="For each", category="Flow", icon="repeat")
class ForeachConfig(NodeConfig):
    """Runs a node or a sub-workflow once per item, a few at a time; results keep the items' order."""

    items: Expr | list[Any]
    node: InnerNode | None = None
    workflow: str | None = None  # a sub-workflow run per item (a child execution each)
    version: Annotated[int, Field(ge=1)] | None = None
    input: dict[str, Any] | Expr | None = None  # the child's input, rendered per item (default: the item)
    concurrency: Annotated[int, Field(ge=1, le=100)] = 4


@node_type("delay", title="Delay", category="Time", icon="timer")
class DelayConfig(NodeConfig):
    """Waits for a duration without holding a worker."""

    duration: Duration


@node_type("wait_until", title="Wait until", category="Time", icon="calendar-clock")
class WaitUntilConfig(NodeConfig):
    """Waits until a moment (ISO 8601 time or expression)."""

    until: Expr


@node_type("approval", title="Approval", category="Human", output_ports=("approved", "rejected", "failure"),
           light=True, icon="user-check")
class ApprovalConfig(NodeConfig):
    """Waits until someone approves or rejects through the API or the designer."""

    message: Expr = ""
    approvers: list[str] = Field([], description="User names allowed to decide; empty: any editor of the tenant.")
    timeout: Duration | None = Field(None, description="How long to wait before the node fails with a timeout.")


@node_type("sub_workflow", title="Sub-workflow", category="Flow", icon="workflow")
class SubWorkflowConfig(NodeConfig):
    """Runs another workflow of the tenant, waiting for its output or not."""

    workflow: str
    version: Annotated[int, Field(ge=1)] | None = None
    input: dict[str, Any] | Expr = {}
    wait: bool = True


class ChatMessage(NodeConfig):
    role: Literal["system", "user", "assistant"]
    content: Expr


@node_type("llm", title="LLM chat", category="AI", icon="sparkles")
class LlmConfig(NodeConfig):
    """A chat completion through an OpenAI-compatible or Anthropic API."""

    provider: Literal["openai", "anthropic"] = "openai"
    model: str
    base_url: Expr | None = None
    api_key: Expr | None = None
    system: Expr | None = None
    prompt: Expr | None = None
    messages: list[ChatMessage] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    response_schema: dict[str, Any] | None = None


@node_type("function", title="Function", category="Integrations", light=True, icon="cpu")
class FunctionConfig(NodeConfig):
    """A step run by your own worker process, which polls for it over the API (a Magic Flow step)."""

    executor: str
    function: str | None = None
    input: dict[str, Any] = {}
    output: dict[str, Any] = {}


@node_type("log", title="Log", category="Utility", light=True, icon="scroll-text")
class LogConfig(NodeConfig):
    """Writes a message to the execution's log."""

    message: Expr
    level: Literal["debug", "info", "warning", "error"] = "info"


@node_type("noop", title="No-op", category="Utility", light=True, icon="circle")
class NoopConfig(NodeConfig):
    """Passes its input through; a place to join or label a path."""


@node_type("webhook_response", title="Webhook response", category="Network", light=True, icon="reply")
class WebhookResponseConfig(NodeConfig):
    """Answers the caller of a synchronous webhook."""

    status: Annotated[int, Field(ge=100, le=599)] | Expr = 200
    headers: dict[str, Expr] = {}
    body: Any = None


@node_type("fail", title="Fail", category="Utility", output_ports=(), light=True, icon="octagon-x")
class FailConfig(NodeConfig):
    """Fails the node (and, without a failure edge, the execution) with a message."""

    message: Expr = "Failed"
    details: Any = None
