"""What changed between two versions: a unified YAML diff plus nodes and edges by identity."""

from __future__ import annotations

import difflib
from typing import Any

from workflows.models import WorkflowVersion


def _nodes(spec: dict[str, Any]) -> dict[str, Any]:
    return {str(n.get("id")): n for n in (spec.get("spec") or {}).get("nodes") or [] if isinstance(n, dict)}


def _edge_key(edge: dict[str, Any]) -> str:
    return f"{edge.get('from')}->{edge.get('to')}:{edge.get('on', 'success')}"


def _edges(spec: dict[str, Any]) -> dict[str, Any]:
    return {_edge_key(e): e for e in (spec.get("spec") or {}).get("edges") or [] if isinstance(e, dict)}


def _compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "changed": sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
    }


def diff_versions(old: WorkflowVersion, new: WorkflowVersion) -> dict[str, Any]:
    unified = "".join(
        difflib.unified_diff(
            old.yaml_text.splitlines(keepends=True),
            new.yaml_text.splitlines(keepends=True),
            fromfile=f"v{old.number}",
            tofile=f"v{new.number}",
        )
    )
    return {
        "from": old.number,
        "to": new.number,
        "unified": unified,
        "nodes": _compare(_nodes(old.spec), _nodes(new.spec)),
        "edges": _compare(_edges(old.spec), _edges(new.spec)),
    }
