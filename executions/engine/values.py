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

from mbflow_site.storable import storable_text
from workflows.spec.expressions import MASK

MIN_SECRET_LENGTH = 3


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def clean(self, value: Any) -> Any:
        """A JSON-safe copy of ``value`` with every secret value replaced by a mask."""
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None  # JSON (and jsonb) has no inf or NaN
        if isinstance(value, str):
            return self._mask(value)
        if isinstance(value, dict):
            return {self._mask(str(key)): self.clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.clean(item) for item in value]
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


NO_SECRETS = Redactor()
