"""What a generated client is made from: a workflow's name, its input and output JSON Schemas,
its step ids and the executor and function of each ``function`` step."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class FunctionStep:
    node_id: str
    executor: str
    function: str


@dataclass(frozen=True, slots=True)
class ClientSpec:
    name: str
    title: str
    description: str
    version: int | None
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    steps: tuple[str, ...]
    functions: tuple[FunctionStep, ...]

    @classmethod
    def from_document(cls, document: Mapping[str, Any], version: int | None = None) -> ClientSpec:
        """From a native workflow document (as ``GET /workflows/{id}`` gives it in ``spec``)."""
        metadata = document.get("metadata") or {}
        spec = document.get("spec") or {}
        nodes = [node for node in spec.get("nodes") or [] if isinstance(node, Mapping)]
        functions = tuple(
            FunctionStep(str(node["id"]), str(node["config"]["executor"]), str(node["config"]["function"]))
            for node in nodes
            if node.get("type") == "function" and isinstance(node.get("config"), Mapping)
            and node["config"].get("executor") and node["config"].get("function"))
        return cls(name=str(metadata.get("name") or "workflow"), title=str(metadata.get("title") or ""),
                   description=str(metadata.get("description") or ""), version=version,
                   input_schema=spec.get("input_schema"), output_schema=spec.get("output_schema"),
                   steps=tuple(str(node["id"]) for node in nodes if "id" in node), functions=functions)

    def with_schemas(self, schemas: Mapping[str, Any]) -> ClientSpec:
        """The schemas of a WorkflowContext (``input_schema``, ``output_schema``) in place of the
        workflow's own."""
        return replace(self, input_schema=schemas.get("input_schema", self.input_schema),
                       output_schema=schemas.get("output_schema", self.output_schema))

    def input(self) -> dict[str, Any]:
        """The input's schema; any object when the workflow declares none."""
        return dict(self.input_schema) if self.input_schema else {"type": "object", "additionalProperties": True}

    def output(self) -> dict[str, Any]:
        """The output's schema; any value when the workflow declares none."""
        return dict(self.output_schema) if self.output_schema else {}

    def executors(self) -> dict[str, list[FunctionStep]]:
        found: dict[str, list[FunctionStep]] = {}
        for step in self.functions:
            found.setdefault(step.executor, []).append(step)
        return found


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def constant_name(text: str) -> str:
    """``validate-user`` / ``validateUserData`` → ``VALIDATE_USER`` / ``VALIDATE_USER_DATA``."""
    name = "_".join(word.upper() for word in _words(text)) or "STEP"
    return f"_{name}" if name[0].isdigit() else name


def class_name(text: str) -> str:
    """``user-service`` → ``UserService``."""
    name = "".join(word[:1].upper() + word[1:] for word in _words(text)) or "Executor"
    return f"_{name}" if name[0].isdigit() else name


def module_name(text: str) -> str:
    """``user-onboarding`` → ``user_onboarding``."""
    name = "_".join(word.lower() for word in _words(text)) or "workflow"
    name = f"_{name}" if name[0].isdigit() else name
    return f"{name}_" if keyword.iskeyword(name) else name
