"""What the runtime (and the designer) may use of the definition side. Nothing else."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workflows.auth import caller_for_key
from workflows.models import Workflow, WorkflowVersion
from workflows.services.documents import check_document
from workflows.services.secret_usage import WorkflowRef, secret_users
from workflows.services.workflows import do_save_version, get_version, get_workflow, recent_workflows
from workflows.spec import WorkflowSpec, dump_yaml
from workflows.tenancy import Caller, membership_for

__all__ = [
    "Caller",
    "WorkflowRef",
    "body_from_request_data",
    "caller_for_key",
    "caller_for_session_user",
    "get_version",
    "get_workflow",
    "read_adhoc_document",
    "recent_workflows",
    "save_new_version",
    "secret_users",
    "spec_for",
]


@lru_cache(maxsize=512)
def _spec_for_version(version_id: int, checksum: str) -> WorkflowSpec:
    version = WorkflowVersion.objects.get(pk=version_id)
    return WorkflowSpec.model_validate(version.spec)


def spec_for(version: WorkflowVersion) -> WorkflowSpec:
    """The parsed spec of a version; versions never change, so it is cached by id."""
    return _spec_for_version(version.pk, version.checksum)


def save_new_version(workflow: Workflow, data: dict[str, Any], *, message: str, author: str) -> Workflow:
    """A new version of ``workflow`` holding the native document ``data``, validated and written
    as canonical YAML (the comments of the version before are not kept)."""
    return do_save_version(workflow, check_document({"yaml": dump_yaml(data)}), message=message, author=author)


def read_adhoc_document(body: Any) -> WorkflowSpec:
    document = check_document(body)
    assert document.report.spec is not None
    return document.report.spec


def caller_for_session_user(user: Any, tenant_id: str | None) -> Caller | None:
    if user is None or not user.is_authenticated:
        return None
    membership = membership_for(user.pk, tenant_id)
    if membership is None:
        return None
    return Caller(tenant=membership.tenant, role=membership.role, username=user.get_username(), user_id=user.pk)



def body_from_request_data(data: Any) -> Any:
    """A request's body as the document readers take it (YAML text or a JSON object)."""
    from workflows.services.documents import body_from_request_data as read_body

    return read_body(data)
