"""Durations as people write them: ``500ms``, ``30s``, ``1m``, ``1h30m``, ``2d`` or a number of seconds."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds as a float; raises ValueError with a readable message for anything else."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 30s, 1m, 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        position, total = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != position:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if text and position == len(text):
            return total
        try:
            return parse_duration(float(text))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a duration; write a number of seconds or text like 500ms, 30s, 1m, 1h30m")
