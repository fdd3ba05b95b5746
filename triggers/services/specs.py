"""A trigger row's declaration read back as its typed model, and how triggers are told apart."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import TypeAdapter

from workflows.spec.models import Trigger

TRIGGER = TypeAdapter(Trigger)


def parse(raw: dict[str, Any]) -> Any:
    """The trigger model of a declaration (validated when its version was saved)."""
    return TRIGGER.validate_python(raw)


def declared_triggers(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, declaration) of each trigger of a native document, in order.

    A trigger's key is ``name:<name>`` when it has a name (names are unique in a document),
    else ``<type>:<n>`` for the n-th unnamed trigger of its type: so a trigger keeps its row
    (its URL, its secret, its schedule) from one version to the next.
    """
    spec = document.get("spec") if isinstance(document.get("spec"), dict) else {}
    raws = spec.get("triggers") if isinstance(spec.get("triggers"), list) else []
    unnamed: Counter[str] = Counter()
    keyed = []
    for raw in raws:
        if not isinstance(raw, dict):
            continue
        if raw.get("name"):
            key = f"name:{raw['name']}"
        else:
            unnamed[str(raw.get("type"))] += 1
            key = f"{raw.get('type')}:{unnamed[str(raw.get('type'))]}"
        keyed.append((key, raw))
    return keyed
