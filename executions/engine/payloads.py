"""Node outputs too large for an event row: kept in the payload store, referenced from the log.

A node output whose JSON is larger than the workflow's ``payload_limit`` (default
``MBFLOW_PAYLOAD_LIMIT``, 1 MiB) is written to the ``payloads`` storage (Django's storages API:
files under MEDIA_ROOT/payloads by default, S3 through django-storages when configured) and the
event and the node run hold a reference in its place::

    {"$offloaded": {"key": "<tenant>/<execution>/<node>.<attempt>.<token>.json",
                    "size": 5242880, "limit": 1048576}}

Expressions (``nodes.<id>.output``, ``upstream``, edge conditions, the workflow's output) read
the value back transparently; the API shows the reference with a download link. A reference is
only read for the tenant whose key prefix it has, so a node cannot point at another tenant's
payload by writing a reference of its own.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from executions.engine.store import json_bytes

__all__ = ["MARKER", "delete_for", "json_bytes", "limit_of", "load", "offload", "owned_key", "reference", "storage"]

MARKER = "$offloaded"
_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}/[A-Za-z0-9_.-]+\.json$")
# Values this small as JSON are never worth a look (a number, a short text).
_SCALAR_TYPES = (bool, int, float, type(None))


def storage() -> Storage:
    return storages["payloads"]


def limit_of(spec_limit: int | None) -> int:
    return spec_limit if spec_limit is not None else int(settings.MBFLOW_PAYLOAD_LIMIT)


def offload(value: Any, limit: int, *, tenant_id: Any, execution_id: Any, node_id: str, attempt: int,
            size: int | None = None) -> Any:
    """``value``, or a reference to it once stored, when its JSON is larger than ``limit`` bytes
    (``size``: that JSON's length, when the caller measured it already)."""
    if isinstance(value, _SCALAR_TYPES) or (isinstance(value, str) and len(value) * 4 < limit):
        return value
    if size is not None and size <= limit:
        return value
    data = json_bytes(value)
    if len(data) <= limit:
        return value
    key = f"{tenant_id}/{execution_id}/{node_id}.{attempt}.{secrets.token_hex(4)}.json"
    saved = storage().save(key, ContentFile(data))
    return {MARKER: {"key": saved, "size": len(data), "limit": limit}}


def reference(value: Any) -> dict[str, Any] | None:
    """The reference ``value`` is, or None."""
    if isinstance(value, dict) and len(value) == 1 and MARKER in value:
        ref = value[MARKER]
        if isinstance(ref, dict) and isinstance(ref.get("key"), str):
            return ref
    return None


def owned_key(ref: dict[str, Any], tenant_id: Any) -> str | None:
    """The reference's storage key when it is one of ``tenant_id``'s payloads, else None."""
    key = ref["key"]
    if _KEY.match(key) and key.startswith(f"{tenant_id}/"):
        return key
    return None


def load(value: Any, tenant_id: Any, cache: dict[str, Any] | None = None) -> Any:
    """``value`` with a reference replaced by what it refers to (as stored); anything else as it is.
    A reference the tenant does not own, or whose payload is gone, reads as itself."""
    ref = reference(value)
    if ref is None:
        return value
    key = owned_key(ref, tenant_id)
    if key is None:
        return value
    if cache is not None and key in cache:
        return cache[key]
    try:
        with storage().open(key, "rb") as handle:
            loaded = orjson.loads(handle.read())
    except (FileNotFoundError, OSError):
        return value
    if cache is not None:
        cache[key] = loaded
    return loaded


def delete_for(prefixes: list[str]) -> int:
    """Deletes the payloads under each ``<tenant>/<execution>`` prefix; how many files."""
    store = storage()
    deleted = 0
    for prefix in prefixes:
        try:
            _, files = store.listdir(prefix)
        except (FileNotFoundError, OSError):
            continue
        for name in files:
            store.delete(f"{prefix}/{name}")
            deleted += 1
    return deleted
