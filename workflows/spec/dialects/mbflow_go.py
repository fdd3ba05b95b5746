"""Go MBFlow files (`metadata / variables / nodes / edges / trigger`) → native documents.

What the Go files mean, and how each part is carried over:

* `{{input.x}}` in a node's config is the node's upstream data: the execution input for a node
  with no parents, the single parent's output for one parent, the merged outputs for several.
  It becomes `input.x`, `nodes.<parent>.output.x` or `upstream.x`. `$.x` in a `transform`
  mapping or `data.x` in a `conditional` expression mean the same thing.
* `{{variables.x}}` → `vars.x`, `{{env.X}}` → `secrets.X`; `a || 'b'` → `a | default('b', true)`.
* `conditional` with `branches` → `switch` (edges `condition: "output == 'label'"` → `port`);
  `conditional` with `true_output` / `false_output` → `condition` (ports `true` / `false`).
* `merge` strategies: `first_available` → `mode: first`, `any` → `any`, else `all`; the merged
  data is the shallow-merged object (`strategy: object`), as the Go engine passes it on.
* A numeric `timeout` in a node's config is seconds: `10` → `10s`, kept in the config of the
  types that have one (`http`), else moved to the node's `timeout`.
* `body` of an `http` node is `json` when it is structured; `system_prompt` of an `llm` is `system`.
* `trigger` (or a `triggers` list) → `spec.triggers`.
* The Go model's top-level `name`, `description` and `tags` name and describe the workflow, as
  `metadata.name` and friends do (which win when both are written): `name: "My Workflow"` →
  `metadata: {name: my-workflow, title: My Workflow}`.
"""

from __future__ import annotations

import re
from typing import Any

from workflows.spec.dialects import (
    EDGE_ORDER,
    NATIVE_API_VERSION,
    NODE_ID_RE,
    NODE_ORDER,
    SPEC_ORDER,
    MarkMap,
    Warnings,
    duration,
    literal,
    node_ref,
    ordered,
    rewrite_operators,
    rewrite_or_default,
    rewrite_templates,
    safe_node_id,
    slugify,
    split_code,
    string_map,
    wrap,
)
from workflows.spec.issues import Issue, Marks, Path

# Top-level keys of a Go workflow that name and describe it, as `metadata.<key>` does.
NAME_KEYS = ("name", "description", "tags")
NODE_KEYS = {"id", "name", "type", "config", "position", "description"}
EDGE_KEYS = {"id", "from", "to", "condition"}
# Names an expression may start with once translated (anything else is left alone and reported).
KNOWN_ROOTS = {
    "input", "variables", "env", "vars", "secrets", "nodes", "upstream", "execution", "now", "output",
    "true", "false", "none", "not", "range", "dict", "lipsum", "cycler", "joiner", "namespace",
}
FILTER_RENAMES = {"base64": "b64encode", "base64_encode": "b64encode", "base64_decode": "b64decode", "json": "tojson"}
MERGE_MODES = {"first_available": "first", "first": "first", "any": "any", "all": "all", "wait_all": "all"}
# Types whose native config has a `timeout` of its own (the request's, the approval's).
CONFIG_TIMEOUT_TYPES = {"http", "approval"}
# Config keys the native `http` type knows, and Go spellings of some of them.
HTTP_RENAMES = {"params": "query", "query_params": "query"}

_ROOT_RE = re.compile(r"(?<![\w.\]'\"])\$(?![\w])|(?<![\w.\]'\"])([A-Za-z_]\w*)")
_FILTER_RE = re.compile(r"\|\s*([A-Za-z_]\w*)")
_PORT_RE = re.compile(r"""^\s*(?:output|data|result)\s*==\s*(['"]?)([^'"]*)\1\s*$""")
_PORT_REVERSED_RE = re.compile(r"""^\s*(['"]?)([^'"]*)\1\s*==\s*(?:output|data|result)\s*$""")


def convert_mbflow(data: dict[str, Any], marks: Marks) -> tuple[dict[str, Any], Marks, list[Issue]]:
    converter = _GoConverter(data, marks)
    document = converter.run()
    return document, converter.marks.marks, converter.warnings.issues


class _GoConverter:
    def __init__(self, data: dict[str, Any], marks: Marks) -> None:
        self.data = data
        self.marks = MarkMap(marks)
        self.warnings = Warnings(self.marks)
        self.ids: dict[str, str] = {}  # Go id -> native id
        self.parents: dict[str, list[str]] = {}  # native id -> parent native ids, in edge order
        self.routers: dict[str, dict[str, str]] = {}  # native id of a switch/condition -> label -> port
        self.conditionals: set[str] = set()  # native ids of the Go `conditional` nodes

    # ------------------------------------------------------------------ document

    def run(self) -> dict[str, Any]:
        for key in self.data:
            if key in NAME_KEYS:
                if self._metadata_has(key):
                    self.warnings.add("dialect_dropped",
                                      f"Top-level `{key}` is dropped: `metadata.{key}` is the workflow's.", (key,))
                continue  # else it names the workflow (`_metadata`)
            if key not in ("metadata", "variables", "nodes", "edges", "trigger", "triggers"):
                self.warnings.add("dialect_dropped", f"Top-level key `{key}` has no native equivalent; dropped.",
                                  (key,))
        node_list = self.data.get("nodes") if isinstance(self.data.get("nodes"), list) else []
        raw_nodes = [n for n in node_list if isinstance(n, dict)]
        raw_edges = self.data.get("edges") if isinstance(self.data.get("edges"), list) else []
        self._assign_ids(raw_nodes)
        edges_in = self._edge_endpoints(raw_edges)
        for _, source, target in edges_in:
            self.parents.setdefault(target, [])
            if source not in self.parents[target]:
                self.parents[target].append(source)

        spec: dict[str, Any] = {}
        variables = self.data.get("variables")
        if isinstance(variables, dict):
            spec["variables"] = {
                key: self._template_value(value, "input", None, ("variables", key)) for key, value in variables.items()
            }
            self.marks.rebase(("spec", "variables"), ("variables",))
        nodes = []
        for index, raw in enumerate(node_list):
            if not isinstance(raw, dict):
                self.warnings.add("dialect_dropped", "A node that is not a mapping was dropped.", ("nodes", index))
                continue
            nodes.append(self._node(raw, index, len(nodes)))
        spec["nodes"] = nodes
        self.marks.put(("spec", "nodes"), ("nodes",))
        spec["edges"] = [self._edge(raw_edges[src_index], src_index, k, source, target)
                         for k, (src_index, source, target) in enumerate(edges_in)]
        self.marks.put(("spec", "edges"), ("edges",))
        triggers = self._triggers()
        if triggers:
            spec["triggers"] = triggers
        self.marks.put(("spec",), ())
        self.marks.put((), ())
        return {
            "apiVersion": NATIVE_API_VERSION,
            "kind": "Workflow",
            "metadata": self._metadata(),
            "spec": ordered(spec, SPEC_ORDER, keep=("nodes",)),  # required, even when empty
        }

    def _metadata_has(self, key: str) -> bool:
        raw = self.data.get("metadata")
        return isinstance(raw, dict) and raw.get(key) not in (None, "", [])

    def _metadata(self) -> dict[str, Any]:
        raw = self.data.get("metadata")
        raw = raw if isinstance(raw, dict) else {}
        self.marks.put(("metadata",), ("metadata",))
        # The Go model's own `name`, `description` and `tags` are top-level keys; `metadata.<key>`
        # wins when both are written.
        where = {key: ("metadata", key) if self._metadata_has(key) else (key,) for key in NAME_KEYS}
        values = {key: raw.get(key) if self._metadata_has(key) else self.data.get(key) for key in NAME_KEYS}
        original = str(values["name"] or "workflow")
        name = slugify(original)
        result: dict[str, Any] = {"name": name}
        self.marks.put(("metadata", "name"), where["name"])
        if original != name:
            result["title"] = original
            self.marks.put(("metadata", "title"), where["name"])
        for key in ("description", "tags"):
            value = values[key]
            if value not in (None, "", []):
                result[key] = [str(t) for t in value] if key == "tags" and isinstance(value, list) else value
                self.marks.rebase(("metadata", key), where[key])
        annotations: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("name", "description", "tags"):
                continue
            if isinstance(value, dict | list):
                self.warnings.add("dialect_dropped", f"metadata.{key} is not a plain value; dropped.",
                                  ("metadata", key))
                continue
            annotations[key] = value
            self.marks.put(("metadata", "annotations", key), ("metadata", key))
        if annotations:
            result["annotations"] = string_map(annotations)
        return result

    # ------------------------------------------------------------------ nodes

    def _assign_ids(self, raw_nodes: list[dict[str, Any]]) -> None:
        taken: set[str] = set()
        for raw in raw_nodes:
            original = str(raw.get("id") or raw.get("name") or "node")
            if original in self.ids:
                continue  # a duplicate id: keep it duplicated so validation reports it
            native = original if NODE_ID_RE.match(original) and original not in taken else safe_node_id(original, taken)
            self.ids[original] = native
            taken.add(native)
            if raw.get("type") == "conditional":
                self.conditionals.add(native)

    def _id(self, raw_id: Any) -> str:
        text = str(raw_id)
        return self.ids.get(text, text)  # an unknown id stays as written: validation reports it

    def _upstream_ref(self, node_id: str, seen: frozenset[str] = frozenset()) -> str:
        """What `input` / `$` / `data` mean in this node: the data that flows into it."""
        parents = self.parents.get(node_id, [])
        if not parents:
            return "input"
        if len(parents) > 1:
            return "upstream"
        parent = parents[0]
        if parent in self.conditionals and parent not in seen:
            # A Go conditional passes its input on to the branch it picks; a native switch
            # outputs the label, so the branch reads the data the switch itself received.
            return self._upstream_ref(parent, seen | {node_id})
        return node_ref(parent)

    def _node(self, raw: dict[str, Any], src_index: int, index: int) -> dict[str, Any]:
        src: Path = ("nodes", src_index)
        dst: Path = ("spec", "nodes", index)
        original_id = str(raw.get("id") or raw.get("name") or "node")
        node_id = self.ids.get(original_id, original_id)
        go_type = str(raw.get("type") or "")
        self.marks.put(dst, src)
        self.marks.put((*dst, "id"), (*src, "id"))
        self.marks.put((*dst, "type"), (*src, "type"))
        node: dict[str, Any] = {"id": node_id}
        if node_id != original_id:
            self.warnings.add("dialect_renamed", f"Node id {original_id!r} is not a valid id; renamed {node_id!r}.",
                              (*src, "id"), node_id=node_id, path=(*dst, "id"))
        if raw.get("name") not in (None, ""):
            node["name"] = str(raw["name"])
            self.marks.put((*dst, "name"), (*src, "name"))
        if raw.get("description") not in (None, ""):
            node["description"] = str(raw["description"])
            self.marks.put((*dst, "description"), (*src, "description"))
        for key in raw:
            if key not in NODE_KEYS:
                self.warnings.add("dialect_dropped", f"Node key `{key}` has no native equivalent; dropped.",
                                  (*src, key), node_id=node_id, path=dst)
        config = dict(raw["config"]) if isinstance(raw.get("config"), dict) else {}
        ref = self._upstream_ref(node_id)
        if "timeout" in config and go_type not in CONFIG_TIMEOUT_TYPES:
            # Seconds in the Go config; the native node-level timeout bounds each attempt.
            node["timeout"] = duration(config.pop("timeout"))
            self.marks.put((*dst, "timeout"), (*src, "config", "timeout"))
        converter = {
            "conditional": self._conditional,
            "merge": self._merge,
            "transform": self._transform,
            "http": self._http,
            "llm": self._llm,
        }.get(go_type)
        if converter is not None:
            native_type, native_config = converter(config, ref, node_id, src, dst)
        else:
            native_type = go_type
            native_config = {k: self._template_value(v, ref, node_id, (*src, "config", k)) for k, v in config.items()}
            if go_type == "delay" and "duration" in native_config:
                native_config["duration"] = duration(native_config["duration"])
            self.marks.rebase((*dst, "config"), (*src, "config"))
        node["type"] = native_type
        self.marks.put((*dst, "config"), (*src, "config"))
        if native_config:
            node["config"] = native_config
        position = raw.get("position")
        if isinstance(position, dict) and {"x", "y"} <= position.keys():
            node["position"] = {"x": position["x"], "y": position["y"]}
            self.marks.rebase((*dst, "position"), (*src, "position"))
        return ordered(node, NODE_ORDER)

    def _conditional(
        self, config: dict[str, Any], ref: str, node_id: str, src: Path, dst: Path
    ) -> tuple[str, dict[str, Any]]:
        expression = config.get("expression", config.get("condition", ""))
        translated = self._expression(str(expression), {"data": ref, "input": ref, "$": ref})
        if "branches" not in config:
            # A boolean test: the edges name true_output / false_output.
            ports = {"true": "true", "false": "false"}
            for flag in ("true", "false"):
                label = config.get(f"{flag}_output")
                if label is not None:
                    ports[str(label)] = flag
            self.routers[node_id] = ports
            self.marks.put((*dst, "config", "expression"), (*src, "config", "expression"))
            self._drop_config_keys(config, {"expression", "condition", "true_output", "false_output", "condition_type"},
                                   node_id, src, dst)
            return "condition", {"expression": wrap(translated)}
        cases: list[dict[str, Any]] = []
        default: str | None = None
        ports = {}
        value_expr = wrap(translated)
        self.marks.put((*dst, "config", "value"), (*src, "config", "expression"))
        branches = config.get("branches") if isinstance(config.get("branches"), list) else []
        for b_index, branch in enumerate(branches):
            b_src = (*src, "config", "branches", b_index)
            if not isinstance(branch, dict):
                self.warnings.add("dialect_dropped", "A branch that is not a mapping was dropped.", b_src,
                                  node_id=node_id)
                continue
            label = str(branch.get("output", f"branch_{b_index + 1}"))
            ports[label] = label
            condition = str(branch.get("condition", "default")).strip()
            if condition.lower() in ("default", "else", "otherwise", "true", "*"):
                default = label
                self.marks.put((*dst, "config", "default"), b_src)
                continue
            c_dst = (*dst, "config", "cases", len(cases))
            self.marks.put(c_dst, b_src)
            self.marks.put((*c_dst, "output"), (*b_src, "output"))
            equals = re.fullmatch(r"==\s*(.+)", condition)
            if equals and re.fullmatch(r"""'[^']*'|"[^"]*"|-?\d+(\.\d+)?|true|false|null""", equals.group(1).strip()):
                cases.append({"equals": literal(equals.group(1)), "output": label})
                self.marks.put((*c_dst, "equals"), (*b_src, "condition"))
                continue
            if re.match(r"(==|!=|<=|>=|<|>|in\b|not\b)", condition):
                when = self._expression(f"value {condition}", {})
            else:
                roots = {"data": ref, "input": ref, "$": ref}
                when = self._expression(condition, roots)
            cases.append({"when": wrap(when), "output": label})
            self.marks.put((*c_dst, "when"), (*b_src, "condition"))
        self.routers[node_id] = ports
        self._drop_config_keys(config, {"expression", "condition", "branches", "condition_type"}, node_id, src, dst)
        result: dict[str, Any] = {"value": value_expr, "cases": cases}
        if default is not None:
            result["default"] = default
        return "switch", result

    def _merge(
        self, config: dict[str, Any], ref: str, node_id: str, src: Path, dst: Path
    ) -> tuple[str, dict[str, Any]]:
        key = "strategy" if "strategy" in config else "merge_strategy"
        strategy = str(config.get(key, "all"))
        mode = MERGE_MODES.get(strategy)
        if mode is None:
            mode = "all"
            self.warnings.add("dialect_approximated", f"Merge strategy {strategy!r} is unknown; using `mode: all`.",
                              (*src, "config", key), node_id=node_id, path=(*dst, "config", "mode"))
        self.marks.put((*dst, "config", "mode"), (*src, "config", key))
        self.marks.put((*dst, "config", "strategy"), (*src, "config", key))
        self._drop_config_keys(config, {"strategy", "merge_strategy"}, node_id, src, dst)
        return "merge", {"mode": mode, "strategy": "object"}

    def _transform(
        self, config: dict[str, Any], ref: str, node_id: str, src: Path, dst: Path
    ) -> tuple[str, dict[str, Any]]:
        result: dict[str, Any] = {}
        roots = {"$": ref, "input": ref, "data": ref}
        mapping = config.pop("mapping", None)
        if isinstance(mapping, dict):
            result["mapping"] = {}
            for key, value in mapping.items():
                v_src = (*src, "config", "mapping", key)
                if isinstance(value, str) and "{{" not in value and _looks_like_expression(value):
                    result["mapping"][key] = wrap(self._expression(value, roots))
                else:
                    result["mapping"][key] = self._template_value(value, ref, node_id, v_src)
            self.marks.rebase((*dst, "config", "mapping"), (*src, "config", "mapping"))
        output_format = config.pop("output_format", None)
        if output_format not in (None, "json"):
            self.warnings.add("dialect_dropped",
                              f"Transform `output_format: {output_format}` is not supported; dropped.",
                              (*src, "config", "output_format"), node_id=node_id, path=dst)
        for key, value in config.items():
            # `template` (Handlebars) and anything else: kept, so validation shows it against the schema.
            result[key] = self._template_value(value, ref, node_id, (*src, "config", key))
            self.marks.rebase((*dst, "config", key), (*src, "config", key))
        self.marks.put((*dst, "config"), (*src, "config"))
        return "transform", result

    def _http(
        self, config: dict[str, Any], ref: str, node_id: str, src: Path, dst: Path
    ) -> tuple[str, dict[str, Any]]:
        result: dict[str, Any] = {}
        for key, value in config.items():
            native_key = HTTP_RENAMES.get(key, key)
            if key == "body" and isinstance(value, dict | list):
                native_key = "json"  # a structured body is sent as JSON by the Go executor
            if key == "timeout":
                value = duration(value)
            result[native_key] = self._template_value(value, ref, node_id, (*src, "config", key))
            self.marks.rebase((*dst, "config", native_key), (*src, "config", key))
        if isinstance(result.get("method"), str):
            result["method"] = result["method"].upper()
        self.marks.put((*dst, "config"), (*src, "config"))
        return "http", result

    def _llm(
        self, config: dict[str, Any], ref: str, node_id: str, src: Path, dst: Path
    ) -> tuple[str, dict[str, Any]]:
        result: dict[str, Any] = {}
        for key, value in config.items():
            native_key = {"system_prompt": "system"}.get(key, key)
            result[native_key] = self._template_value(value, ref, node_id, (*src, "config", key))
            self.marks.rebase((*dst, "config", native_key), (*src, "config", key))
        self.marks.put((*dst, "config"), (*src, "config"))
        return "llm", result

    def _drop_config_keys(self, config: dict[str, Any], used: set[str], node_id: str, src: Path, dst: Path) -> None:
        for key in config:
            if key not in used and key != "timeout":
                self.warnings.add("dialect_dropped", f"Config key `{key}` has no native equivalent; dropped.",
                                  (*src, "config", key), node_id=node_id, path=(*dst, "config"))

    # ------------------------------------------------------------------ expressions

    def _expression(self, expr: str, roots: dict[str, str]) -> str:
        """A Go expression (expr-lang / JS-like) in Jinja spelling, without the braces."""
        roots = {"variables": "vars", "env": "secrets", **roots}
        defaulted = rewrite_or_default(expr)
        text = defaulted if defaulted is not None else expr
        pieces = []
        for is_code, piece in split_code(text):
            if not is_code:
                pieces.append(piece)
                continue
            piece = _ROOT_RE.sub(lambda m: _replace_root(m, roots), piece)
            piece = _FILTER_RE.sub(lambda m: "| " + FILTER_RENAMES.get(m.group(1), m.group(1)), piece)
            if defaulted is None:
                piece = rewrite_operators(piece)
            pieces.append(piece)
        return re.sub(r"\s+", " ", "".join(pieces)).strip()

    def _template_value(self, value: Any, ref: str, node_id: str | None = None, src: Path = ()) -> Any:
        """Translates every `{{ ... }}` inside strings of a config value."""
        if isinstance(value, dict):
            return {k: self._template_value(v, ref, node_id, (*src, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._template_value(v, ref, node_id, (*src, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "{{" not in value:
            return value
        roots = {"input": ref, "$": ref}

        def translate(inner: str) -> str | None:
            stripped = inner.strip()
            if not stripped or stripped[0] in "#/>!^&" or stripped.startswith("else"):
                return None  # Handlebars blocks have no expression equivalent
            first = re.match(r"\$|[A-Za-z_]\w*", stripped)
            if first is None or (first.group(0) not in roots and first.group(0) not in KNOWN_ROOTS):
                return None
            return self._expression(stripped, roots)

        text, ok = rewrite_templates(value, translate)
        if not ok:
            self.warnings.add("dialect_untranslated",
                              "A template placeholder could not be translated (Handlebars blocks or unknown names); "
                              "left as written.", src, node_id=node_id)
        return text

    # ------------------------------------------------------------------ edges and triggers

    def _edge_endpoints(self, raw_edges: Any) -> list[tuple[int, str, str]]:
        result = []
        for index, raw in enumerate(raw_edges if isinstance(raw_edges, list) else []):
            if not isinstance(raw, dict) or "from" not in raw or "to" not in raw:
                self.warnings.add("dialect_dropped", "An edge without `from` and `to` was dropped.", ("edges", index))
                continue
            result.append((index, self._id(raw["from"]), self._id(raw["to"])))
        return result

    def _edge(self, raw: dict[str, Any], src_index: int, index: int, source: str, target: str) -> dict[str, Any]:
        src: Path = ("edges", src_index)
        dst: Path = ("spec", "edges", index)
        self.marks.put(dst, src)
        self.marks.put((*dst, "from"), (*src, "from"))
        self.marks.put((*dst, "to"), (*src, "to"))
        edge: dict[str, Any] = {"from": source, "to": target}
        for key in raw:
            if key not in EDGE_KEYS:
                self.warnings.add("dialect_dropped", f"Edge key `{key}` has no native equivalent; dropped.",
                                  (*src, key), path=dst)
        condition = raw.get("condition")
        if condition not in (None, ""):
            condition = str(condition)
            port = self._port(source, condition)
            if port is not None:
                edge["port"] = port
                self.marks.put((*dst, "port"), (*src, "condition"))
            else:
                if source in self.routers:
                    message = f"Edge condition {condition!r} names no branch of {source!r}; kept as a condition."
                    self.warnings.add("dialect_approximated", message,
                                      (*src, "condition"), path=(*dst, "condition"))
                edge["condition"] = wrap(self._expression(condition, {"data": "output", "$": "output"}))
                self.marks.put((*dst, "condition"), (*src, "condition"))
        if isinstance(raw.get("id"), str) and raw["id"]:
            edge["id"] = raw["id"]
            self.marks.put((*dst, "id"), (*src, "id"))
        return ordered(edge, EDGE_ORDER)

    def _port(self, source: str, condition: str) -> str | None:
        ports = self.routers.get(source)
        if ports is None:
            return None
        match = _PORT_RE.match(condition) or _PORT_REVERSED_RE.match(condition)
        if match is None:
            return None
        return ports.get(match.group(2))

    def _triggers(self) -> list[dict[str, Any]]:
        if isinstance(self.data.get("trigger"), dict):
            raws: list[tuple[Any, Path]] = [(self.data["trigger"], ("trigger",))]
            self.marks.put(("spec", "triggers"), ("trigger",))
        else:
            raws = [(t, ("triggers", i)) for i, t in enumerate(self.data.get("triggers") or [])]
            self.marks.put(("spec", "triggers"), ("triggers",))
        triggers = []
        for raw, src in raws:
            if not isinstance(raw, dict):
                self.warnings.add("dialect_dropped", "A trigger that is not a mapping was dropped.", src)
                continue
            triggers.append(self._trigger(raw, src, ("spec", "triggers", len(triggers))))
        return triggers

    def _trigger(self, raw: dict[str, Any], src: Path, dst: Path) -> dict[str, Any]:
        kind = str(raw.get("type") or "manual")
        config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
        trigger: dict[str, Any] = {"type": kind}
        self.marks.put(dst, src)
        self.marks.put((*dst, "type"), (*src, "type"))
        for key in ("name", "enabled"):
            if key in raw:
                trigger[key] = raw[key]
                self.marks.put((*dst, key), (*src, key))
        used: dict[str, str] = {}  # Go config key -> native key
        if kind == "cron":
            used = {"schedule": "schedule", "cron": "schedule", "timezone": "timezone", "input": "input"}
        elif kind == "interval":
            used = {"interval": "every", "every": "every", "input": "input"}
        elif kind == "event":
            used = {"event_type": "event", "event": "event", "source": "source", "filter": "filter"}
        elif kind == "webhook":
            used = {"mode": "mode"}
        for key, value in config.items():
            native_key = used.get(key)
            if native_key is None:
                self.warnings.add("dialect_dropped", f"Trigger config `{key}` has no native equivalent; dropped.",
                                  (*src, "config", key), path=dst)
                continue
            trigger[native_key] = duration(value) if native_key == "every" else value
            self.marks.rebase((*dst, native_key), (*src, "config", key))
        return trigger


def _replace_root(match: re.Match[str], roots: dict[str, str]) -> str:
    if match.group(1) is None:  # a bare `$`
        return roots.get("$", "$")
    name = match.group(1)
    return roots.get(name, name)


def _looks_like_expression(value: str) -> bool:
    """Whether a transform mapping value is an expression rather than a plain string."""
    text = value.strip()
    if text.startswith("$") or re.match(r"(input|data|variables|env)\b", text):
        return True
    if re.fullmatch(r"-?\d+(\.\d+)?|true|false|null", text):
        return True
    return bool(re.search(r"[()'\"|&=<>!+*/\[]", text))
