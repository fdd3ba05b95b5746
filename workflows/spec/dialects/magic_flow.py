"""Magic Flow v2 files (`apiVersion: workflow.magic-flow.io/v2`) → native documents.

* Each of `spec.steps` becomes a node whose id is the step's `name`. A step run by a user's
  worker (`type: function`, or any type without a built-in equivalent) becomes a `function`
  node: `config: {executor, function, input, output}` from `executor`, `function` and
  `data_mapping`.
* `on_success` / `on_failure` (a name or a list) become edges `on: success` / `on: failure`;
  a target named by both becomes one edge `on: always`.
* `$.step.field` paths become `nodes['step'].output.field`, `$.input.x` stays `input.x`,
  `$.response.x` (in an output mapping) `response.x`; `condition` becomes the node's `when`.
* `retry_config` / `retry_policy` become `retry` (spec-level: `defaults.retry`), `fallback_step`
  `fallback`; `timeout`, `timeout_action` and `circuit_breaker` keep their names.
* `error_handling` rules: `return_error` becomes a `fail` node run when the rule's condition
  holds; `compensate` becomes `compensation` entries, with the steps written inline added as
  nodes.

* A step that is named (`on_success`, `on_failure`, `depends_on`, `fallback_step`, a compensation
  step) but defined nowhere in the file becomes a placeholder `fail` node of that name, whose
  message says so: the file imports and runs, and the run fails only if it reaches the
  placeholder. Each such reference is a `dialect_undefined_step` warning at its line.
* A `kind: WorkflowContext` document (the input and output schemas of a workflow) becomes a
  native `WorkflowContext`: `spec.workflow` names its workflow, or else its `metadata.name`
  without a `-context` suffix.
"""

from __future__ import annotations

import re
from typing import Any

from workflows.spec.dialects import (
    CONTEXT_KIND,
    EDGE_ORDER,
    NATIVE_API_VERSION,
    NODE_ID_RE,
    NODE_ORDER,
    SPEC_ORDER,
    TIMEOUT_ACTIONS,
    WORKFLOW_NAME_RE,
    MarkMap,
    Warnings,
    as_list,
    duration,
    lift_required,
    node_ref,
    ordered,
    rewrite_operators,
    rewrite_or_default,
    safe_node_id,
    slugify,
    split_code,
    string_map,
    wrap,
)
from workflows.spec.issues import Issue, Marks, Path

# Step types that are native node types of the same name; their other keys go into `config`.
BUILTIN_TYPES = {
    "http", "transform", "condition", "switch", "merge", "foreach", "delay", "wait_until", "approval",
    "sub_workflow", "llm", "log", "noop", "webhook_response", "fail",
}
FUNCTION_TYPES = {"function", "service", "task", "executor", None}
STEP_KEYS = {
    "name", "type", "description", "display_name", "title", "timeout", "timeout_action", "retry_config",
    "retry_policy", "executor", "function", "data_mapping", "on_success", "on_failure", "fallback_step",
    "fallback_output", "default_response", "condition", "circuit_breaker", "config", "position", "depends_on",
}
# How steps written inside error_handling name their executor and function.
FUNCTION_ALIASES = {"service": "executor", "method": "function"}
RETRY_KEYS = {
    "max_attempts": "max_attempts", "max_retries": "max_attempts", "attempts": "max_attempts",
    "backoff": "backoff", "backoff_strategy": "backoff", "strategy": "backoff",
    "initial_delay": "initial_delay", "delay": "initial_delay", "initial_interval": "initial_delay",
    "max_delay": "max_delay", "max_interval": "max_delay",
    "multiplier": "multiplier", "backoff_multiplier": "multiplier",
    "jitter": "jitter",
}
RETRY_ORDER = ("max_attempts", "backoff", "initial_delay", "max_delay", "multiplier", "jitter")
BACKOFFS = {"fixed": "fixed", "constant": "fixed", "linear": "linear", "exponential": "exponential"}
CIRCUIT_KEYS = {
    "failure_threshold": "failure_threshold", "recovery_timeout": "recovery_timeout", "timeout": "recovery_timeout",
    "half_open_max_calls": "half_open_max_calls", "failure_rate_threshold": "failure_rate_threshold",
}
TIMEOUT_ACTION_ALIASES = {"cancel": "cancel_and_cleanup", "skip": "ignore", "continue": "ignore"}
# `$.<first>` names that are not steps.
PATH_ROOTS = {"input": "input", "response": "response", "execution": "execution", "vars": "vars",
              "variables": "vars", "secrets": "secrets", "output": "output", "item": "item", "index": "index"}
# `user-onboarding-context` is the context of the workflow `user-onboarding`.
CONTEXT_SUFFIX_RE = re.compile(r"[-_.]context$", re.IGNORECASE)
_PATH_RE = re.compile(r"\$\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_]\w*|\[[^\]]*\])*)")
_STEPS_RE = re.compile(r"\$\.steps\.([A-Za-z_][\w-]*)")


def convert_magic_flow(data: dict[str, Any], marks: Marks) -> tuple[dict[str, Any], Marks, list[Issue]]:
    converter = _MagicFlowConverter(data, marks)
    document = converter.run()
    return document, converter.marks.marks, converter.warnings.issues


class _MagicFlowConverter:
    def __init__(self, data: dict[str, Any], marks: Marks) -> None:
        self.data = data
        self.marks = MarkMap(marks)
        self.warnings = Warnings(self.marks)
        self.ids: dict[str, str] = {}  # step name -> node id
        self.inline_ids: dict[str, str] = {}  # name of a step written inside error_handling -> node id
        self.placeholders: dict[str, tuple[str, list[Path]]] = {}  # undefined step -> (node id, references)
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.compensation: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ document

    def run(self) -> dict[str, Any]:
        kind = self.data.get("kind", "Workflow")
        if kind == CONTEXT_KIND:
            return self._context()
        if kind != "Workflow":
            self.warnings.add("dialect_unsupported",
                              f"A Magic Flow `{kind}` document is not a workflow; only its schemas are kept.",
                              ("kind",))
        for key in self.data:
            if key not in ("apiVersion", "kind", "metadata", "spec"):
                self.warnings.add("dialect_dropped", f"Top-level key `{key}` has no native equivalent; dropped.",
                                  (key,))
        raw_spec = self.data.get("spec") if isinstance(self.data.get("spec"), dict) else {}
        steps = [s for s in as_list(raw_spec.get("steps")) if isinstance(s, dict)]
        self._assign_ids(steps)
        self._find_undefined_steps(raw_spec)

        spec: dict[str, Any] = {}
        for key in ("input_schema", "output_schema"):
            if isinstance(raw_spec.get(key), dict):
                spec[key] = lift_required(raw_spec[key])
                self.marks.rebase(("spec", key), ("spec", key))
        if isinstance(raw_spec.get("variables"), dict):
            spec["variables"] = self._values(raw_spec["variables"])
            self.marks.rebase(("spec", "variables"), ("spec", "variables"))
        defaults: dict[str, Any] = {}
        for key in ("retry_policy", "retry_config"):
            if isinstance(raw_spec.get(key), dict):
                defaults["retry"] = self._retry(raw_spec[key], ("spec", key), ("spec", "defaults", "retry"), None)
                self.marks.put(("spec", "defaults"), ("spec", key))
                break
        if "step_timeout" in raw_spec:
            defaults["timeout"] = duration(raw_spec["step_timeout"])
            self.marks.put(("spec", "defaults", "timeout"), ("spec", "step_timeout"))
        spec["defaults"] = ordered(defaults, ("timeout", "retry"))
        if "timeout" in raw_spec:
            spec["timeout"] = duration(raw_spec["timeout"])
            self.marks.put(("spec", "timeout"), ("spec", "timeout"))
        action = self._timeout_action(raw_spec.get("timeout_action"), ("spec", "timeout_action"), None,
                                      ("spec", "timeout_action"))
        if action not in (None, "cancel_and_cleanup", "ignore"):
            self.warnings.add("dialect_dropped", f"A workflow's timeout_action is cancel_and_cleanup or ignore; "
                              f"{action!r} dropped.", ("spec", "timeout_action"), path=("spec", "timeout_action"))
            action = None
        if action is not None:
            spec["timeout_action"] = action
            self.marks.put(("spec", "timeout_action"), ("spec", "timeout_action"))

        for index, raw in enumerate(as_list(raw_spec.get("steps"))):
            if not isinstance(raw, dict):
                self.warnings.add("dialect_dropped", "A step that is not a mapping was dropped.",
                                  ("spec", "steps", index))
                continue
            self._step(raw, ("spec", "steps", index))
        self._error_handling(raw_spec.get("error_handling"))
        self._add_placeholders()
        self._finish_edges()

        spec["nodes"] = self.nodes
        spec["edges"] = self.edges
        self.marks.put(("spec", "nodes"), ("spec", "steps"))
        self.marks.put(("spec", "edges"), ("spec", "steps"))
        output = raw_spec.get("output", raw_spec.get("outputs"))
        if isinstance(output, dict):
            spec["output"] = self._values(output)
            self.marks.rebase(("spec", "output"), ("spec", "output" if "output" in raw_spec else "outputs"))
        spec["compensation"] = self.compensation
        self.marks.put(("spec", "compensation"), ("spec", "error_handling"))
        known = {"input_schema", "output_schema", "variables", "retry_policy", "retry_config", "step_timeout",
                 "timeout", "timeout_action", "steps", "error_handling", "output", "outputs"}
        for key in raw_spec:
            if key not in known:
                self.warnings.add("dialect_dropped", f"spec.{key} has no native equivalent; dropped.", ("spec", key))
        self.marks.put(("spec",), ("spec",))
        self.marks.put((), ())
        return {
            "apiVersion": NATIVE_API_VERSION,
            "kind": "Workflow",
            "metadata": self._metadata(),
            "spec": ordered(spec, SPEC_ORDER, keep=("nodes",)),  # required, even when empty
        }

    def _metadata(self) -> dict[str, Any]:
        raw = self.data.get("metadata") if isinstance(self.data.get("metadata"), dict) else {}
        self.marks.put(("metadata",), ("metadata",))
        original = str(raw.get("name") or "workflow")
        name = _workflow_name(original)
        result: dict[str, Any] = {"name": name}
        self.marks.put(("metadata", "name"), ("metadata", "name"))
        if raw.get("title") or original != name:
            result["title"] = str(raw.get("title") or original)
            self.marks.put(("metadata", "title"), ("metadata", "title" if raw.get("title") else "name"))
        if raw.get("description"):
            result["description"] = str(raw["description"])
            self.marks.put(("metadata", "description"), ("metadata", "description"))
        tags = [str(t) for t in as_list(raw.get("tags"))]
        for i, _ in enumerate(tags):
            self.marks.put(("metadata", "tags", i), ("metadata", "tags", i))
        labels = raw.get("labels") if isinstance(raw.get("labels"), dict) else {}
        for key, value in labels.items():
            self.marks.put(("metadata", "tags", len(tags)), ("metadata", "labels", key))
            tags.append(f"{key}={value}")
        if tags:
            result["tags"] = tags
            self.marks.put(("metadata", "tags"), ("metadata", "tags" if "tags" in raw else "labels"))
        annotations: dict[str, Any] = dict(raw["annotations"]) if isinstance(raw.get("annotations"), dict) else {}
        for key in annotations:
            self.marks.put(("metadata", "annotations", key), ("metadata", "annotations", key))
        for key, value in raw.items():
            if key in ("name", "title", "description", "tags", "labels", "annotations"):
                continue
            if isinstance(value, dict | list):
                self.warnings.add("dialect_dropped", f"metadata.{key} is not a plain value; dropped.",
                                  ("metadata", key))
                continue
            annotations[key] = value
            self.marks.put(("metadata", "annotations", key), ("metadata", key))
        if annotations:
            result["annotations"] = string_map(annotations)
            self.marks.put(("metadata", "annotations"), ("metadata", "annotations" if "annotations" in raw else "name"))
        return result

    def _context(self) -> dict[str, Any]:
        """A WorkflowContext: the input and output schemas of the workflow it names."""
        for key in self.data:
            if key not in ("apiVersion", "kind", "metadata", "spec"):
                self.warnings.add("dialect_dropped", f"Top-level key `{key}` has no native equivalent; dropped.",
                                  (key,))
        raw_spec = self.data.get("spec") if isinstance(self.data.get("spec"), dict) else {}
        spec: dict[str, Any] = {}
        metadata = self.data.get("metadata") if isinstance(self.data.get("metadata"), dict) else {}
        raw_name = metadata.get("name")
        if "workflow" in raw_spec:
            target = raw_spec["workflow"]
            spec["workflow"] = _workflow_name(target) if isinstance(target, str) and target else target
            self.marks.put(("spec", "workflow"), ("spec", "workflow"))
        elif raw_name:
            spec["workflow"] = _workflow_name(CONTEXT_SUFFIX_RE.sub("", str(raw_name)) or str(raw_name))
            self.marks.put(("spec", "workflow"), ("metadata", "name"))
        for key in ("input_schema", "output_schema"):
            if key in raw_spec:
                spec[key] = lift_required(raw_spec[key])
                self.marks.rebase(("spec", key), ("spec", key))
        for key in raw_spec:
            if key not in ("workflow", "input_schema", "output_schema"):
                self.warnings.add("dialect_dropped", f"spec.{key} has no place in a WorkflowContext; dropped.",
                                  ("spec", key))
        self.marks.put(("spec",), ("spec",))
        self.marks.put(("kind",), ("kind",))
        self.marks.put((), ())
        return {
            "apiVersion": NATIVE_API_VERSION,
            "kind": CONTEXT_KIND,
            "metadata": self._metadata(),
            "spec": spec,
        }

    # ------------------------------------------------------------------ steps

    def _assign_ids(self, steps: list[dict[str, Any]]) -> None:
        taken: set[str] = set()
        for index, step in enumerate(steps):
            name = str(step.get("name") or f"step_{index + 1}")
            if name in self.ids:
                continue  # a duplicate name stays duplicated, for validation to report
            node_id = name if NODE_ID_RE.match(name) and name not in taken else safe_node_id(name, taken)
            self.ids[name] = node_id
            taken.add(node_id)

    def _id(self, name: Any) -> str:
        """The node id of a step an expression reads (`$.<step>.x`); an undefined one stays as
        named, for validation to report."""
        text = str(name)
        return self.ids.get(text, text)

    def _ref(self, name: Any) -> str:
        """The node id of a step named by another step or a compensation rule: a step, a step
        written inside error_handling, or the placeholder of an undefined one."""
        text = str(name)
        if text in self.ids:
            return self.ids[text]
        if text in self.inline_ids:
            return self.inline_ids[text]
        if text in self.placeholders:
            return self.placeholders[text][0]
        return text  # not a name (a number, a mapping): validation reports it

    def _find_undefined_steps(self, raw_spec: dict[str, Any]) -> None:
        """Gives ids to the steps written inside error_handling, and a placeholder id to each step
        that is named but defined nowhere, before any reference to them is converted."""
        references: list[tuple[str, Path]] = []
        for index, raw in enumerate(as_list(raw_spec.get("steps"))):
            if not isinstance(raw, dict):
                continue
            for key in ("on_success", "on_failure", "depends_on", "fallback_step"):
                value = raw.get(key)
                where: Path = ("spec", "steps", index, key)
                if isinstance(value, list):
                    references += [(item, (*where, i)) for i, item in enumerate(value)
                                   if isinstance(item, str) and item]
                elif isinstance(value, str) and value:
                    references.append((value, where))
        inline: list[str] = []
        for rule, src in self._rules(raw_spec.get("error_handling")):
            action = rule.get("action") if isinstance(rule, dict) else None
            if not isinstance(action, dict) or action.get("type") != "compensate":
                continue
            steps_key = "steps" if "steps" in action else "step"
            listed = action.get(steps_key)
            for position, step in enumerate(as_list(listed)):
                where = (*src, "action", steps_key)
                if isinstance(listed, list):
                    where = (*where, position)
                if isinstance(step, dict) and step.get("name"):
                    inline.append(str(step["name"]))
                elif isinstance(step, str) and step:
                    references.append((step, where))
        taken = set(self.ids.values())
        for name in inline:
            if name not in self.ids and name not in self.inline_ids:
                self.inline_ids[name] = self._new_id(name, taken)
        for name, where in references:
            if name in self.ids or name in self.inline_ids:
                continue
            if name not in self.placeholders:
                self.placeholders[name] = (self._new_id(name, taken), [])
            self.placeholders[name][1].append(where)

    def _taken_ids(self) -> set[str]:
        placeholders = {node_id for node_id, _ in self.placeholders.values()}
        return {n["id"] for n in self.nodes} | set(self.ids.values()) | set(self.inline_ids.values()) | placeholders

    @staticmethod
    def _new_id(name: str, taken: set[str]) -> str:
        node_id = name if NODE_ID_RE.match(name) and name not in taken else safe_node_id(name, taken)
        taken.add(node_id)
        return node_id

    def _add_placeholders(self) -> None:
        """A `fail` node for each undefined step, at the end of the nodes, marked where it is first named."""
        for name, (node_id, references) in self.placeholders.items():
            dst: Path = ("spec", "nodes", len(self.nodes))
            shown = node_id if "{" in name else name  # a message is a template: braces in a name stay out of it
            node: dict[str, Any] = {"id": node_id}
            if node_id != name:
                node["name"] = name
            node["description"] = "A placeholder: the imported file names this step but does not define it."
            node["type"] = "fail"
            node["config"] = {"message": f"Step `{shown}` is not defined in the imported file"}
            for path in (dst, (*dst, "id"), (*dst, "type"), (*dst, "config"), (*dst, "config", "message")):
                self.marks.put(path, references[0])
            for where in references:
                self.warnings.add(
                    "dialect_undefined_step",
                    f"Step `{shown}` is not defined in this file: a placeholder `fail` node stands in for it "
                    "and fails the run if it is reached.",
                    where, node_id=node_id, path=dst,
                )
            self.nodes.append(ordered(node, NODE_ORDER))

    def _step(self, raw: dict[str, Any], src: Path) -> None:
        index = len(self.nodes)
        dst: Path = ("spec", "nodes", index)
        name = str(raw.get("name") or f"step_{index + 1}")
        node_id = self.ids.get(name) or safe_node_id(name, {n["id"] for n in self.nodes})
        self.marks.put(dst, src)
        self.marks.put((*dst, "id"), (*src, "name"))
        node: dict[str, Any] = {"id": node_id}
        if "name" not in raw:
            self.warnings.add("dialect_approximated", f"A step without a name was given the id {node_id!r}.", src,
                              node_id=node_id, path=(*dst, "id"))
        elif node_id != name:
            self.warnings.add("dialect_renamed", f"Step name {name!r} is not a valid node id; renamed {node_id!r}.",
                              (*src, "name"), node_id=node_id, path=(*dst, "id"))
            node["name"] = name
        for key in ("display_name", "title"):
            if raw.get(key):
                node["name"] = str(raw[key])
                self.marks.put((*dst, "name"), (*src, key))
        if raw.get("description"):
            node["description"] = str(raw["description"])
            self.marks.put((*dst, "description"), (*src, "description"))

        raw_type = raw.get("type")
        step_type = raw_type if isinstance(raw_type, str) else None
        if step_type in BUILTIN_TYPES:
            node["type"] = step_type
            node["config"] = self._builtin_config(raw, src, dst, node_id)
        else:
            if step_type not in FUNCTION_TYPES or (raw_type is not None and step_type is None):
                self.warnings.add("dialect_approximated",
                                  f"Step type {raw_type!r} has no built-in equivalent; run as a `function` node.",
                                  (*src, "type"), node_id=node_id, path=(*dst, "type"))
            node["type"] = "function"
            node["config"] = self._function_config(raw, src, dst)
        self.marks.put((*dst, "type"), (*src, "type"))
        config_src = next((k for k in ("config", "data_mapping", "executor", "function") if k in raw), "type")
        self.marks.put((*dst, "config"), (*src, config_src))

        self._resilience(raw, src, dst, node, node_id)
        if isinstance(raw.get("position"), dict):
            node["position"] = raw["position"]
            self.marks.rebase((*dst, "position"), (*src, "position"))
        for key in raw:
            if key not in STEP_KEYS and key not in FUNCTION_ALIASES and step_type not in BUILTIN_TYPES:
                self.warnings.add("dialect_dropped", f"Step key `{key}` has no native equivalent; dropped.",
                                  (*src, key), node_id=node_id, path=dst)
        self.nodes.append(ordered(node, NODE_ORDER))
        self._step_edges(raw, src, node_id)

    def _function_config(self, raw: dict[str, Any], src: Path, dst: Path) -> dict[str, Any]:
        config: dict[str, Any] = {}
        executor = raw.get("executor", raw.get("service"))
        if executor is not None:
            config["executor"] = executor
            self.marks.put((*dst, "config", "executor"), (*src, "executor" if "executor" in raw else "service"))
        function = raw.get("function", raw.get("method"))
        if function is not None:
            config["function"] = function
            self.marks.put((*dst, "config", "function"), (*src, "function" if "function" in raw else "method"))
        mapping = raw.get("data_mapping") if isinstance(raw.get("data_mapping"), dict) else {}
        for key in ("input", "output"):
            if isinstance(mapping.get(key), dict):
                config[key] = self._values(mapping[key])
                self.marks.rebase((*dst, "config", key), (*src, "data_mapping", key))
        for key in mapping:
            if key not in ("input", "output"):
                self.warnings.add("dialect_dropped", f"data_mapping.{key} has no native equivalent; dropped.",
                                  (*src, "data_mapping", key), path=(*dst, "config"))
        return config

    def _builtin_config(self, raw: dict[str, Any], src: Path, dst: Path, node_id: str) -> dict[str, Any]:
        """A built-in type's config: the step's `config`, plus its keys the step format does not know."""
        config: dict[str, Any] = {}
        if isinstance(raw.get("config"), dict):
            config.update(self._values(raw["config"]))
            self.marks.rebase((*dst, "config"), (*src, "config"))
        for key, value in raw.items():
            if key not in STEP_KEYS:
                config[key] = self._values(value)
                self.marks.rebase((*dst, "config", key), (*src, key))
        if raw.get("data_mapping"):
            self.warnings.add("dialect_dropped",
                              f"data_mapping has no place in a `{raw.get('type')}` node; dropped.",
                              (*src, "data_mapping"), node_id=node_id, path=(*dst, "config"))
        return config

    def _resilience(self, raw: dict[str, Any], src: Path, dst: Path, node: dict[str, Any], node_id: str) -> None:
        if raw.get("condition") not in (None, ""):
            condition = raw["condition"]
            node["when"] = self._value(condition) if isinstance(condition, str) else condition
            self.marks.put((*dst, "when"), (*src, "condition"))
        if "timeout" in raw:
            node["timeout"] = duration(raw["timeout"])
            self.marks.put((*dst, "timeout"), (*src, "timeout"))
        action = self._timeout_action(raw.get("timeout_action"), (*src, "timeout_action"), node_id,
                                      (*dst, "timeout_action"))
        if action is not None:
            node["timeout_action"] = action
            self.marks.put((*dst, "timeout_action"), (*src, "timeout_action"))
        for key in ("retry_config", "retry_policy"):
            if isinstance(raw.get(key), dict):
                node["retry"] = self._retry(raw[key], (*src, key), (*dst, "retry"), node_id)
                break
        if raw.get("fallback_step") not in (None, ""):
            node["fallback"] = self._ref(raw["fallback_step"])
            self.marks.put((*dst, "fallback"), (*src, "fallback_step"))
        for key in ("fallback_output", "default_response"):
            if key in raw:
                node["fallback_output"] = raw[key]
                self.marks.rebase((*dst, "fallback_output"), (*src, key))
                break
        if isinstance(raw.get("circuit_breaker"), dict):
            breaker: dict[str, Any] = {}
            for key, value in raw["circuit_breaker"].items():
                native = CIRCUIT_KEYS.get(key)
                if native is None:
                    self.warnings.add("dialect_dropped", f"circuit_breaker.{key} has no native equivalent; dropped.",
                                      (*src, "circuit_breaker", key), node_id=node_id, path=(*dst, "circuit_breaker"))
                    continue
                breaker[native] = duration(value) if native == "recovery_timeout" else value
                self.marks.put((*dst, "circuit_breaker", native), (*src, "circuit_breaker", key))
            node["circuit_breaker"] = breaker
            self.marks.put((*dst, "circuit_breaker"), (*src, "circuit_breaker"))

    def _retry(self, raw: dict[str, Any], src: Path, dst: Path, node_id: str | None) -> dict[str, Any]:
        retry: dict[str, Any] = {}
        self.marks.put(dst, src)
        for key, value in raw.items():
            native = RETRY_KEYS.get(key)
            if native is None:
                self.warnings.add("dialect_dropped", f"Retry setting `{key}` has no native equivalent; dropped.",
                                  (*src, key), node_id=node_id, path=dst)
                continue
            if native == "backoff":
                strategy = str(value).lower()
                if strategy not in BACKOFFS:
                    if strategy == "jitter":
                        # Magic Flow lists "jitter" as a strategy of its own.
                        retry.setdefault("jitter", True)
                        message = f"Retry strategy {value!r} is approximated as exponential backoff with jitter."
                    else:
                        message = f"Retry strategy {value!r} is unknown; using exponential backoff."
                    self.warnings.add("dialect_approximated", message, (*src, key), node_id=node_id,
                                      path=(*dst, "backoff"))
                value = BACKOFFS.get(strategy, "exponential")
            elif native in ("initial_delay", "max_delay"):
                value = duration(value)
            retry[native] = value
            self.marks.put((*dst, native), (*src, key))
        return ordered(retry, RETRY_ORDER)

    def _timeout_action(self, value: Any, src: Path, node_id: str | None, dst: Path) -> str | None:
        if value in (None, ""):
            return None
        action = TIMEOUT_ACTION_ALIASES.get(str(value), str(value))
        if action not in TIMEOUT_ACTIONS:
            self.warnings.add("dialect_dropped",
                              f"timeout_action {value!r} is not one of {', '.join(TIMEOUT_ACTIONS)}; dropped.",
                              src, node_id=node_id, path=dst)
            return None
        if action != value:
            self.warnings.add("dialect_approximated", f"timeout_action {value!r} is read as {action!r}.", src,
                              node_id=node_id, path=dst)
        return action

    # ------------------------------------------------------------------ edges

    def _step_edges(self, raw: dict[str, Any], src: Path, node_id: str) -> None:
        targets: dict[str, dict[str, Any]] = {}  # target id -> the edge, to merge success + failure
        for key, outcome in (("on_success", "success"), ("on_failure", "failure")):
            value = raw.get(key)
            items = value if isinstance(value, list) else [value]
            for position, target in enumerate(items):
                if target in (None, ""):
                    continue
                where = (*src, key, position) if isinstance(value, list) else (*src, key)
                target_id = self._ref(target)
                existing = targets.get(target_id)
                if existing is not None:
                    if existing["on"] != outcome:
                        existing["on"] = "always"
                    continue
                edge = {"from": node_id, "to": target_id, "on": outcome}
                self._add_edge(edge, where)
                targets[target_id] = edge
        for position, parent in enumerate(as_list(raw.get("depends_on"))):
            where = (*src, "depends_on", position) if isinstance(raw.get("depends_on"), list) else (*src, "depends_on")
            self._add_edge({"from": self._ref(parent), "to": node_id, "on": "success"}, where)

    def _add_edge(self, edge: dict[str, Any], src: Path) -> None:
        dst: Path = ("spec", "edges", len(self.edges))
        for path in (dst, (*dst, "from"), (*dst, "to"), (*dst, "on")):
            self.marks.put(path, src)
        self.edges.append(edge)

    def _finish_edges(self) -> None:
        for i, edge in enumerate(self.edges):
            if edge.get("on") == "success":
                del edge["on"]  # the default; written only when it says something
                self.marks.marks.pop(("spec", "edges", i, "on"), None)
            self.edges[i] = ordered(edge, EDGE_ORDER)

    # ------------------------------------------------------------------ error handling

    @staticmethod
    def _rules(raw: Any) -> list[tuple[Any, Path]]:
        """The error_handling rules, each with where it is written."""
        if isinstance(raw, list):
            return [(rule, ("spec", "error_handling", i)) for i, rule in enumerate(raw)]
        if isinstance(raw, dict) and ("action" in raw or "condition" in raw):
            return [(raw, ("spec", "error_handling"))]
        if isinstance(raw, dict):
            # The short form: {compensate: [...], return_error: {...}}.
            return [({"action": {"type": key, **(value if isinstance(value, dict) else {"steps": value})}},
                     ("spec", "error_handling", key)) for key, value in raw.items()]
        return []

    def _error_handling(self, raw: Any) -> None:
        for rule, src in self._rules(raw):
            if not isinstance(rule, dict) or not isinstance(rule.get("action"), dict):
                self.warnings.add("dialect_dropped", "An error_handling rule without an action was dropped.", src)
                continue
            action_type = str(rule["action"].get("type", ""))
            if action_type == "return_error":
                self._return_error(rule, src)
            elif action_type == "compensate":
                self._compensate(rule, src)
            else:
                self.warnings.add("dialect_dropped",
                                  f"error_handling action {action_type!r} has no native equivalent; dropped.",
                                  (*src, "action", "type"))

    def _referenced_steps(self, condition: Any) -> list[str]:
        if not isinstance(condition, str):
            return []
        found = []
        for match in _PATH_RE.finditer(condition):
            first = match.group(1)
            if first in self.ids and self.ids[first] not in found:
                found.append(self.ids[first])
        return found

    def _return_error(self, rule: dict[str, Any], src: Path) -> None:
        action = rule["action"]
        refs = self._referenced_steps(rule.get("condition"))
        base = f"{refs[0]}-error" if refs else "return-error"
        node_id = safe_node_id(base, self._taken_ids())
        dst: Path = ("spec", "nodes", len(self.nodes))
        node: dict[str, Any] = {"id": node_id, "name": str(action.get("message") or "Return error"), "type": "fail"}
        config: dict[str, Any] = {"message": action.get("message") or "The workflow failed."}
        if action.get("details") is not None:
            config["details"] = self._values(action["details"])
        node["config"] = config
        if rule.get("condition") not in (None, ""):
            node["when"] = self._value(rule["condition"]) if isinstance(rule["condition"], str) else rule["condition"]
            self.marks.put((*dst, "when"), (*src, "condition"))
        self.marks.put(dst, src)
        self.marks.put((*dst, "id"), (*src, "action", "type"))
        self.marks.put((*dst, "type"), (*src, "action", "type"))
        self.marks.put((*dst, "config"), (*src, "action"))
        self.marks.rebase((*dst, "config", "message"), (*src, "action", "message"))
        self.marks.rebase((*dst, "config", "details"), (*src, "action", "details"))
        self.nodes.append(ordered(node, NODE_ORDER))
        # Run after the steps the condition reads, so that their outputs exist.
        for ref in refs:
            self._add_edge({"from": ref, "to": node_id, "on": "success"}, (*src, "condition"))

    def _compensate(self, rule: dict[str, Any], src: Path) -> None:
        action = rule["action"]
        refs = self._referenced_steps(rule.get("condition"))
        condition = rule.get("condition")
        if isinstance(condition, str) and not re.fullmatch(
            r"""\s*\$\.[\w-]+\.status\s*==\s*['"]failed['"]\s*""", condition
        ):
            self.warnings.add("dialect_approximated",
                              f"Compensation condition {condition!r} is read as the failure of "
                              f"{', '.join(refs) or 'any node'}.",
                              (*src, "condition"))
        steps_key = "steps" if "steps" in action else "step"
        for position, step in enumerate(as_list(action.get(steps_key))):
            step_src: Path = (*src, "action", steps_key, position) if isinstance(action.get(steps_key), list) \
                else (*src, "action", steps_key)
            if isinstance(step, dict):
                name = str(step.get("name") or f"compensate_{len(self.compensation) + 1}")
                if name not in self.ids:
                    self._inline_step(step, step_src, name)
                name_src: Path = (*step_src, "name")
            else:
                name = str(step)
                name_src = step_src
            for ref in refs or [None]:
                entry_dst: Path = ("spec", "compensation", len(self.compensation))
                entry: dict[str, Any] = {"node": self._ref(name)}
                self.marks.put(entry_dst, step_src)
                self.marks.put((*entry_dst, "node"), name_src)
                if ref is not None:
                    entry["when_failed"] = ref
                    self.marks.put((*entry_dst, "when_failed"), (*src, "condition"))
                self.compensation.append(entry)

    def _inline_step(self, step: dict[str, Any], src: Path, name: str) -> None:
        """A compensation step written inside error_handling: a node of its own."""
        node_id = self.inline_ids.get(name) or self._new_id(name, self._taken_ids())
        self.ids[name] = node_id
        raw = dict(step)
        raw["name"] = name
        if "type" not in raw:
            raw["type"] = "function"
        # Steps written here are reached by the compensation entry, not by edges of their own.
        self._step({k: v for k, v in raw.items() if k not in ("on_success", "on_failure")}, src)

    # ------------------------------------------------------------------ expressions

    def _values(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._values(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._values(v) for v in value]
        if isinstance(value, str):
            return self._value(value)
        return value

    def _value(self, text: str) -> str:
        """A Magic Flow value: a `$.` expression becomes `{{ ... }}`; anything else stays as written."""
        stripped = text.strip()
        if not stripped.startswith("$"):
            return text
        return wrap(self._expression(stripped))

    def _expression(self, expr: str) -> str:
        defaulted = rewrite_or_default(expr)
        pieces = []
        for is_code, piece in split_code(defaulted if defaulted is not None else expr):
            if is_code:
                piece = _STEPS_RE.sub(r"$.\1", piece)  # `$.steps.<step>.x` names a step explicitly
                piece = _PATH_RE.sub(self._path, piece)
                if defaulted is None:
                    piece = rewrite_operators(piece)
                piece = re.sub(r"(?<![\w.])\$(?![\w.])", "input", piece)
            pieces.append(piece)
        return re.sub(r"\s+", " ", "".join(pieces)).strip()

    def _path(self, match: re.Match[str]) -> str:
        first, rest = match.group(1), match.group(2) or ""
        if first in PATH_ROOTS and first not in self.ids:
            return PATH_ROOTS[first] + rest
        return node_ref(self._id(first)) + rest


def _workflow_name(original: str) -> str:
    """A workflow name as written when it is one, else made into one."""
    return original if WORKFLOW_NAME_RE.match(original) else slugify(original)
