"""``manage.py mbflow <subcommand>``: operations on the runtime's stored data.

``verify_events`` rebuilds each execution's projection from its event log and reports every
field in which the stored rows differ; it exits with status 1 when any execution differs.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from executions.services.verification import Tally, executions_to_verify, verify_executions
from mbflow_site.errors import ApiError


def moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


class Command(BaseCommand):
    help = "MBFlow runtime operations (subcommands: verify_events)."

    def add_arguments(self, parser: Any) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        verify = subcommands.add_parser(
            "verify_events", help="Rebuild each execution's projection from its events and report any difference.",
            description="Folds each execution's event log and compares the result with the stored execution "
                        "and node-run rows. Exits with status 1 when any execution differs.")
        verify.add_argument("--execution", metavar="ID", help="Check this execution only (whatever its status).")
        verify.add_argument("--tenant", metavar="SLUG", help="Only the executions of this tenant.")
        verify.add_argument("--since", metavar="ISO", type=moment,
                            help="Only the executions created at or after this time (naive: the server's zone).")
        verify.add_argument("--limit", metavar="N", type=positive, help="Check at most N executions.")
        verify.add_argument("--include-running", action="store_true",
                            help="Check unfinished executions too (by default only finished ones).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify_events":
            self.verify_events(options)

    def verify_events(self, options: dict[str, Any]) -> None:
        try:
            executions = executions_to_verify(execution_id=options["execution"], tenant=options["tenant"],
                                              since=options["since"], include_running=options["include_running"])
        except ApiError as error:
            raise CommandError(error.message) from None
        tally = Tally()
        for verification in verify_executions(executions, limit=options["limit"]):
            tally.add(verification)
            for line in verification.lines():
                self.stdout.write(line)
        self.stdout.write(str(tally))
        if tally.differing:
            raise CommandError(f"{tally.differing} execution(s) differ from their event log.", returncode=1)
