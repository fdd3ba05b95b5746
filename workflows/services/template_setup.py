"""What a template needs before it runs, and a workflow made from it with those values filled in.

A template declares its needs in `metadata.annotations`, one line each:

    annotations:
      needs.vars.crm: Base URL of your CRM's API.        # a variable of spec.variables to ask for
      needs.secrets.CRM_TOKEN: Bearer token of the CRM.  # describes a secret the document reads

The variables asked for are those named by a `needs.vars.<name>` key; their default is the value
`spec.variables` gives them. The secrets are every `secrets.<NAME>` the document reads (a
`needs.secrets.<NAME>` line only describes one). Filling a template in rewrites just the values of
those variables (and the name and title) in the YAML text, so its comments and layout stay.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from mbflow_site.errors import ApiError
from workflows.models import Tenant, Workflow
from workflows.services.contexts import do_import_document
from workflows.services.documents import check_document
from workflows.services.secret_usage import secrets_read_by
from workflows.services.templates import TemplateView
from workflows.spec import load_document
from workflows.spec.models import WORKFLOW_NAME_PATTERN

VARIABLE_KEY = "needs.vars."
SECRET_KEY = "needs.secrets."
NAME = re.compile(WORKFLOW_NAME_PATTERN)
Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class VariableNeed:
    name: str
    description: str
    default: Scalar | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "default": self.default}


@dataclass(frozen=True, slots=True)
class SecretNeed:
    name: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description}


@dataclass(frozen=True, slots=True)
class TemplateNeeds:
    variables: tuple[VariableNeed, ...]
    secrets: tuple[SecretNeed, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"variables": [v.to_dict() for v in self.variables], "secrets": [s.to_dict() for s in self.secrets]}


def needs_of(document: dict[str, Any]) -> TemplateNeeds:
    """The variables to ask for and the secrets read, from a native document's data."""
    annotations: dict[str, str] = (document.get("metadata") or {}).get("annotations") or {}
    defaults: dict[str, Any] = (document.get("spec") or {}).get("variables") or {}
    variables = tuple(
        VariableNeed(name=key[len(VARIABLE_KEY):], description=text,
                     default=_scalar_or_none(defaults.get(key[len(VARIABLE_KEY):])))
        for key, text in annotations.items() if key.startswith(VARIABLE_KEY)
    )
    secrets = tuple(SecretNeed(name=name, description=annotations.get(SECRET_KEY + name, ""))
                    for name in sorted(secrets_read_by(document)))
    return TemplateNeeds(variables=variables, secrets=secrets)


def template_needs(template: TemplateView) -> TemplateNeeds:
    return _needs_of_text(template.yaml)


@lru_cache(maxsize=256)  # the gallery lists the same few texts again and again
def _needs_of_text(text: str) -> TemplateNeeds:
    return needs_of(load_document(text).data)


def needs_problems(document: dict[str, Any]) -> list[str]:
    """What is wrong with a template's declared needs (the built-in ones are checked by a test)."""
    annotations: dict[str, str] = (document.get("metadata") or {}).get("annotations") or {}
    defaults: dict[str, Any] = (document.get("spec") or {}).get("variables") or {}
    read = secrets_read_by(document)
    problems = []
    for key, text in annotations.items():
        if key.startswith(VARIABLE_KEY):
            name = key[len(VARIABLE_KEY):]
            if name not in defaults:
                problems.append(f"{key}: spec.variables has no {name!r} to give its default")
            elif _scalar_or_none(defaults[name]) is None:
                problems.append(f"{key}: the default of {name!r} is not a single value")
        elif key.startswith(SECRET_KEY) and key[len(SECRET_KEY):] not in read:
            problems.append(f"{key}: the document never reads secrets.{key[len(SECRET_KEY):]}")
        if (key.startswith((VARIABLE_KEY, SECRET_KEY))) and not text.strip():
            problems.append(f"{key}: no description")
    problems += [f"secrets.{name} is read but has no {SECRET_KEY}{name} line" for name in sorted(read)
                 if SECRET_KEY + name not in annotations]
    return problems


def _scalar_or_none(value: Any) -> Scalar | None:
    return value if isinstance(value, str | int | float | bool) else None


@dataclass(frozen=True, slots=True)
class Instantiation:
    name: str
    title: str
    variables: dict[str, Scalar]


def check_instantiation(template: TemplateView, needs: TemplateNeeds, body: Any) -> Instantiation:
    """The name, title and variable values asked for, or a 400 naming each bad field."""
    body = body if isinstance(body, dict) else {}
    fields: dict[str, list[str]] = {}
    name = body.get("name", template.name)
    if not isinstance(name, str) or not NAME.match(name):
        fields["name"] = ["Lower-case letters, digits, '_', '.' and '-', starting with a letter or digit "
                          "(at most 100)."]
    title = body.get("title", template.title)
    if not isinstance(title, str) or len(title) > 200:
        fields["title"] = ["A text of at most 200 characters."]
    given = body.get("variables", {})
    asked = {variable.name for variable in needs.variables}
    variables: dict[str, Scalar] = {}
    if not isinstance(given, dict):
        fields["variables"] = ["An object of variable name to value."]
    else:
        for key, value in given.items():
            if key not in asked:
                fields[f"variables.{key}"] = [f"This template asks for {', '.join(sorted(asked)) or 'no variable'}."]
            elif _scalar_or_none(value) is None:
                fields[f"variables.{key}"] = ["A text, a number or true/false."]
            else:
                variables[key] = value
    if fields:
        raise ApiError("The template cannot be filled in with these values.", code="validation_error",
                       details={"fields": fields})
    return Instantiation(name=str(name), title=str(title), variables=variables)


def do_instantiate_template(tenant: Tenant, template: TemplateView, body: Any, *, author: str) -> Workflow:
    """A new workflow from ``template``, its asked-for variables, name and title set as given."""
    needs = template_needs(template)
    asked = check_instantiation(template, needs, body)
    values: dict[tuple[str, ...], Scalar] = {("metadata", "name"): asked.name}
    if asked.title:
        values["metadata", "title"] = asked.title
    values.update({("spec", "variables", key): value for key, value in asked.variables.items()})
    document = check_document({"yaml": with_values(template.yaml, values)})
    imported = do_import_document(tenant, document, message=f"From the template {template.title or template.name}",
                                  author=author)
    assert imported.workflow is not None  # a Workflow document always makes one
    return imported.workflow


def with_values(text: str, values: dict[tuple[str, ...], Scalar]) -> str:
    """``text`` with the scalar at each path replaced (as JSON, which YAML reads back the same), or
    added as the last key of its mapping when missing; nothing else of the text changes."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    edits: list[tuple[int, int, str]] = []
    for path, value in values.items():
        parent = _mapping_at(root, path[:-1])
        rendered = json.dumps(value, ensure_ascii=False)
        found = next(((k, v) for k, v in parent.value if k.value == path[-1]), None)
        if found is not None:
            node = found[1]
            if not isinstance(node, yaml.ScalarNode):
                raise ValueError(f"{'.'.join(path)} is not a single value")
            edits.append((node.start_mark.index, node.end_mark.index, rendered))
        else:
            # Added right after the mapping's first single value (`name:` in metadata): the end of
            # a nested block would be the start of the next line.
            anchor = next((v for _, v in parent.value if isinstance(v, yaml.ScalarNode)), None)
            if anchor is None:
                raise ValueError(f"nowhere to add {'.'.join(path)}")
            if parent.flow_style:
                at, glue = anchor.end_mark.index, ", "
            else:  # on a line of its own, after any comment of the anchor's line
                line_end = text.find("\n", anchor.end_mark.index)
                at, glue = (len(text) if line_end < 0 else line_end), "\n" + " " * parent.value[0][0].start_mark.column
            edits.append((at, at, f"{glue}{path[-1]}: {rendered}"))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _mapping_at(root: yaml.Node, path: tuple[str, ...]) -> yaml.MappingNode:
    node = root
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            raise ValueError(f"no mapping at {'.'.join(path)}")
        node = next((v for k, v in node.value if k.value == key), None)
    if not isinstance(node, yaml.MappingNode):
        raise ValueError(f"no mapping at {'.'.join(path)}")
    return node
