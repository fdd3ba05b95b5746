"""The two seed dialects, recognised and converted into the native `mbflow/v1` document.

`convert` is the only entry point the loader needs. It returns plain dicts and lists in the
order of the language reference, a new marks table that maps every native path to the line and
column of the source element it came from (so validation errors point at what the user wrote),
and warnings for whatever could not be carried over exactly.

The helpers below are shared by the two converters (`mbflow_go`, `magic_flow`); those modules
import them from here, which is why `convert` imports the converters when it is called.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Literal

from workflows.spec.issues import Issue, Marks, Path

Dialect = Literal["native", "mbflow", "magic_flow"]

MAGIC_FLOW_API_PREFIX = "workflow.magic-flow.io/"
NATIVE_API_VERSION = "mbflow/v1"
# The kind of a document that holds the input and output schemas of a workflow, not a workflow.
CONTEXT_KIND = "WorkflowContext"

NODE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WORKFLOW_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")

TIMEOUT_ACTIONS = ("cancel_and_cleanup", "retry", "fallback", "ignore")

# Key order of the language reference, used for every converted document.
SPEC_ORDER = (
    "input_schema", "output_schema", "variables", "defaults", "timeout", "timeout_action",
    "nodes", "edges", "output", "compensation", "triggers",
)
NODE_ORDER = (
    "id", "name", "description", "type", "config", "when", "timeout", "timeout_action", "retry",
    "fallback", "fallback_output", "circuit_breaker", "position",
)
EDGE_ORDER = ("from", "to", "on", "condition", "port", "id")


def detect_dialect(data: dict[str, Any]) -> Dialect:
    """Which dialect a parsed document is written in.

    Anything that is not recognisably a seed file is treated as native, so that the native
    validator reports what is wrong with it (an unknown `apiVersion` included).
    """
    if not isinstance(data, dict):
        return "native"
    api_version = data.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith(MAGIC_FLOW_API_PREFIX):
        return "magic_flow"
    if api_version is None and "spec" not in data:
        if isinstance(data.get("nodes"), list):
            return "mbflow"
        if "metadata" in data and "edges" in data:
            return "mbflow"
    return "native"


def convert(data: dict[str, Any], marks: Marks) -> tuple[dict[str, Any], Marks, Dialect, list[Issue]]:
    """Converts a seed-dialect document to native; a native document is returned unchanged."""
    dialect = detect_dialect(data)
    if dialect == "native":
        return data, marks, dialect, []
    # Imported here: both converters import the helpers of this module.
    if dialect == "mbflow":
        from workflows.spec.dialects.mbflow_go import convert_mbflow

        document, new_marks, issues = convert_mbflow(data, marks)
    else:
        from workflows.spec.dialects.magic_flow import convert_magic_flow

        document, new_marks, issues = convert_magic_flow(data, marks)
    return document, new_marks, dialect, issues


# --------------------------------------------------------------------------- shared helpers


class MarkMap:
    """Builds the native marks table from the source one.

    `put` records where one native path came from; `rebase` carries a whole source subtree
    (a node's `config`, say) over to a native prefix. A source path without a mark of its own
    takes the mark of its nearest marked ancestor, so every native path points somewhere useful.
    """

    def __init__(self, source: Marks) -> None:
        self.source = source
        self.marks: Marks = {}
        self._under: dict[Path, list[Path]] = defaultdict(list)
        for path in source:
            for depth in range(len(path) + 1):
                self._under[path[:depth]].append(path)

    def find(self, src: Path) -> tuple[int, int] | None:
        for depth in range(len(src), -1, -1):
            mark = self.source.get(src[:depth])
            if mark is not None:
                return mark
        return None

    def put(self, dst: Path, src: Path) -> None:
        mark = self.find(src)
        if mark is not None:
            self.marks[dst] = mark

    def rebase(self, dst: Path, src: Path) -> None:
        """dst and everything under it get the marks of src and everything under src."""
        self.put(dst, src)
        for path in self._under.get(src, ()):
            self.marks[dst + path[len(src):]] = self.source[path]

    def rebase_renamed(self, dst: Path, src: Path, renames: dict[str, str]) -> None:
        """Like `rebase` for a mapping whose first-level keys were renamed (old -> new)."""
        self.put(dst, src)
        for path in self._under.get(src, ()):
            rest = path[len(src):]
            if rest and isinstance(rest[0], str) and rest[0] in renames:
                rest = (renames[rest[0]], *rest[1:])
            self.marks[dst + rest] = self.source[path]


class Warnings:
    """Collects warnings with the source line of what was dropped or approximated."""

    def __init__(self, marks: MarkMap) -> None:
        self._marks = marks
        self.issues: list[Issue] = []

    def add(self, code: str, message: str, src: Path, *, node_id: str | None = None, path: Path = ()) -> None:
        mark = self._marks.find(src)
        line, column = mark if mark is not None else (None, None)
        self.issues.append(
            Issue(code=code, message=message, severity="warning", node_id=node_id, path=path, line=line, column=column)
        )


def slugify(name: str) -> str:
    """A workflow name from a display name: lowercase, spaces to dashes, nothing else exotic."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.strip().lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-_.")
    return slug[:100].rstrip("-_.") or "workflow"


def safe_node_id(raw: Any, taken: set[str]) -> str:
    """A valid, unused node id as close to `raw` as possible."""
    text = str(raw).strip()
    candidate = re.sub(r"[^A-Za-z0-9_-]+", "_", text) or "node"
    if not re.match(r"[A-Za-z_]", candidate):
        candidate = f"n_{candidate}"
    candidate = candidate[:64]
    unique, n = candidate, 2
    while unique in taken:
        suffix = f"_{n}"
        unique, n = candidate[: 64 - len(suffix)] + suffix, n + 1
    return unique


def node_ref(node_id: str) -> str:
    """The expression for a node's output: `nodes.a.output` or `nodes['a-b'].output`."""
    if IDENTIFIER_RE.match(node_id):
        return f"nodes.{node_id}.output"
    return f"nodes['{node_id}'].output"


def duration(value: Any) -> Any:
    """Seconds as a number become `Ns` (or `Nms`); strings are kept as written."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"{value}s"
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value)}s"
        return f"{round(value * 1000)}ms"
    return value


def ordered(mapping: dict[str, Any], order: Iterable[str], keep: Iterable[str] = ()) -> dict[str, Any]:
    """The mapping's keys in `order` (then any others), without empty values except those in `keep`."""
    order, keep = tuple(order), set(keep)
    keys = [*order, *(k for k in mapping if k not in order)]
    return {k: mapping[k] for k in keys if k in mapping and (k in keep or not _empty(mapping[k]))}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, dict | list | str) and len(value) == 0)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def string_map(mapping: dict[str, Any]) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else str(v) for k, v in mapping.items() if v is not None}


def literal(text: str) -> Any:
    """A scalar written in an expression language: 'a', "a", 3, 2.5, true, null; else the text."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered in ("null", "nil", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# Expression rewriting. Both seed languages use JavaScript-ish operators; the native language is
# Jinja2. We rewrite the code parts of an expression and leave its string literals alone.

_STRING_RE = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")


def split_code(expr: str) -> list[tuple[bool, str]]:
    """(is_code, text) pieces of an expression: string literals are not code."""
    pieces: list[tuple[bool, str]] = []
    pos = 0
    for match in _STRING_RE.finditer(expr):
        if match.start() > pos:
            pieces.append((True, expr[pos:match.start()]))
        pieces.append((False, match.group(0)))
        pos = match.end()
    if pos < len(expr):
        pieces.append((True, expr[pos:]))
    return pieces


def rewrite_operators(code: str) -> str:
    """`&&`, `||`, `!`, `===`, `null` and friends in their Jinja spelling."""
    code = code.replace("===", "==").replace("!==", "!=")
    code = code.replace("&&", " and ").replace("||", " or ")
    code = re.sub(r"!(?!=)", " not ", code)
    code = re.sub(r"(?<![\w.])(null|nil)(?!\w)", "none", code)
    code = re.sub(r"\.length\(\)|\.length(?!\w)", " | length", code)
    code = re.sub(r"\.size\(\)", " | length", code)
    return re.sub(r"[ ]{2,}", " ", code)


def rewrite_or_default(expr: str) -> str | None:
    """`a || 'x'` (no comparison inside) → `a | default('x', true)`: JavaScript's falsy fallback.

    Returns None when the expression is not such a chain.
    """
    pieces = split_code(expr)
    code_only = "".join(text for is_code, text in pieces if is_code)
    if "||" not in code_only or re.search(r"==|!=|<|>|&&|\bor\b|\band\b", code_only):
        return None
    parts: list[str] = []
    current = ""
    for is_code, text in pieces:
        if not is_code:
            current += text
            continue
        chunks = text.split("||")
        current += chunks[0]
        for chunk in chunks[1:]:
            parts.append(current.strip())
            current = chunk
    parts.append(current.strip())
    if any(not part for part in parts):
        return None
    result = parts[0]
    for fallback in parts[1:]:
        result = f"{result} | default({fallback}, true)"
    return result


def wrap(expr: str) -> str:
    return "{{ " + expr.strip() + " }}"


_TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.S)


def rewrite_templates(text: str, translate: Callable[[str], str | None]) -> tuple[str, bool]:
    """Applies `translate(inner) -> str | None` to each `{{ ... }}` of a string.

    Returns the new text and whether every placeholder could be translated; a placeholder
    `translate` refuses (None) is left as written.
    """
    ok = True

    def one(match: re.Match[str]) -> str:
        nonlocal ok
        inner = match.group(1)
        translated = translate(inner)
        if translated is None:
            ok = False
            return match.group(0)
        return wrap(translated)

    return _TEMPLATE_RE.sub(one, text), ok


def lift_required(schema: Any) -> Any:
    """JSON Schema with `required: true` on properties (a common slip) → a `required` list."""
    if not isinstance(schema, dict):
        return schema
    result = {k: lift_required(v) if k in ("items", "additionalProperties") else v for k, v in schema.items()}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = [r for r in as_list(schema.get("required")) if isinstance(r, str)]
        new_props: dict[str, Any] = {}
        for name, prop in properties.items():
            if isinstance(prop, dict) and isinstance(prop.get("required"), bool):
                prop = dict(prop)
                if prop.pop("required") and name not in required:
                    required.append(name)
            new_props[name] = lift_required(prop)
        result["properties"] = new_props
        if required:
            result["required"] = required
        elif "required" in result and not isinstance(result["required"], list):
            del result["required"]
    return result
