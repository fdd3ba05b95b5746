"""``manage.py mbflow_consume``: starts workflows from messages on a RabbitMQ topic exchange
(``triggers.consumer``; the shapes and the tenant rule in ``triggers.services.messages``).

Runs until SIGTERM or SIGINT (``--declare``: declares the queues and bindings, and exits).
Several consumers may read one queue (each message goes to one of them); each install or
purpose takes its own queue with ``--queue``.
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from kombu import Connection

from triggers.consumer import EventConsumer, Topology


class Command(BaseCommand):
    help = "Consume events and WorkflowInitEvent messages from RabbitMQ and start the workflows they ask for."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=settings.MBFLOW_EVENTS_BROKER_URL,
                            help="The broker (MBFLOW_EVENTS_BROKER_URL), e.g. amqp://guest:guest@localhost:5672//.")
        parser.add_argument("--exchange", default=settings.MBFLOW_EVENTS_EXCHANGE,
                            help="The topic exchange publishers send to (MBFLOW_EVENTS_EXCHANGE).")
        parser.add_argument("--queue", default=settings.MBFLOW_EVENTS_QUEUE,
                            help="The queue to read (MBFLOW_EVENTS_QUEUE); dead letters go to <queue>.dead.")
        parser.add_argument("--binding", action="append", dest="bindings",
                            help="A binding key (repeatable; MBFLOW_EVENTS_BINDINGS, default #: every message).")
        parser.add_argument("--prefetch", type=int, default=10, help="Messages held at once (taken one by one).")
        parser.add_argument("--declare", action="store_true",
                            help="Declare the exchanges, the queue, its bindings and the dead letters, then exit "
                                 "(RabbitMQ drops what is published while no queue is bound: run this once before "
                                 "services publish, e.g. in a deployment's init step).")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        if not url:
            raise CommandError("No broker: set MBFLOW_EVENTS_BROKER_URL (or CELERY_BROKER_URL to an amqp:// URL), "
                               "or pass --url.")
        if options["prefetch"] < 1:
            raise CommandError("--prefetch must be at least 1.")
        topology = Topology(options["exchange"], options["queue"],
                            tuple(options["bindings"] or settings.MBFLOW_EVENTS_BINDINGS))
        if options["declare"]:
            with Connection(url) as connection:
                topology.declare(connection)
            self.stdout.write(f"Declared {topology.queue} bound to {topology.exchange} "
                              f"({', '.join(topology.bindings)}) and the dead letters {topology.dead_queue}.")
            return
        with Connection(url, heartbeat=30) as connection:
            consumer = EventConsumer(connection, topology, prefetch=options["prefetch"])
            for received in (signal.SIGTERM, signal.SIGINT):
                signal.signal(received, lambda *_: consumer.stop())
            self.stdout.write(f"Consuming {topology.queue} from {topology.exchange} "
                              f"({', '.join(topology.bindings)}); dead letters in {topology.dead_queue}")
            self.stdout.flush()
            consumer.run()
        self.stdout.write(f"Stopped: {consumer.taken} message(s) taken, {consumer.dead} dead-lettered.")
