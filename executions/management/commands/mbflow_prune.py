"""``manage.py mbflow_prune``: deletes the finished executions past their retention now.

The same pruning Celery beat and the embedded server's tick run every MBFLOW_RETENTION_SECONDS
(executions.services.retention); ``--batch`` executions per transaction, ``--max-batches`` to stop
early, ``--pause`` seconds between batches (by default it works MBFLOW_RETENTION_DUTY of the time).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from executions.services.retention import prune


class Command(BaseCommand):
    help = "Deletes finished executions (with their events and node runs) past their retention."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=None, help="Executions per transaction.")
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")
        parser.add_argument("--pause", type=float, default=None,
                            help="Seconds between batches (default: by MBFLOW_RETENTION_DUTY).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = prune(batch=options["batch"], max_batches=options["max_batches"], pause=options["pause"])
        self.stdout.write(f"pruned {result.executions} executions, {result.events} events, "
                          f"{result.node_runs} node runs in {result.batches} batches "
                          f"({result.working:.1f} s of work, {result.cleaning:.1f} s of it in the cleaners)"
                          + (f", {result.gave_way} gave way to a lock" if result.gave_way else ""))
