"""Workflow templates: the YAML files shipped in templates_library/ plus each tenant's own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import IntegrityError

from mbflow_site.errors import Conflict, NotFound
from workflows.models import Template, Tenant
from workflows.services.documents import CheckedDocument
from workflows.spec import load_document

LIBRARY = Path(__file__).resolve().parent.parent / "templates_library"


@dataclass(frozen=True, slots=True)
class TemplateView:
    id: str
    name: str
    title: str
    description: str
    tags: list[str]
    builtin: bool
    yaml: str

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "builtin": self.builtin,
        }


@cache
def builtin_templates() -> tuple[TemplateView, ...]:
    found = []
    for path in sorted(LIBRARY.glob("*.yaml")):
        text = path.read_text()
        metadata = load_document(text).data.get("metadata", {})
        found.append(
            TemplateView(
                id=path.stem,
                name=str(metadata.get("name") or path.stem),
                title=str(metadata.get("title") or path.stem),
                description=str(metadata.get("description") or ""),
                tags=list(metadata.get("tags") or []),
                builtin=True,
                yaml=text,
            )
        )
    return tuple(found)


def _from_row(row: Template) -> TemplateView:
    return TemplateView(
        id=str(row.id), name=row.name, title=row.title, description=row.description,
        tags=list(row.tags), builtin=False, yaml=row.yaml_text,
    )


def templates_for(tenant: Tenant) -> list[TemplateView]:
    own = [_from_row(row) for row in Template.objects.filter(tenant=tenant)]
    return [*builtin_templates(), *own]


def get_template(tenant: Tenant, template_id: str) -> TemplateView:
    for template in builtin_templates():
        if template.id == template_id:
            return template
    try:
        row = Template.objects.filter(tenant=tenant, pk=uuid.UUID(template_id)).first()
    except ValueError:
        row = Template.objects.filter(tenant=tenant, name=template_id).first()
    if row is None:
        raise NotFound(f"No template {template_id!r}.", details={"template": template_id})
    return _from_row(row)


def do_create_template(tenant: Tenant, document: CheckedDocument) -> TemplateView:
    name = document.name
    if any(t.name == name or t.id == name for t in builtin_templates()):
        raise Conflict(f"{name!r} is the name of a built-in template.", code="name_taken", details={"name": name})
    metadata = document.metadata
    try:
        row = Template.objects.create(
            tenant=tenant, name=name, title=str(metadata.get("title") or ""),
            description=str(metadata.get("description") or ""), tags=list(metadata.get("tags") or []),
            yaml_text=document.yaml_text,
        )
    except IntegrityError:
        raise Conflict(f"A template named {name!r} already exists.", code="name_taken",
                       details={"name": name}) from None
    return _from_row(row)


def do_delete_template(tenant: Tenant, template_id: str) -> None:
    template = get_template(tenant, template_id)
    if template.builtin:
        raise Conflict("Built-in templates cannot be deleted.", code="builtin_template")
    Template.objects.filter(tenant=tenant, pk=template.id).delete()
