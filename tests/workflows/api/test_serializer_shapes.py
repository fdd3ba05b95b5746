"""The plain functions that write workflows into API answers say what their serializers declare.

The serializer classes describe the shapes for the OpenAPI schema (and the designer's generated
types); at run time they hand each object to a plain function. Here DRF's own field machinery
(``ModelSerializer.to_representation`` of the base class) renders the same objects: both must agree.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.test import APIClient

from tests.workflows.api.documents import hello
from workflows.api.serializers import (
    VersionDetailSerializer,
    VersionSerializer,
    WorkflowDetailSerializer,
    WorkflowSerializer,
)
from workflows.models import Workflow


def drf_fields(serializer_class: type[serializers.ModelSerializer], obj: object) -> dict:
    return dict(serializers.ModelSerializer.to_representation(serializer_class(obj), obj))


def test_workflow_and_version_answers_match_their_declared_fields(editor: APIClient) -> None:
    editor.post("/api/v1/workflows?message=first", hello(), content_type="application/yaml")
    workflow = Workflow.objects.select_related("active_version").get(name="hello")
    version = workflow.active_version
    assert version is not None

    for serializer_class, obj in [(VersionSerializer, version), (VersionDetailSerializer, version),
                                  (WorkflowSerializer, workflow), (WorkflowDetailSerializer, workflow)]:
        assert serializer_class(obj).data == drf_fields(serializer_class, obj), serializer_class.__name__

    listed = editor.get("/api/v1/workflows").json()["results"]
    assert listed == [drf_fields(WorkflowSerializer, workflow)]
    assert editor.get("/api/v1/workflows/hello").json() == drf_fields(WorkflowDetailSerializer, workflow)


def test_a_workflow_without_a_version_has_none(editor: APIClient, tenant: object) -> None:
    workflow = Workflow.objects.create(tenant=tenant, name="bare")
    assert WorkflowSerializer(workflow).data == drf_fields(WorkflowSerializer, workflow)
    assert WorkflowSerializer(workflow).data["version"] is None
    assert WorkflowDetailSerializer(workflow).data == drf_fields(WorkflowDetailSerializer, workflow)
