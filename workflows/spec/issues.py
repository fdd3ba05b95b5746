"""Problems found in a workflow document, pointing at a node, an edge and a YAML position."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# A path into a document: mapping keys and sequence indexes, e.g. ("spec", "nodes", 3, "config").
Path = tuple[str | int, ...]
# Where each path starts in the text the user wrote: (line, column), both 1-based.
Marks = dict[Path, tuple[int, int]]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    message: str
    severity: Severity = "error"
    node_id: str | None = None
    edge: int | None = None
    path: Path = field(default_factory=tuple)
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = list(self.path)
        return data


class SpecSyntaxError(Exception):
    """The text is not a document we can read (bad YAML, over a limit, not a mapping)."""

    def __init__(
        self, code: str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line": self.line, "column": self.column}
