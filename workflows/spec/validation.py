"""Checking a native document: schema, node types and configs, graph shape, expressions.

Every problem becomes an Issue with a code, the node id or edge index it concerns and the line
and column where the user wrote it. The work is linear in nodes + edges, and it is kept small for
documents without problems, which are most of them:

- the nodes and edges are read a block at a time (ids, edge ends, expressions) while pydantic
  checks the same block of nodes and their configs (``document_check``); only when that check
  says no are the parts checked one by one, for the messages;
- the graph is lists of node indexes; when every edge points down the node list, as people
  usually write, that order is already topological and Kahn's algorithm is skipped;
- a node usually reads its parents: only its other reads walk the graph, down to the reading
  nodes' place in the topological order (one walk per node read that way);
- lines and columns are looked up only for problems, and each distinct expression text is
  analysed once (then cached, like compiled expressions).
"""

from __future__ import annotations

import difflib
import gc
import re
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from operator import lt
from typing import Any

from pydantic import ValidationError

from workflows.spec.catalog import get_node_type, node_types
from workflows.spec.document_check import edges_to_check, nodes_hold, outline_holds
from workflows.spec.expressions import check_syntax, is_expression, referenced_nodes
from workflows.spec.issues import Issue, Path
from workflows.spec.loader import LoadedDocument
from workflows.spec.models import EDGES_CHECK, NODES_CHECK, WorkflowSpec

# `{{ nodes.a.output.x }}`-style paths need no Jinja parse: the common case stays cheap.
_TAIL = r"((?:\.[A-Za-z_]\w*|\[(?:'[^'\\]*'|\"[^\"\\]*\"|\d+)\])*)\s*\}\}\s*$"
_SIMPLE = re.compile(r"^\s*\{\{\s*([A-Za-z_]\w*)" + _TAIL)
_NODE_PATH = re.compile(r"^\s*\{\{\s*nodes\.([A-Za-z_]\w*)" + _TAIL)  # the same, reading `nodes.<id>`
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


_CACHED_TEXTS = 16384


@lru_cache(maxsize=_CACHED_TEXTS)
def _expression_refs(text: str) -> tuple[str | None, Collection[str]]:
    """(syntax error or None, referenced node ids)."""
    node_path = _NODE_PATH.match(text)
    if node_path:  # the usual expression, found with one match
        return None, (node_path.group(1),)
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


# Reading the nodes and edges. Validation needs a few values of each (ids, ends, expressions); they
# are read a block at a time, and pydantic checks the same block, while it sits in the CPU cache:
# at 10k nodes this is about a quarter faster than one pass over the whole document after another.

_BLOCK = 512


def _values(items: list[Any], key: str) -> list[Any]:
    """``item.get(key)`` for each item, None where an item is not a mapping."""
    try:
        return list(map(dict.get, items, repeat(key)))  # the usual case, at C speed
    except TypeError:
        return [item.get(key) if isinstance(item, dict) else None for item in items]


@dataclass(slots=True)
class _NodeTable:
    names: list[Any] = field(default_factory=list)  # each node's id, None where it has none
    fallbacks: list[Any] = field(default_factory=list)
    expressions: list[tuple[Path, str]] = field(default_factory=list)  # (where, text), in document order
    schema_holds: bool = True  # every node holds its schema and config schema (False says nothing more)


def _read_nodes(nodes: list[Any]) -> _NodeTable:
    """What validation needs from the nodes, and whether they hold their schemas."""
    table = _NodeTable()
    for start in range(0, len(nodes), _BLOCK):
        block = nodes[start:start + _BLOCK]
        table.schema_holds = table.schema_holds and nodes_hold(block)
        table.names += _values(block, "id")
        table.fallbacks += _values(block, "fallback")
        _find_node_expressions(block, start, table.expressions)
    return table


@dataclass(slots=True)
class _EdgeTable:
    sources: list[Any] = field(default_factory=list)  # each edge's `from`, None where it has none
    targets: list[Any] = field(default_factory=list)
    unchecked: list[int] = field(default_factory=list)  # the edges that need a schema check (not bare)


def _read_edges(edges: list[Any]) -> _EdgeTable:
    """Each edge's ends, and which edges need a schema check."""
    table = _EdgeTable()
    for start in range(0, len(edges), _BLOCK):
        block = edges[start:start + _BLOCK]
        sources, targets = _values(block, "from"), _values(block, "to")
        table.unchecked += [start + index for index in edges_to_check(block, sources, targets)]
        table.sources += sources
        table.targets += targets
    return table


# Expressions: found in document order, with the path where each was written.


def _find_node_expressions(nodes: list[Any], start: int, found: list[tuple[Path, str]]) -> None:
    """Appends (path, text) for each expression in ``nodes``, the nodes from index ``start`` on."""
    keys = _EXPRESSION_KEYS if any(_values(nodes, "when")) or any(_values(nodes, "fallback_output")) else ("config",)
    for index, node in enumerate(nodes, start):
        if not isinstance(node, dict):
            continue
        for key in keys:
            _find_expressions(node.get(key), ("spec", "nodes", index, key), found)


def _find_expressions(value: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    """Appends (path, text) for each expression inside ``value``, which sits at ``path``."""
    if isinstance(value, (dict, list)):
        if value:
            _find_expressions_within(value, path, found)
    elif isinstance(value, str) and is_expression(value):
        found.append((path, value))


def _find_expressions_within(container: dict[str, Any] | list[Any], path: Path, found: list[tuple[Path, str]]) -> None:
    # The hot loop of validation: paths are built only for containers and expressions.
    for key, item in container.items() if isinstance(container, dict) else enumerate(container):
        if isinstance(item, str):
            if ("{" in item or "$" in item) and is_expression(item):
                found.append(((*path, key), item))
        elif isinstance(item, (dict, list)):
            _find_expressions_within(item, (*path, key), found)


def _other_expressions(spec: dict[str, Any], edges: list[Any], unchecked: list[int]) -> list[tuple[Path, str]]:
    """(path, text) of every expression in edge conditions and the workflow's variables, output
    and business metrics."""
    found: list[tuple[Path, str]] = []
    for index in unchecked:  # a bare edge has no condition
        if isinstance(edges[index], dict) and "condition" in edges[index]:
            _find_expressions(edges[index]["condition"], ("spec", "edges", index, "condition"), found)
    for key in ("variables", "output", "metrics"):
        if key in spec:
            _find_expressions(spec[key], ("spec", key), found)
    return found


# The graph. Nodes are numbered by their index in `spec.nodes` (a node whose id an earlier node
# already has, or that has no id, gets no edges); edges are kept as parallel lists of such numbers.


def _indexes(ids: dict[str, int], names: list[Any]) -> list[int | None]:
    """The index of the node each name names, None where it names no node."""
    try:
        return list(map(ids.get, names))
    except TypeError:  # an unhashable value, which the schema check reports
        return [ids.get(name) if isinstance(name, str) else None for name in names]


@dataclass(slots=True)
class _Graph:
    """The nodes by index, and the edges whose two ends are nodes."""

    names: list[Any]  # each node's id, None where it has none
    ids: dict[str, int]  # node id → index of the first node with it
    heads: list[int]  # the edges whose two ends are nodes, in document order
    tails: list[int]
    children: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.children = [[] for _ in self.names]
        for head, tail in zip(self.heads, self.tails, strict=True):
            self.children[head].append(tail)

    def indegree(self) -> list[int]:
        degree = [0] * len(self.names)
        for tail, count in Counter(self.tails).items():
            degree[tail] = count
        return degree


def _node_ids(checker: _Checker, names: list[Any]) -> dict[str, int]:
    """Each node id → the index of the first node with it; reports the later nodes with the same id."""
    if set(map(type, names)) == {str}:
        ids = dict(zip(names, range(len(names)), strict=True))
        if len(ids) == len(names):  # no id is used twice: nothing to report
            return ids
    ids = {}
    for index, node_id in enumerate(names):
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
    return ids


def _connect(checker: _Checker, nodes: list[Any], edges: list[Any], table: _EdgeTable,
             ids: dict[str, int]) -> tuple[list[int], list[int]]:
    """The edges whose two ends are nodes, as (heads, tails); reports dangling edges and unknown ports."""
    heads, tails = _indexes(ids, table.sources), _indexes(ids, table.targets)
    if None not in heads and None not in tails:  # the usual case: only edges with a port need a look
        for index in table.unchecked:  # a bare edge has no port
            if "port" in edges[index]:
                _check_port(checker, nodes[heads[index]], edges[index], index)  # type: ignore[index]
        return heads, tails  # type: ignore[return-value]
    kept_heads, kept_tails = [], []
    for index, (head, tail) in enumerate(zip(heads, tails, strict=True)):
        if head is not None and tail is not None:
            kept_heads.append(head)
            kept_tails.append(tail)
            if "port" in edges[index]:
                _check_port(checker, nodes[head], edges[index], index)
        else:
            _report_dangling(checker, table.sources[index], table.targets[index], index, ids)
    return kept_heads, kept_tails


def _report_dangling(checker: _Checker, source: Any, target: Any, index: int, ids: dict[str, int]) -> None:
    for key, end in (("from", source), ("to", target)):
        if isinstance(end, str) and end not in ids:
            other = target if key == "from" else source
            checker.add(
                "dangling_edge",
                f"Edge {index} ({source} → {target}) {'starts at' if key == 'from' else 'goes to'} "
                f"`{end}`, which is not a node.",
                ("spec", "edges", index, key),
                node_id=other if isinstance(other, str) and other in ids else None,
                edge=index,
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


def _policy_targets(checker: _Checker, spec: dict[str, Any], nodes: list[Any], fallbacks: list[Any],
                    ids: dict[str, int]) -> set[int]:
    """Fallback and compensation nodes: they run when another node fails, not after their inbound edges."""
    targets: set[int] = set()
    for index, fallback in enumerate(fallbacks) if any(fallbacks) else ():
        if not isinstance(fallback, str):
            continue
        if fallback in ids:
            targets.add(ids[fallback])
        else:
            checker.add(
                "unknown_node_reference",
                f"Node `{nodes[index].get('id')}` falls back to `{fallback}`, which is not a node.",
                ("spec", "nodes", index, "fallback"),
                node_id=nodes[index].get("id"),
            )
    steps = spec.get("compensation")
    for index, step in enumerate(steps if isinstance(steps, list) else ()):
        if not isinstance(step, dict):
            continue
        for key in ("node", "when_failed", "compensates"):
            ref = step.get(key)
            if isinstance(ref, str) and ref not in ids:
                checker.add(
                    "unknown_node_reference",
                    f"Compensation {index} names `{ref}`, which is not a node.",
                    ("spec", "compensation", index, key),
                )
            elif isinstance(ref, str) and key == "node":
                targets.add(ids[ref])
    return targets


def _check_node_rules(checker: _Checker, nodes: list[Any]) -> None:
    """What the schemas cannot say (one of two keys, a key that needs another)."""
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        node_id = node.get("id") if isinstance(node.get("id"), str) else None
        if node.get("limit") is not None and node.get("concurrency") is None and node.get("rate_limit") is None:
            checker.add("limit_without_bounds",
                        f"Node `{node_id}` names the limit `{node['limit']}` without `concurrency` or `rate_limit`.",
                        ("spec", "nodes", index, "limit"), node_id=node_id)
        config = node.get("config")
        if node.get("type") == "foreach" and isinstance(config, dict):
            if ("node" in config) == ("workflow" in config):
                checker.add("foreach_needs_one",
                            f"Foreach `{node_id}` needs either `node` (run per item) or `workflow` (a sub-workflow "
                            f"per item).", ("spec", "nodes", index, "config"), node_id=node_id)
            elif "node" in config and ("input" in config or "version" in config):
                checker.add("foreach_needs_one", f"Foreach `{node_id}`: `input` and `version` go with `workflow`.",
                            ("spec", "nodes", index, "config"), node_id=node_id)


def _topological_positions(graph: _Graph) -> Sequence[int] | None:
    """Each node's position in an order that every edge follows; None when the edges form a cycle."""
    if all(map(lt, graph.heads, graph.tails)):  # every edge points down the list, as people usually write
        return range(len(graph.names))
    order = _kahn(graph, graph.indegree())
    if len(order) < len(graph.names):
        return None
    positions = [0] * len(order)
    for position, index in enumerate(order):
        positions[index] = position
    return positions


def _kahn(graph: _Graph, remaining: list[int]) -> list[int]:
    """Kahn's algorithm: the nodes it can order; ``remaining`` keeps the inbound edges of the others."""
    order = [index for index, degree in enumerate(remaining) if degree == 0]
    for index in order:  # grows while it is read
        for child in graph.children[index]:
            remaining[child] -= 1
            if remaining[child] == 0:
                order.append(child)
    return order


def _check_cycles(checker: _Checker, graph: _Graph, policy_targets: set[int]) -> None:
    """Names one cycle per tangled group, then the nodes that only a cycle leads to."""
    remaining = graph.indegree()
    _kahn(graph, remaining)
    blocked = {index for index, degree in enumerate(remaining) if degree > 0}  # on or behind a cycle
    in_cycle: set[int] = set()
    for cycle in _cycles(graph, blocked):
        in_cycle.update(cycle)
        first = cycle[0]
        checker.add(
            "cycle",
            f"The edges form a cycle: {' → '.join(graph.names[index] for index in [*cycle, first])}.",
            ("spec", "nodes", first),
            node_id=graph.names[first],
        )
    _check_reachable(checker, graph, policy_targets, in_cycle)


def _cycles(graph: _Graph, blocked: set[int]) -> list[list[int]]:
    """One cycle per strongly tangled group, found by an iterative depth-first walk."""
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    found: list[list[int]] = []
    for start in sorted(blocked, key=graph.names.__getitem__):
        if start in state:
            continue
        stack: list[tuple[int, int]] = [(start, 0)]
        path: list[int] = [start]
        state[start] = 1
        while stack:
            index, position = stack[-1]
            kids = [child for child in graph.children[index] if child in blocked]
            if position < len(kids):
                stack[-1] = (index, position + 1)
                child = kids[position]
                if state.get(child) == 1:
                    found.append(path[path.index(child):])
                elif child not in state:
                    state[child] = 1
                    stack.append((child, 0))
                    path.append(child)
            else:
                state[index] = 2
                stack.pop()
                path.pop()
    return found


def _check_reachable(checker: _Checker, graph: _Graph, policy_targets: set[int], in_cycle: set[int]) -> None:
    indegree = graph.indegree()
    reached = {index for index in graph.ids.values() if indegree[index] == 0} | policy_targets
    queue = deque(reached)
    while queue:
        for child in graph.children[queue.popleft()]:
            if child not in reached:
                reached.add(child)
                queue.append(child)
    for node_id, index in graph.ids.items():
        if index not in reached and index not in in_cycle:
            checker.add(
                "unreachable_node",
                f"Node `{node_id}` can never run: no path from an entry node leads to it.",
                ("spec", "nodes", index),
                node_id=node_id,
            )


# What expressions read.

_Read = tuple[int, int, Path]  # (read node, reading node, where the reading node reads it)


def _check_expressions(
    checker: _Checker, found: list[tuple[Path, str]], graph: _Graph, policy_targets: set[int]
) -> list[_Read]:
    """Reports bad syntax and reads of unknown nodes; returns the reads whose order must be checked.

    A fallback or compensation node runs when another node fails, so what it reads is not checked.
    """
    reads: list[_Read] = []
    ids = graph.ids
    # A document with more expressions than the cache holds would only churn it.
    refs_of = _expression_refs if len(found) <= _CACHED_TEXTS else _expression_refs.__wrapped__
    for path, text in found:
        node_id = graph.names[path[2]] if path[1] == "nodes" else None  # type: ignore[index]
        if not isinstance(node_id, str):
            node_id = None
        edge = path[2] if path[1] == "edges" else None
        error, refs = refs_of(text)
        if error:
            checker.add("expression_syntax", f"{error} in `{text}`.", path, node_id=node_id, edge=edge)  # type: ignore[arg-type]
            continue
        reader = ids.get(node_id) if node_id is not None else None
        for ref in refs:
            if ref not in ids:
                checker.add(
                    "unknown_node_reference",
                    f"`{text}` reads node `{ref}`, which is not a node.",
                    path,
                    node_id=node_id,
                    edge=edge,  # type: ignore[arg-type]
                )
            elif reader is not None and reader not in policy_targets:
                reads.append((ids[ref], reader, path))
    return reads


def _check_upstream(checker: _Checker, graph: _Graph, positions: Sequence[int] | None, reads: list[_Read]) -> None:
    """A node may read only nodes that run before it: those with a path to it."""
    children = graph.children
    if all(reader in children[ref] for ref, reader, _ in reads):  # the usual case: a node reads its parents
        return
    by_ref: dict[int, list[tuple[int, Path]]] = defaultdict(list)
    for ref, reader, path in reads:
        by_ref[ref].append((reader, path))
    for ref, readers in by_ref.items():
        direct = children[ref]
        downstream: set[int] | None = None  # walked only when a reader is not a direct child
        for reader, path in readers:
            if reader in direct:  # a node has few children: a list is searched faster than a set is built
                continue
            if positions is not None and positions[reader] <= positions[ref]:
                upstream = False  # nothing later in the order runs before
            else:
                if downstream is None:
                    limit = max(positions[r] for r, _ in readers) if positions is not None else None
                    downstream = _downstream(graph, ref, positions, limit)
                upstream = reader in downstream
            if not upstream:
                checker.add(
                    "reference_not_upstream",
                    f"Node `{graph.names[reader]}` reads `{graph.names[ref]}`, which does not run before it "
                    f"(no path {graph.names[ref]} → {graph.names[reader]}).",
                    path,
                    node_id=graph.names[reader],
                )


def _downstream(graph: _Graph, start: int, positions: Sequence[int] | None, limit: int | None) -> set[int]:
    """The nodes with a path from ``start``; with ``positions``, only those placed up to ``limit``."""
    reached: set[int] = set()
    stack = [start]
    while stack:
        for child in graph.children[stack.pop()]:
            if child not in reached and (positions is None or positions[child] <= limit):  # type: ignore[operator]
                reached.add(child)
                stack.append(child)
    return reached


def _check_triggers(checker: _Checker, spec: dict[str, Any]) -> None:
    """A trigger's name identifies it across versions (its webhook URL, its schedule): one each."""
    triggers = spec.get("triggers") if isinstance(spec.get("triggers"), list) else []
    seen: set[str] = set()
    for index, trigger in enumerate(triggers):
        name = trigger.get("name") if isinstance(trigger, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            checker.add("duplicate_trigger_name", f"Two triggers are named `{name}`; give each its own name.",
                        ("spec", "triggers", index, "name"))
        seen.add(name)


def _check_metrics(checker: _Checker, spec: dict[str, Any]) -> None:
    """A business metric is known by its name (in the API, on the dashboard, in Prometheus): one each."""
    metrics = spec.get("metrics") if isinstance(spec.get("metrics"), list) else []
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        name = metric.get("name") if isinstance(metric, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            checker.add("duplicate_metric_name", f"Two metrics are named `{name}`; give each its own name.",
                        ("spec", "metrics", index, "name"))
        seen.add(name)


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
    node_table, edge_table = _read_nodes(nodes), _read_edges(edges)

    # Schema and configs: checked part by part, for the messages, only when the quick check says no.
    if node_table.schema_holds and outline_holds(data, [edges[index] for index in edge_table.unchecked]):
        checker.report.data = data
    else:
        _check_schema(checker, data, nodes)
        _check_configs(checker, nodes)

    # The graph, in the order its problems are reported.
    ids = _node_ids(checker, node_table.names)
    graph = _Graph(node_table.names, ids, *_connect(checker, nodes, edges, edge_table, ids))
    policy_targets = _policy_targets(checker, spec, nodes, node_table.fallbacks, ids)
    _check_node_rules(checker, nodes)
    positions = _topological_positions(graph)
    if positions is None:
        _check_cycles(checker, graph, policy_targets)
    found = [*node_table.expressions, *_other_expressions(spec, edges, edge_table.unchecked)]
    reads = _check_expressions(checker, found, graph, policy_targets)
    _check_upstream(checker, graph, positions, reads)
    _check_triggers(checker, spec)
    _check_metrics(checker, spec)
    return checker.report
