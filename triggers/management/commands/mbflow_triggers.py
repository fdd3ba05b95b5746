"""``manage.py mbflow_triggers <subcommand>``: the schedule tick and trigger rows by hand.

``tick`` fires the schedules due now (``--loop``: every ``MBFLOW_SCHEDULE_TICK_SECONDS`` until
stopped, a scheduler process for a setup with neither Celery beat nor the embedded tick);
``sync`` derives the trigger rows of every workflow whose active version moved on.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from triggers.services.schedules import tick
from triggers.services.sync import do_sync_stale


class Command(BaseCommand):
    help = "Trigger operations (subcommands: tick [--loop], sync)."

    def add_arguments(self, parser: Any) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        ticking = commands.add_parser("tick", help="Fire the schedules that are due.")
        ticking.add_argument("--loop", action="store_true", help="Tick every MBFLOW_SCHEDULE_TICK_SECONDS.")
        commands.add_parser("sync", help="Derive the trigger rows of workflows whose active version moved on.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "sync":
            self.stdout.write(f"Derived the triggers of {do_sync_stale()} workflow(s).")
            return
        while True:
            result = tick()
            if result.fired or not options["loop"]:
                self.stdout.write(f"started {result.started}, skipped {result.skipped}, failed {result.failed}")
            if not options["loop"]:
                return
            close_old_connections()
            time.sleep(settings.MBFLOW_SCHEDULE_TICK_SECONDS)
