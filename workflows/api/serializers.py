from __future__ import annotations

from typing import Any

from rest_framework import serializers

from mbflow_site.formats import iso_time
from workflows.models import ApiKey, Membership, Role, Workflow, WorkflowVersion


def version_data(version: WorkflowVersion) -> dict[str, Any]:
    return {"number": version.number, "checksum": version.checksum, "message": version.message,
            "author": version.author, "source_dialect": version.source_dialect,
            "created_at": iso_time(version.created_at)}


def workflow_data(workflow: Workflow) -> dict[str, Any]:
    version = workflow.active_version
    return {"id": str(workflow.pk), "name": workflow.name, "title": workflow.title,
            "description": workflow.description, "tags": [str(tag) for tag in workflow.tags],
            "archived": workflow.archived, "active": workflow.active,
            "version": version_data(version) if version is not None else None,
            "created_at": iso_time(workflow.created_at), "updated_at": iso_time(workflow.updated_at)}


def workflow_detail(workflow: Workflow) -> dict[str, Any]:
    version = workflow.active_version
    return {**workflow_data(workflow), "yaml": version.yaml_text if version is not None else "",
            "spec": version.spec if version is not None else {}}


# The serializers below declare the shapes for the OpenAPI schema; at run time they hand each
# object to the plain functions above (DRF's per-field machinery costs about 100 µs an item).


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowVersion
        fields = ["number", "checksum", "message", "author", "source_dialect", "created_at"]

    def to_representation(self, version: WorkflowVersion) -> dict[str, Any]:
        return version_data(version)


class VersionDetailSerializer(VersionSerializer):
    yaml = serializers.CharField(source="yaml_text")
    spec = serializers.JSONField()

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "yaml", "spec"]

    def to_representation(self, version: WorkflowVersion) -> dict[str, Any]:
        return {**version_data(version), "yaml": version.yaml_text, "spec": version.spec}


class WorkflowSerializer(serializers.ModelSerializer):
    version = VersionSerializer(source="active_version", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Workflow
        fields = ["id", "name", "title", "description", "tags", "archived", "active", "version", "created_at",
                  "updated_at"]

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        return workflow_data(workflow)


class WorkflowDetailSerializer(WorkflowSerializer):
    yaml = serializers.SerializerMethodField()
    spec = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "yaml", "spec"]

    def get_yaml(self, workflow: Workflow) -> str:
        return workflow.active_version.yaml_text if workflow.active_version else ""

    def get_spec(self, workflow: Workflow) -> dict[str, Any]:
        return workflow.active_version.spec if workflow.active_version else {}

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        return workflow_detail(workflow)


class WorkflowPatchSerializer(serializers.Serializer):
    archived = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False, help_text="Whether the workflow's triggers start runs.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError({"archived": ["Give `archived` or `active`."],
                                               "active": ["Give `archived` or `active`."]})
        return attrs


class DuplicateSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class RollbackSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class DiffQuerySerializer(serializers.Serializer):
    from_ = serializers.IntegerField(min_value=1)
    to = serializers.IntegerField(min_value=1, required=False)

    def to_internal_value(self, data: Any) -> Any:
        data = {**data.dict(), "from_": data.get("from")} if hasattr(data, "dict") else data
        return super().to_internal_value(data)


class ApiKeySerializer(serializers.ModelSerializer):
    revoked = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "role", "prefix", "created_at", "last_used_at", "revoked", "revoked_at"]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.EDITOR)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.EDITOR)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TenantChoiceSerializer(serializers.Serializer):
    tenant = serializers.CharField(max_length=64)
