"""The functions and filters MBFlow adds to Jinja's (``now()``, ``range()``, ``tojson``,
``b64encode``, ``jmespath``, ``add_hours``...)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath

from workflows.spec.expressions.errors import ExpressionLimit
from workflows.spec.expressions.limits import current_limits


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def add_hours(*args: Any) -> str:
    """``add_hours(n)``: now plus n hours; ``add_hours(when, n)`` or ``when | add_hours(n)``."""
    when, hours = (_now(), args[0]) if len(args) == 1 else args
    return (_to_datetime(when) + timedelta(hours=float(hours))).isoformat()


def add_days(*args: Any) -> str:
    """``add_days(n)``: now plus n days; ``add_days(when, n)`` or ``when | add_days(n)``."""
    when, days = (_now(), args[0]) if len(args) == 1 else args
    return (_to_datetime(when) + timedelta(days=float(days))).isoformat()


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode()


def _b64decode(value: Any) -> str:
    return base64.b64decode(str(value)).decode("utf-8", "replace")


def _jmespath(value: Any, expression: str) -> Any:
    return jmespath.search(expression, value)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str, allow_nan=False)


def _fromjson(value: Any) -> Any:
    return json.loads(value, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _now() -> datetime:
    return datetime.now(UTC)


def now() -> str:
    return _now().isoformat()


def checked_range(*args: Any) -> range:
    items = range(*args)
    limit = current_limits().max_range
    if len(items) > limit:
        raise ExpressionLimit(f"range() of {len(items):,} items; the limit is {limit:,}.")
    return items


FILTERS = {"tojson": _tojson, "fromjson": _fromjson, "b64encode": _b64encode, "b64decode": _b64decode,
           "add_hours": add_hours, "add_days": add_days, "jmespath": _jmespath}
GLOBALS = {"now": now, "range": checked_range, "add_hours": add_hours, "add_days": add_days}
