"""How values look in API answers, where a DRF field would be too slow for the hot path."""

from __future__ import annotations

from datetime import datetime


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 with ``Z`` for UTC: what DRF's DateTimeField writes for the site's UTC times."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
