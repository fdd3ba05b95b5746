"""Sizes as people write them: ``512KiB``, ``1MiB``, ``2MB``, ``64kB`` or a number of bytes."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "kB": 1000, "KB": 1000, "KiB": 1024, "MB": 1000**2, "MiB": 1024**2,
          "GB": 1000**3, "GiB": 1024**3}
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?\s*$"


def parse_size(value: object) -> int:
    """Bytes as an int (at least 1); raises ValueError with a readable message for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 1:
            raise ValueError("a size is at least 1 byte")
        return int(value)
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return parse_size(float(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f"{value!r} is not a size; write a number of bytes or text like 512KiB, 1MiB, 2MB")
