"""Use cases of the trigger API. What a trigger is and does lives in the active version's
``triggers:``: adding, changing, enabling or removing one saves a new version of the workflow
(written as canonical YAML), whose rows are then derived as after any save. Its token and
signing secret are not part of the document: they change here, without a version.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from pydantic import ValidationError

from executions.vault import fernet
from mbflow_site.errors import ApiError, NotFound
from triggers.models import Trigger, TriggerKind
from triggers.services.specs import TRIGGER, declared_triggers
from triggers.services.sync import do_sync_stale, do_sync_workflow, new_token
from workflows.models import Tenant, Workflow
from workflows.public import get_version, save_new_version

MIN_SECRET_LENGTH = 16


def triggers_of(tenant: Tenant, *, workflow: Workflow | None = None, kind: str | None = None) -> QuerySet[Trigger]:
    """The triggers the tenant's workflows declare now (derived first where a save moved on)."""
    do_sync_stale(tenant)
    queryset = Trigger.objects.filter(tenant=tenant, declared=True).select_related("workflow", "version")
    if workflow is not None:
        queryset = queryset.filter(workflow=workflow)
    if kind:
        unknown = sorted(set(kind.split(",")) - set(TriggerKind.values))
        if unknown:
            raise _field_error("type", f"Unknown trigger type {', '.join(unknown)}: one of "
                                       f"{', '.join(TriggerKind.values)}.")
        queryset = queryset.filter(kind__in=kind.split(","))
    return queryset.order_by("workflow__name", "created_at", "key")


def get_trigger(tenant: Tenant, ref: Any) -> Trigger:
    try:
        trigger_id = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No trigger {ref!r}.") from None
    trigger = triggers_of(tenant).filter(pk=trigger_id).first()
    if trigger is None:
        raise NotFound(f"No trigger {ref!r}.")
    return trigger


def _field_error(field: str, message: str) -> ApiError:
    return ApiError(message, code="validation_error", details={"fields": {field: [message]}})


def check_trigger(raw: Any) -> dict[str, Any]:
    """A trigger declaration as the workflow language takes it; 400 naming each bad field."""
    if not isinstance(raw, dict):
        raise _field_error("non_field_errors", "A trigger is a JSON object with a `type`.")
    try:
        TRIGGER.validate_python(raw)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False):
            # The location is the trigger's type (the union's tag), then its key, then what is
            # inside that key: a union's member type (`filter` is a mapping or a string) or a
            # free-form value. A trigger's keys are flat: the key is the field.
            field = str(error["loc"][1]) if len(error["loc"]) > 1 else "type"
            if error["msg"] not in fields.setdefault(field, []):
                fields[field].append(error["msg"])
        raise ApiError("The trigger is not valid.", code="validation_error", details={"fields": fields}) from None
    return raw


def check_secret(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH or len(value) > 200:
        raise _field_error("secret", f"A signing secret is text of {MIN_SECRET_LENGTH} to 200 characters.")
    return value


def _document(workflow: Workflow) -> dict[str, Any]:
    return copy.deepcopy(get_version(workflow).spec)


def _save(workflow: Workflow, document: dict[str, Any], message: str, author: str) -> None:
    saved = save_new_version(workflow, document, message=message, author=author)
    do_sync_workflow(saved.pk)


def _row(workflow: Workflow, key: str) -> Trigger:
    return Trigger.objects.select_related("workflow", "version").get(workflow=workflow, key=key)


def _index(document: dict[str, Any], key: str) -> int:
    for index, (found, _) in enumerate(declared_triggers(document)):
        if found == key:
            return index
    raise NotFound("The workflow's active version no longer has this trigger.")


def _set_secret(trigger: Trigger, secret: str | None) -> None:
    trigger.secret = fernet().encrypt(secret.encode()) if secret is not None else None
    Trigger.objects.filter(pk=trigger.pk).update(secret=trigger.secret)


def _check_name(document: dict[str, Any], declaration: dict[str, Any], index: int | None = None) -> None:
    """400 naming ``name`` when another trigger of the document (not the one at ``index``) has it."""
    name = declaration.get("name")
    taken = [found.get("name") for at, found in enumerate(document["spec"].get("triggers") or [])
             if at != index and isinstance(found, dict)]
    if name and name in taken:
        raise _field_error("name", f"Another trigger of the workflow is named {name!r}: give each its own name.")


def _article(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def do_add_trigger(workflow: Workflow, raw: Any, *, secret: str | None, author: str) -> Trigger:
    """Adds a trigger to the workflow in a new version; a webhook may get a signing secret."""
    declaration = check_trigger(raw)
    secret = check_secret(secret)
    if secret is not None and declaration["type"] != "webhook":
        raise _field_error("secret", "Only a webhook trigger is signed.")
    with transaction.atomic():
        document = _document(workflow)
        _check_name(document, declaration)
        document["spec"].setdefault("triggers", []).append(declaration)
        kind = declaration["type"]
        _save(workflow, document, f"Added {_article(kind)} {kind} trigger", author)
        key = declared_triggers(document)[-1][0]
        trigger = _row(workflow, key)
        if secret is not None:
            _set_secret(trigger, secret)
    return trigger


def do_change_trigger(trigger: Trigger, changes: dict[str, Any], *, author: str) -> Trigger:
    """Changes the trigger's declaration in a new version: each key given replaces its value,
    ``null`` removes it (its default applies)."""
    if "type" in changes and changes["type"] != trigger.kind:
        raise _field_error("type", "A trigger's type cannot change: remove it and add another.")
    if "secret" in changes:
        raise _field_error("secret", "A webhook's signing secret is not part of its declaration: set it with "
                                     "POST /api/v1/triggers/{id}/secret.")
    with transaction.atomic():
        document = _document(trigger.workflow)
        index = _index(document, trigger.key)
        declaration = {**document["spec"]["triggers"][index], **changes}
        declaration = check_trigger({key: value for key, value in declaration.items() if value is not None})
        _check_name(document, declaration, index)
        document["spec"]["triggers"][index] = declaration
        key = declared_triggers(document)[index][0]
        if key != trigger.key:
            # Renamed: the row (its URL, secret and schedule) goes along, in place of any row
            # kept for a removed trigger of that name.
            Trigger.objects.filter(workflow=trigger.workflow, key=key).exclude(pk=trigger.pk).delete()
            Trigger.objects.filter(pk=trigger.pk).update(key=key)
        _save(trigger.workflow, document, f"Changed the {trigger.label} trigger", author)
        return _row(trigger.workflow, key)


def do_set_enabled(trigger: Trigger, enabled: bool, *, author: str) -> Trigger:
    if trigger.enabled == enabled:
        return trigger
    with transaction.atomic():
        document = _document(trigger.workflow)
        declaration = document["spec"]["triggers"][_index(document, trigger.key)]
        if enabled:
            declaration.pop("enabled", None)
        else:
            declaration["enabled"] = False
        _save(trigger.workflow, document, f"{'Enabled' if enabled else 'Disabled'} the {trigger.label} trigger",
              author)
        return _row(trigger.workflow, trigger.key)


def do_remove_trigger(trigger: Trigger, *, author: str) -> None:
    with transaction.atomic():
        document = _document(trigger.workflow)
        del document["spec"]["triggers"][_index(document, trigger.key)]
        if not document["spec"]["triggers"]:
            del document["spec"]["triggers"]
        _save(trigger.workflow, document, f"Removed the {trigger.label} trigger", author)


def _webhook(trigger: Trigger) -> None:
    if trigger.kind != "webhook":
        raise ApiError("Only a webhook trigger has a URL and a signing secret.", code="not_a_webhook")


def do_regenerate_token(trigger: Trigger) -> Trigger:
    """A new URL for the webhook; the old one stops working at once."""
    _webhook(trigger)
    trigger.token = new_token()
    Trigger.objects.filter(pk=trigger.pk).update(token=trigger.token)
    return trigger


def do_set_signing_secret(trigger: Trigger, secret: str | None, *, generate: bool = False) -> str | None:
    """Sets (or with ``generate``, makes) the webhook's signing secret, or removes it (None).
    Returns the secret made, which is shown this once."""
    _webhook(trigger)
    made = secrets.token_urlsafe(32) if generate else check_secret(secret)
    _set_secret(trigger, made)
    return made if generate else None
