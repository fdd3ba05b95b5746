"""Creates the demo tenant and the `admin` user (idempotent), and seeds API_KEYS."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from workflows.models import Membership, Role, Tenant
from workflows.services.keys import seed_keys_from_settings


class Command(BaseCommand):
    help = "Create the demo tenant and admin user (password printed once or from MBFLOW_ADMIN_PASSWORD)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", help="Admin password (default: MBFLOW_ADMIN_PASSWORD or random).")
        parser.add_argument("--tenant", default="demo")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        tenant, _ = Tenant.objects.get_or_create(slug=options["tenant"], defaults={"name": "Demo"})
        User = get_user_model()
        password = options.get("password") or os.environ.get("MBFLOW_ADMIN_PASSWORD")
        user = User.objects.filter(username="admin").first()
        if user is None:
            shown = password or secrets.token_urlsafe(12)
            user = User.objects.create_superuser("admin", "admin@localhost", shown)
            if password:
                self.stdout.write("Created user admin (password from MBFLOW_ADMIN_PASSWORD / --password).")
            else:
                self.stdout.write(self.style.WARNING(f"Created user admin with password: {shown}  (shown once)"))
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.OWNER})
        seeded = seed_keys_from_settings(tenant)
        if seeded:
            self.stdout.write(f"Seeded {seeded} API key(s) from API_KEYS for tenant {tenant.slug}.")
        self.stdout.write(f"Tenant {tenant.slug} is ready.")
