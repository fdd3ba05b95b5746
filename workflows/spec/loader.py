"""Reading YAML text into plain data, remembering where every key and item was written.

The loader walks libyaml's event stream itself instead of building a node tree, so it can stop a
document that is too large, too deep or expands aliases past a limit before it costs memory, and
so that every path into the document keeps its line and column for error messages. Scalars are
resolved with the YAML 1.2 core schema: ``on``, ``yes`` and ``no`` stay strings.

Large documents (``FAST_PATH_MIN_BYTES`` and up) are first read by rapidyaml (C++), which turns
the text into JSON that ``json`` reads: a 10k-node workflow in about 40 ms instead of 700 ms on
libyaml's events, whose Python objects alone cost 150 ms. That path is taken only when it gives
exactly what the event walk gives: no tag, anchor, alias, directive or complex key in the text, no
value the two read differently (``~``, ``0x1F``, ``.inf``...), no duplicate key, one document in
the native dialect; anything else, and every error, goes through the event walk. The line marks
of a document read that way are worked out by the event walk when first asked for (an error or a
warning to place), so a valid document never pays for them.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import yaml

try:  # rapidyaml: the fast path for large documents; without it every document takes the event walk
    import ryml
except ImportError:  # pragma: no cover - a declared dependency
    ryml = None

from workflows.spec.dialects import CONTEXT_KIND, detect_dialect
from workflows.spec.issues import Issue, Marks, Path, SpecSyntaxError

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000
_SHARED_TEXT_CHARS = 64  # node ids are at most this long
FAST_PATH_MIN_BYTES = 64 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_TAG = "tag:yaml.org,2002:"


def resolve_plain(text: str) -> Any:
    """A plain (unquoted) scalar under the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        # Past Python's 4,300-digit limit int() raises; as a float it reads as infinite, which
        # no stored document may hold (mbflow_site/storable.py refuses it with its line).
        return int(text) if len(text) <= 4000 else float(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


class LoadedDocument:
    """A document read from text (or given as data), converted to the native dialect."""

    __slots__ = ("_marks", "_text", "data", "dialect", "warnings")

    def __init__(
        self,
        dialect: str,
        data: dict[str, Any],
        marks: Marks | None = None,
        warnings: list[Issue] | None = None,
        *,
        text: str | None = None,
    ) -> None:
        self.dialect = dialect
        self.data = data
        self.warnings: list[Issue] = warnings if warnings is not None else []
        # Without marks but with its text (the fast path): the marks are read from the text on demand.
        self._marks = marks if marks is not None or text is None else None
        if self._marks is None and text is None:
            self._marks = {}
        self._text = text

    @property
    def marks(self) -> Marks:
        """Line and column of every path into the document."""
        if self._marks is None:
            self._marks = parse_yaml(self._text or "")[1]
            self._text = None
        return self._marks

    @property
    def kind(self) -> str:
        """`Workflow`, or `WorkflowContext` for a document holding a workflow's input and output schemas."""
        return CONTEXT_KIND if self.data.get("kind") == CONTEXT_KIND else "Workflow"

    def mark(self, path: Path) -> tuple[int, int] | None:
        """Where ``path`` (or the nearest enclosing element) was written."""
        marks = self.marks
        while True:
            found = marks.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]


def _mark(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _fail(code: str, message: str, event: Any | None = None) -> SpecSyntaxError:
    line, column = _mark(event) if event is not None else (None, None)
    return SpecSyntaxError(code, message, line, column)


def _scalar(event: yaml.ScalarEvent) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        return resolve_plain(event.value) if event.style in (None, "") and tag is None else event.value
    if not tag.startswith(_TAG):
        raise _fail("unsupported_tag", f"The tag {tag} is not allowed in a workflow document.", event)
    kind = tag[len(_TAG):]
    if kind == "str":
        return event.value
    value = resolve_plain(event.value)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}.get(kind)
    if expected is None:
        raise _fail("unsupported_tag", f"The tag !!{kind} is not allowed in a workflow document.", event)
    if not isinstance(value, expected) or (kind != "bool" and isinstance(value, bool)):
        raise _fail("yaml_syntax", f"{event.value!r} is not a valid !!{kind}.", event)
    return float(value) if kind == "float" else value


class _Frame:
    __slots__ = ("anchor", "container", "count_start", "key", "path")

    def __init__(self, container: Any, path: Path, anchor: str | None, count_start: int) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.count_start = count_start
        self.key: str | None = None


def parse_yaml(text: str) -> tuple[Any, Marks]:
    """Plain data and marks for one YAML document; SpecSyntaxError for anything unreadable."""
    if len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise SpecSyntaxError(
            "document_too_large", f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."
        )
    marks: Marks = {}
    # One object for all equal keys and short texts (ids, types): a document takes less memory,
    # and looking a key or an id up finds the same object instead of comparing two texts.
    shared: dict[str, str] = {}
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    root: Any = None
    documents = 0
    count = 0

    def place(value: Any, event: Any, anchor: str | None, size: int) -> None:
        nonlocal root
        if anchor:
            anchors[anchor] = (value, size)
        if not stack:
            root = value
            marks[()] = _mark(event)
            return
        frame = stack[-1]
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            frame.container.append(value)
            marks.setdefault(path, _mark(event))
        else:
            key = frame.key
            assert key is not None
            frame.container[key] = value
            frame.key = None

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail("multiple_documents", "Send one workflow document per request.", event)
                continue
            if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentEndEvent):
                continue
            awaiting_key = bool(stack) and isinstance(stack[-1].container, dict) and stack[-1].key is None
            if isinstance(event, yaml.ScalarEvent):
                count += 1
                if awaiting_key:
                    frame = stack[-1]
                    key = shared.setdefault(event.value, event.value)
                    if key in frame.container:
                        raise _fail("duplicate_key", f"The key {key!r} appears twice in one mapping.", event)
                    frame.key = key
                    marks[(*frame.path, key)] = _mark(event)
                    continue
                value = _scalar(event)
                if isinstance(value, str) and len(value) <= _SHARED_TEXT_CHARS:
                    value = shared.setdefault(value, value)
                place(value, event, event.anchor, 1)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if awaiting_key:
                    raise _fail("unsupported_key", "Mapping keys must be plain text.", event)
                if event.tag not in (None, "!", f"{_TAG}map", f"{_TAG}seq"):
                    raise _fail("unsupported_tag", f"The tag {event.tag} is not allowed in a workflow document.", event)
                if len(stack) >= MAX_DEPTH:
                    raise _fail("nesting_too_deep", f"The document nests deeper than {MAX_DEPTH} levels.", event)
                count += 1
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                if stack:
                    parent = stack[-1]
                    if isinstance(parent.container, list):
                        path = (*parent.path, len(parent.container))
                        marks.setdefault(path, _mark(event))
                    else:
                        path = (*parent.path, parent.key)  # type: ignore[arg-type]
                else:
                    path = ()
                    marks[()] = _mark(event)
                stack.append(_Frame(container, path, event.anchor, count))
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                frame = stack.pop()
                size = count - frame.count_start + 1
                if stack:
                    parent = stack[-1]
                    if isinstance(parent.container, list):
                        parent.container.append(frame.container)
                    else:
                        parent.container[parent.key] = frame.container
                        parent.key = None
                else:
                    root = frame.container
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, size)
            elif isinstance(event, yaml.AliasEvent):
                if awaiting_key:
                    raise _fail("unsupported_key", "Mapping keys must be plain text, not aliases.", event)
                if event.anchor not in anchors:
                    raise _fail("yaml_syntax", f"The alias *{event.anchor} has no anchor before it.", event)
                value, size = anchors[event.anchor]
                count += size
                if count > MAX_EXPANDED_NODES:
                    raise _fail(
                        "alias_expansion_too_large",
                        f"Aliases expand the document past {MAX_EXPANDED_NODES:,} values.",
                        event,
                    )
                place(copy.deepcopy(value), event, None, size)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "The YAML cannot be read."
        message = message[0].upper() + message[1:] + "."
        too_deep = "nesting depth" in message  # libyaml's own limit can trip before ours is reached
        raise SpecSyntaxError(
            "nesting_too_deep" if too_deep else "yaml_syntax",
            f"The document nests deeper than {MAX_DEPTH} levels." if too_deep else message,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError("yaml_syntax", f"The YAML cannot be read: {exc}") from None
    except RecursionError:
        raise SpecSyntaxError("nesting_too_deep", f"The document nests deeper than {MAX_DEPTH} levels.") from None
    return root, marks


def load_document(text: str) -> LoadedDocument:
    """Reads YAML text in any dialect and converts it to the native one."""
    if len(text) >= FAST_PATH_MIN_BYTES:
        data = fast_parse(text)
        if data is not None:
            return LoadedDocument(dialect="native", data=data, text=text)
    data, marks = parse_yaml(text)
    return load_document_object(data, marks)


# A tag, anchor or alias starts a token: after one of these (or at the start of the text).
_TOKEN_BEFORE = frozenset(" \t\r\n[{,")
# Strings that rapidyaml leaves as text (or rewrites) where the core schema reads a value, and an
# empty key (which libyaml refuses unquoted).
_JSON_DIFFERENT = re.compile(r'"(?:"\s*:|~"|Null"|NULL"|True"|TRUE"|False"|FALSE"|-?\.inf"|\.nan"|[-+]?0[0-9xXoO_])')


def _starts_token(text: str, char: str, then_space: bool | None) -> bool:
    """Whether ``char`` starts a token anywhere (followed by a space or not, as asked; None: either)."""
    at = text.find(char)
    while at != -1:
        if (at == 0 or text[at - 1] in _TOKEN_BEFORE) and (
            then_space is None or (text[at + 1:at + 2] in (" ", "\r", "\n")) == then_space
        ):
            return True
        at = text.find(char, at + 1)
    return False


def _depth_and_size(data: Any) -> tuple[int, int]:
    """How many containers deep ``data`` goes (counting those that hold something) and how many
    values it holds, itself included: level by level over the containers, without recursion."""
    level = [data] if isinstance(data, dict | list) else []
    depth, size = 0, 1
    while level:
        size += sum(map(len, level))
        if any(level):
            depth += 1
        level = [
            item
            for container in level
            for item in (container.values() if isinstance(container, dict) else container)
            if isinstance(item, dict | list)
        ]
    return depth, size


def _int(text: str) -> int | float:
    return int(text) if len(text) <= 4000 else float(text)


def fast_parse(text: str) -> dict[str, Any] | None:
    """The native document rapidyaml reads from ``text``, or None when the event walk must read it
    (it then gives the same data, or the error with its line)."""
    if ryml is None or len(text) > MAX_DOCUMENT_BYTES:
        return None
    if _starts_token(text, "!", None) or any(_starts_token(text, char, False) for char in "&*"):
        return None
    if _starts_token(text, "?", True):
        return None
    if text.startswith("%") or "\n%" in text or any(char in text for char in "\t\x85\u2028\u2029"):
        return None  # a directive; tabs and YAML 1.1's other line breaks, which the two read differently
    try:
        tree = ryml.parse_in_arena(text.encode("utf-8"))
        root = tree.root_id()
        if tree.is_stream(root) or not tree.is_map(root):
            return None
        emitted = ryml.emit_json_malloc(tree, root)
    except Exception:  # any error: the event walk reads the text and names the line
        return None
    if not emitted:
        return None
    json_text = emitted.decode("utf-8") if isinstance(emitted, bytes) else emitted
    if _JSON_DIFFERENT.search(json_text):
        return None
    try:
        data = json.loads(json_text, parse_int=_int)
    except ValueError:
        return None
    if not isinstance(data, dict) or detect_dialect(data) != "native":
        return None
    depth, size = _depth_and_size(data)
    # Fewer values than rapidyaml's nodes: a key written twice in one mapping (JSON keeps the last).
    if depth >= MAX_DEPTH or size != tree.size():
        return None
    return data


def load_document_object(data: Any, marks: Marks | None = None) -> LoadedDocument:
    """The same for a document that is already data (a JSON request body)."""
    from workflows.spec.dialects import convert

    if data is None:
        raise SpecSyntaxError("not_a_mapping", "The document is empty.", 1, 1)
    if not isinstance(data, dict):
        line, column = (marks or {}).get((), (1, 1))
        raise SpecSyntaxError(
            "not_a_mapping", f"A workflow document is a mapping, not a {type(data).__name__}.", line, column
        )
    _check_depth(data)
    native, native_marks, dialect, warnings = convert(data, marks or {})
    return LoadedDocument(dialect=dialect, data=native, marks=native_marks, warnings=list(warnings))


def _check_depth(data: Any) -> None:
    """JSON bodies skip the YAML walk; refuse the same deep nesting for them, without recursion.

    Level by level over the containers only: a value is too deep when it sits below MAX_DEPTH
    containers, that is when a container at that depth is not empty."""
    level = [data] if isinstance(data, dict | list) else []
    depth = 1
    while level:
        if depth >= MAX_DEPTH and any(level):
            raise SpecSyntaxError("nesting_too_deep", f"The document nests deeper than {MAX_DEPTH} levels.")
        level = [
            item
            for container in level
            for item in (container.values() if isinstance(container, dict) else container)
            if isinstance(item, dict | list)
        ]
        depth += 1
