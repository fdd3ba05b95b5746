"""What a request may hand on to the database: the one rule for text, numbers and nesting.

PostgreSQL refuses a NUL character in text and in ``jsonb``; a lone surrogate (``"\\ud800"``
in JSON) cannot be encoded as UTF-8 by any driver; ``jsonb`` has no infinity or NaN. SQLite
would keep some of these and break later, so both databases get the same refusal, before
anything is stored. Integers are held to 64 bits (what a client in any language can read back)
and nesting to ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 100
MIN_INT, MAX_INT = -(2**63), 2**63 - 1

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

PathPart = str | int


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value cannot be stored, and where it is (keys and list indexes from the root)."""

    path: tuple[PathPart, ...]
    message: str

    def dotted(self, prefix: str = "") -> str:
        """``input.items[2].name``; ``prefix`` names the root (empty: the path alone)."""
        text = prefix
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text


class OutOfRange:
    """An integer read from JSON with more digits than any 64-bit integer has (kept as text so
    that reading it costs nothing; ``problem_in`` reports it)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def read_json_int(text: str) -> int | OutOfRange:
    """``parse_int`` for ``json.loads``: Python would spend time (and refuses past 4,300
    digits) converting a number this module refuses anyway."""
    return int(text) if len(text) <= 20 else OutOfRange(text)


def storable_text(text: str) -> str:
    """``text`` with each character no database can store (NUL, a lone surrogate) replaced by
    U+FFFD: for values the engine stores that came from elsewhere (a remote server's answer)."""
    return _BAD_TEXT.sub("\ufffd", text) if _BAD_TEXT.search(text) else text


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Text cannot contain a NUL character (\\u0000)."
    return f"Text cannot contain a lone surrogate (\\u{ord(found.group()):04x}); send valid Unicode."


def _number_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if MIN_INT <= value <= MAX_INT else "The integer is out of range (64 bits at most)."
    if isinstance(value, float):
        return None if math.isfinite(value) else "The number is not finite (too large, infinite or NaN)."
    if isinstance(value, OutOfRange):
        return "The integer is out of range (64 bits at most)."
    return None


def problem_in(value: Any, *, max_depth: int = MAX_DEPTH) -> Problem | None:
    """The first value (in document order) that cannot be stored, or None. The walk recurses
    at most ``max_depth`` levels: deeper is itself the problem."""
    found = _walk(value, 0, max_depth)
    if found is None:
        return None
    reversed_path, message = found
    path = tuple(reversed(reversed_path))
    if message is _TOO_DEEP:
        # The field that holds the deep value, not a hundred keys.
        return Problem(path[:1], f"The value nests deeper than {max_depth} levels.")
    return Problem(path, message)


_TOO_DEEP = "too deep"


def _walk(value: Any, depth: int, max_depth: int) -> tuple[list[PathPart], str] | None:
    """(path from the bad value up to the root, why) or None."""
    if isinstance(value, str):
        message = text_problem(value)
        return ([], message) if message else None
    if isinstance(value, dict | list):
        if depth >= max_depth:
            return [], _TOO_DEEP
        is_dict = isinstance(value, dict)
        for key, child in value.items() if is_dict else enumerate(value):
            if is_dict and (message := text_problem(str(key))):
                return [], f"A key: {message}"
            found = _walk(child, depth + 1, max_depth)
            if found is not None:
                found[0].append(key)
                return found
        return None
    message = _number_problem(value)
    return ([], message) if message else None
