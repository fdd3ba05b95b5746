"""Checking a native document: schema, node types and configs, graph shape, expressions.

Every problem becomes an Issue with a code, the node id or edge index it concerns and the line
and column where the user wrote it. The work is linear in nodes + edges: configs are validated
in one pydantic call per node type, the graph is walked once for cycles and reachability, and
expressions are compiled once per distinct text.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from workflows.spec.catalog import get_node_type, node_types
from workflows.spec.expressions import check_syntax, is_expression, referenced_nodes
from workflows.spec.issues import Issue, Path
from workflows.spec.loader import LoadedDocument
from workflows.spec.models import EDGES_CHECK, NODES_CHECK, WorkflowSpec

# `{{ nodes.a.output.x }}`-style paths need no Jinja parse: the common case stays cheap.
_SIMPLE = re.compile(r"^\s*\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*|\[(?:'[^'\\]*'|\"[^\"\\]*\"|\d+)\])*)\s*\}\}\s*$")
_EXPRESSION_KEYS = ("config", "when", "fallback_output")  # the parts of a node that may hold expressions
_FIRST_KEY = re.compile(r"^(?:\.([A-Za-z_]\w*)|\[['\"]([^'\"]*)['\"]\])")


@dataclass(slots=True)
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    data: dict[str, Any] | None = None  # the checked document, when its schema holds
    _spec: WorkflowSpec | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def spec(self) -> WorkflowSpec | None:
        """The parsed spec of a document whose schema holds (built on first use)."""
        if self._spec is None and self.data is not None:
            self._spec = WorkflowSpec.model_validate(self.data)
        return self._spec

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


def _expression_refs(text: str) -> tuple[str | None, frozenset[str]]:
    """(syntax error or None, referenced node ids)."""
    simple = _SIMPLE.match(text)
    if simple:
        if simple.group(1) != "nodes":
            return None, frozenset()
        first = _FIRST_KEY.match(simple.group(2))
        return None, frozenset({first.group(1) or first.group(2)}) if first else frozenset()
    error = check_syntax(text)
    return error, (frozenset() if error else referenced_nodes(text))


class _Checker:
    def __init__(self, document: LoadedDocument) -> None:
        self.document = document
        self.report = ValidationReport(warnings=list(document.warnings))

    def add(
        self,
        code: str,
        message: str,
        path: Path,
        *,
        node_id: str | None = None,
        edge: int | None = None,
        severity: str = "error",
    ) -> None:
        mark = self.document.mark(path)
        issue = Issue(
            code=code,
            message=message,
            severity=severity,  # type: ignore[arg-type]
            node_id=node_id,
            edge=edge,
            path=path,
            line=mark[0] if mark else None,
            column=mark[1] if mark else None,
        )
        (self.report.errors if severity == "error" else self.report.warnings).append(issue)


_SCHEMA_CODES = {
    "extra_forbidden": "unknown_field",
    "missing": "missing_field",
    "literal_error": "invalid_value",
    "union_tag_invalid": "invalid_value",
}


def _schema_message(error: dict[str, Any], path: Path) -> str:
    where = ".".join(str(part) for part in path) or "document"
    if error["type"] == "extra_forbidden":
        return f"Unknown field `{path[-1]}` at {where}."
    if error["type"] == "missing":
        return f"Missing required field `{path[-1]}` at {where}."
    return f"{where}: {error['msg']}."


def _walkable(value: Any, loc: tuple[Any, ...]) -> tuple[Path, Any]:
    """The longest prefix of a pydantic error location that exists in the data, and its value."""
    path: list[str | int] = []
    for part in loc:
        exists = part in value if isinstance(value, dict) else (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        )
        if not exists:
            if isinstance(value, dict) and isinstance(part, str):
                path.append(part)  # a missing or unknown key: point at it by name
                return tuple(path), None
            break
        value = value[part]
        path.append(part)
    return tuple(path), value


def _node_id_at(nodes: list[Any], path: Path) -> str | None:
    if len(path) >= 3 and path[:2] == ("spec", "nodes") and isinstance(path[2], int) and path[2] < len(nodes):
        node = nodes[path[2]]
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            return node["id"]
    return None


def _schema_errors(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """(location, error) for each schema problem; nodes and edges are checked as plain dicts."""
    spec = data.get("spec")
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    outline = data
    if isinstance(spec, dict):
        lists = {key: spec[key] for key in ("nodes", "edges") if isinstance(spec.get(key), list)}
        outline = {**data, "spec": {**spec, **{key: [] for key in lists}}}
        for key, items in lists.items():
            try:
                (NODES_CHECK if key == "nodes" else EDGES_CHECK).validate_python(items)
            except ValidationError as exc:
                found.extend((("spec", key, *e["loc"]), e) for e in exc.errors(include_url=False))
    try:
        WorkflowSpec.model_validate(outline)
    except ValidationError as exc:
        found.extend((tuple(e["loc"]), e) for e in exc.errors(include_url=False))
    return found


def _check_schema(checker: _Checker, data: dict[str, Any], nodes: list[Any]) -> None:
    errors = _schema_errors(data)
    if not errors:
        checker.report.data = data
    else:
        seen: set[Path] = set()
        for loc, error in errors:
            path, _ = _walkable(data, loc)
            if path in seen:
                continue
            seen.add(path)
            checker.add(
                _SCHEMA_CODES.get(error["type"], "invalid_value"),
                _schema_message(error, path),
                path,
                node_id=_node_id_at(nodes, path),
                edge=path[2] if len(path) >= 3 and path[:2] == ("spec", "edges") else None,  # type: ignore[arg-type]
            )


def _check_configs(checker: _Checker, nodes: list[Any]) -> None:
    by_type: dict[str, list[int]] = defaultdict(list)
    known = {t.name for t in node_types()}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        type_name = node["type"]
        if type_name not in known:
            close = difflib.get_close_matches(type_name, sorted(known), n=3)
            hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
            checker.add(
                "unknown_node_type",
                f"Node `{node.get('id')}` has unknown type `{type_name}`.{hint}",
                ("spec", "nodes", index, "type"),
                node_id=node.get("id") if isinstance(node.get("id"), str) else None,
            )
            continue
        if isinstance(node.get("config", {}), dict):
            by_type[type_name].append(index)
    for type_name, indexes in by_type.items():
        node_type = get_node_type(type_name)
        assert node_type is not None
        configs = [nodes[i].get("config") or {} for i in indexes]
        try:
            node_type.list_adapter.validate_python(configs)
        except ValidationError as exc:
            seen: set[Path] = set()
            for error in exc.errors(include_url=False):
                item, *loc = error["loc"]
                config_path, value = _walkable(configs[item], tuple(loc))
                if is_expression(value):
                    continue  # checked when the expression has a value, at run time
                index = indexes[item]
                path = ("spec", "nodes", index, "config", *config_path)
                if path in seen:
                    continue
                seen.add(path)
                where = ".".join(str(p) for p in config_path) or "config"
                if error["type"] == "extra_forbidden":
                    message = f"`{type_name}` nodes have no config field `{config_path[-1]}`."
                elif error["type"] == "missing":
                    message = f"`{type_name}` nodes need config field `{config_path[-1]}`."
                else:
                    message = f"config.{where}: {error['msg']}." if config_path else f"config: {error['msg']}."
                checker.add("invalid_config", message, path, node_id=nodes[index].get("id"))


def _check_graph(checker: _Checker, spec: dict[str, Any], nodes: list[Any], edges: list[Any]) -> None:
    ids: dict[str, int] = {}
    for index, node in enumerate(nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str):
            continue
        if node_id in ids:
            checker.add(
                "duplicate_node_id",
                f"Node id `{node_id}` is used twice (first at node {ids[node_id]}).",
                ("spec", "nodes", index, "id"),
                node_id=node_id,
            )
        else:
            ids[node_id] = index

    children: dict[str, list[str]] = defaultdict(list)
    indegree: dict[str, int] = dict.fromkeys(ids, 0)
    for index, edge in enumerate(edges):
        if not isinstance(edge, dict):
            continue
        source, target = edge.get("from"), edge.get("to")
        if source in ids and target in ids:  # the common case, kept cheap
            children[source].append(target)  # type: ignore[index]
            indegree[target] += 1  # type: ignore[index]
            if "port" in edge:
                _check_port(checker, nodes[ids[source]], edge, index)  # type: ignore[index]
            continue
        ok = True
        for key, end in (("from", source), ("to", target)):
            if isinstance(end, str) and end not in ids:
                ok = False
                other = target if key == "from" else source
                checker.add(
                    "dangling_edge",
                    f"Edge {index} ({source} → {target}) {'starts at' if key == 'from' else 'goes to'} "
                    f"`{end}`, which is not a node.",
                    ("spec", "edges", index, key),
                    node_id=other if isinstance(other, str) and other in ids else None,
                    edge=index,
                )
        if ok and isinstance(source, str) and isinstance(target, str):
            children[source].append(target)
            indegree[target] += 1
            if "port" in edge:
                _check_port(checker, nodes[ids[source]], edge, index)

    policy_targets: set[str] = set()
    for index, node in enumerate(nodes):
        fallback = node.get("fallback") if isinstance(node, dict) else None
        if isinstance(fallback, str):
            if fallback in ids:
                policy_targets.add(fallback)
            else:
                checker.add(
                    "unknown_node_reference",
                    f"Node `{node.get('id')}` falls back to `{fallback}`, which is not a node.",
                    ("spec", "nodes", index, "fallback"),
                    node_id=node.get("id"),
                )
    for index, step in enumerate(spec.get("compensation") or []):
        if not isinstance(step, dict):
            continue
        for key in ("node", "when_failed"):
            ref = step.get(key)
            if isinstance(ref, str) and ref not in ids:
                checker.add(
                    "unknown_node_reference",
                    f"Compensation {index} names `{ref}`, which is not a node.",
                    ("spec", "compensation", index, key),
                )
            elif isinstance(ref, str) and key == "node":
                policy_targets.add(ref)

    # Kahn's algorithm: what is left over sits on or behind a cycle.
    remaining = dict(indegree)
    queue = deque(node_id for node_id, degree in remaining.items() if degree == 0)
    ordered = 0
    while queue:
        node_id = queue.popleft()
        ordered += 1
        for child in children.get(node_id, ()):
            remaining[child] -= 1
            if remaining[child] == 0:
                queue.append(child)
    in_cycle: set[str] = set()
    if ordered < len(ids):
        blocked = {node_id for node_id, degree in remaining.items() if degree > 0}
        for cycle in _cycles(blocked, children):
            in_cycle.update(cycle)
            first = cycle[0]
            checker.add(
                "cycle",
                f"The edges form a cycle: {' → '.join([*cycle, first])}.",
                ("spec", "nodes", ids[first]),
                node_id=first,
            )

    if ordered < len(ids):  # in a DAG every node is reached from a node without inbound edges
        _check_reachable(checker, ids, indegree, children, policy_targets, in_cycle)

    _check_expressions(checker, spec, nodes, edges, ids, children, policy_targets)


def _check_reachable(
    checker: _Checker,
    ids: dict[str, int],
    indegree: dict[str, int],
    children: dict[str, list[str]],
    policy_targets: set[str],
    in_cycle: set[str],
) -> None:
    roots = [node_id for node_id, degree in indegree.items() if degree == 0]
    reached = set(roots) | policy_targets
    queue = deque(reached)
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in reached:
                reached.add(child)
                queue.append(child)
    for node_id, index in ids.items():
        if node_id not in reached and node_id not in in_cycle:
            checker.add(
                "unreachable_node",
                f"Node `{node_id}` can never run: no path from an entry node leads to it.",
                ("spec", "nodes", index),
                node_id=node_id,
            )


def _check_port(checker: _Checker, source: dict[str, Any], edge: dict[str, Any], index: int) -> None:
    port = edge.get("port")
    node_type = get_node_type(source.get("type", "")) if isinstance(source.get("type"), str) else None
    if not isinstance(port, str) or node_type is None:
        return
    ports = set(node_type.output_ports)
    if node_type.dynamic_ports:
        config = source.get("config") or {}
        ports |= {c.get("output") for c in config.get(node_type.dynamic_ports) or [] if isinstance(c, dict)}
        ports.add(config.get("default", "default"))
    if port not in ports:
        checker.add(
            "unknown_port",
            f"Node `{source.get('id')}` ({node_type.name}) has no output port `{port}`; "
            f"it has {', '.join(sorted(str(p) for p in ports)) or 'none'}.",
            ("spec", "edges", index, "port"),
            node_id=source.get("id"),
            edge=index,
        )


def _cycles(blocked: set[str], children: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly tangled group, found by an iterative depth-first walk."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    found: list[list[str]] = []
    for start in sorted(blocked):
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node_id, position = stack[-1]
            kids = [c for c in children.get(node_id, ()) if c in blocked]
            if position < len(kids):
                stack[-1] = (node_id, position + 1)
                child = kids[position]
                if state.get(child) == 1:
                    found.append(path[path.index(child):])
                elif child not in state:
                    state[child] = 1
                    stack.append((child, 0))
                    path.append(child)
            else:
                state[node_id] = 2
                stack.pop()
                path.pop()
    return found


def _check_expressions(
    checker: _Checker,
    spec: dict[str, Any],
    nodes: list[Any],
    edges: list[Any],
    ids: dict[str, int],
    children: dict[str, list[str]],
    policy_targets: set[str],
) -> None:
    wanted: dict[str, list[tuple[str, Path]]] = defaultdict(list)  # referenced id → (reader, where)

    def scan(value: Any, base: Path, reader: str | None, node_id: str | None, edge: int | None = None) -> None:
        # Paths are built only for the strings that hold an expression: most values hold none.
        if isinstance(value, str):
            if is_expression(value):
                found(base, value, reader, node_id, edge)
            return
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(item, str):
                if ("{" in item or "$" in item) and is_expression(item):
                    found((*base, key), item, reader, node_id, edge)
            elif isinstance(item, dict | list):
                scan(item, (*base, key), reader, node_id, edge)

    def found(path: Path, text: str, reader: str | None, node_id: str | None, edge: int | None) -> None:
        error, refs = _expression_refs(text)
        if error:
            checker.add("expression_syntax", f"{error} in `{text}`.", path, node_id=node_id, edge=edge)
            return
        for ref in refs:
            if ref not in ids:
                checker.add(
                    "unknown_node_reference",
                    f"`{text}` reads node `{ref}`, which is not a node.",
                    path,
                    node_id=node_id,
                    edge=edge,
                )
            elif reader is not None:
                wanted[ref].append((reader, path))

    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        node_id = node.get("id") if isinstance(node.get("id"), str) else None
        reader = node_id if node_id in ids and node_id not in policy_targets else None
        for key in _EXPRESSION_KEYS:
            if key in node and node[key] and not isinstance(node[key], bool | int | float):
                scan(node[key], ("spec", "nodes", index, key), reader, node_id)
    for index, edge in enumerate(edges):
        if isinstance(edge, dict) and "condition" in edge:
            scan(edge["condition"], ("spec", "edges", index, "condition"), None, None, index)
    for key in ("variables", "output"):
        if key in spec:
            scan(spec[key], ("spec", key), None, None)

    for ref, readers in wanted.items():
        direct = children.get(ref, ())
        downstream: set[str] | None = None  # walked only when a reader is not a direct child
        for reader, path in readers:
            if reader in direct:  # a node has few children: a list is searched faster than a set is built
                continue
            if downstream is None:
                downstream = set()
                queue = deque(direct)
                while queue:
                    node_id = queue.popleft()
                    if node_id not in downstream:
                        downstream.add(node_id)
                        queue.extend(children.get(node_id, ()))
            if reader not in downstream:
                checker.add(
                    "reference_not_upstream",
                    f"Node `{reader}` reads `{ref}`, which does not run before it (no path {ref} → {reader}).",
                    path,
                    node_id=reader,
                )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Validation allocates many short-lived objects and no cycles; the cyclic GC only slows it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_document(document: LoadedDocument) -> ValidationReport:
    """Every problem of a loaded document; ``report.spec`` is the parsed spec when the schema holds."""
    with _collector_paused():
        return _validate(document)


def _validate(document: LoadedDocument) -> ValidationReport:
    checker = _Checker(document)
    data = document.data
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    nodes = spec.get("nodes") if isinstance(spec.get("nodes"), list) else []
    edges = spec.get("edges") if isinstance(spec.get("edges"), list) else []
    _check_schema(checker, data, nodes)
    _check_configs(checker, nodes)
    _check_graph(checker, spec, nodes, edges)
    return checker.report
