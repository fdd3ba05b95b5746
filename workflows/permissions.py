from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from workflows.models import Role
from workflows.tenancy import Caller


class TenantRolePermission(permissions.BasePermission):
    """Reads need ``view.read_role`` (viewer), writes ``view.write_role`` (editor)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        caller = request.auth
        if not isinstance(caller, Caller):
            raise exceptions.PermissionDenied("Your account belongs to no tenant.")
        if request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_role", Role.VIEWER)
        else:
            needed = getattr(view, "write_role", Role.EDITOR)
        if not caller.can(needed):
            raise exceptions.PermissionDenied(f"This needs the {needed} role; you have {caller.role}.")
        return True
