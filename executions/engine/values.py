"""Values leaving an executor: made JSON-safe and storable (no NUL or lone surrogate in text, no
infinite number), with secret values masked, before storage.

A secret used whole in a config is an opaque ``Secret`` and reads ``[secret]`` by itself; the
Redactor also masks a secret's exact value wherever it appears in text (a remote server that
echoes a header back), as a second line of defence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import orjson

from mbflow_site.storable import storable_text
from workflows.spec.expressions import MASK

MIN_SECRET_LENGTH = 3


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def clean(self, value: Any) -> Any:
        """A JSON-safe copy of ``value`` with every secret value replaced by a mask."""
        if not self.values and isinstance(value, dict | list):
            copied = _plain_copy(value)
            if copied is not _NOT_PLAIN:
                return copied
        return self._clean(value)

    def clean_sized(self, value: Any) -> tuple[Any, int | None]:
        """``clean(value)`` and, when it came for free, the size of its JSON in bytes (as
        ``json_bytes`` writes it): a dict or list without secrets to mask goes through orjson
        once, and what it wrote is the measure (the payload limit needs no second encoding)."""
        if not self.values and isinstance(value, dict | list):
            written = _plain_json(value)
            if written is not None:
                return orjson.loads(written), len(written)
        return self.clean(value), None

    def _clean(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None  # JSON (and jsonb) has no inf or NaN
        if isinstance(value, str):
            return self._mask(value)
        if isinstance(value, dict):
            return {self._mask(str(key)): self._clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(item) for item in value]
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, bytes):
            return self._mask(value.decode("utf-8", "replace"))
        return self._mask(str(value))

    def _mask(self, text: str) -> str:
        text = storable_text(text)
        for secret in self.values:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


_NOT_PLAIN = object()
# What orjson must hand back rather than write as it would: each makes the value take the slow
# path, where ``_clean`` decides (a datetime as isoformat, a dataclass or a str subclass by str).
_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _plain_copy(value: dict[str, Any] | list[Any]) -> Any:
    """``_clean(value)`` for a redactor without secrets, through orjson's C encoder and decoder
    (the walk in Python grew with every node of a chain that passes its input on), or
    ``_NOT_PLAIN`` when the value holds anything but JSON's types (see ``_plain_json``)."""
    written = _plain_json(value)
    return _NOT_PLAIN if written is None else orjson.loads(written)


def _plain_json(value: dict[str, Any] | list[Any]) -> bytes | None:
    """``value`` as compact JSON when it holds nothing but JSON's types, else None: orjson
    refuses a lone surrogate, a key that is not text and an integer past 64 bits, writes NaN
    and infinities as null (as ``_clean`` does); a NUL character is looked for in what it wrote."""
    try:
        written = orjson.dumps(value, option=_PLAIN)
    except TypeError:
        return None
    if b"\\u0000" in written:
        return None
    return written


NO_SECRETS = Redactor()
