"""``manage.py mbflow_rollup_metrics``: rolls up the executions already stored.

The tick keeps the hourly and daily rollups of the metrics API up to date as executions change
(monitoring.services.rollups); this computes those of every finished hour and day not rolled up
yet, since each tenant's first execution (run it once after upgrading; running it again only
fills what is missing).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from monitoring.services.rollups import backfill
from workflows.models import Tenant


class Command(BaseCommand):
    help = "Computes the metrics rollups of every finished hour and day not rolled up yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", default=None, help="Only this tenant (its id).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = [options["tenant"]] if options["tenant"] else list(Tenant.objects.values_list("pk", flat=True))
        hours, days = backfill(tenants)
        self.stdout.write(f"rolled up {hours} hours and {days} days of {len(tenants)} tenants")
