"""The RabbitMQ consumer behind ``manage.py mbflow_consume``: reads events and the seed's
``WorkflowInitEvent`` messages from a queue bound to the ``mbflow.events`` topic exchange and
hands each to ``services.messages.do_take_message``.

A message is acknowledged only once what it started is committed, so a consumer that dies
while taking one leaves it to the broker, which delivers it again (its ``message_id`` then
starts nothing new). A message that can never be taken is rejected without requeueing: the
queue's dead-letter exchange (``<exchange>.dead``) puts it in ``<queue>.dead``, as it came,
and the reason is logged. When the database is out of reach the message goes back to the
queue and the consumer waits (1 s, doubling up to 30 s) before taking the next; a message that
fails in an unexpected way goes back once, and to the dead letters the second time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from kombu import Connection, Exchange, Queue
from kombu import Consumer as KombuConsumer
from kombu import Message as KombuMessage
from kombu.mixins import ConsumerMixin

from mbflow_site.errors import UNAVAILABLE
from triggers.services.messages import Message, Poison, do_take_message

logger = logging.getLogger(__name__)
MAX_PAUSE = 30.0


@dataclass(frozen=True, slots=True)
class Topology:
    """Where messages come from: the topic exchange, this consumer's queue and its binding keys,
    and the dead letters (``<exchange>.dead``, ``<queue>.dead``)."""

    exchange: str
    queue: str
    bindings: Sequence[str] = ("#",)

    @property
    def dead_exchange(self) -> str:
        return f"{self.exchange}.dead"

    @property
    def dead_queue(self) -> str:
        return f"{self.queue}.dead"

    def queues(self) -> tuple[list[Queue], Queue]:
        """The queues to consume (one per binding key, all the same queue) and the dead letters'."""
        exchange = Exchange(self.exchange, type="topic", durable=True)
        dead = Exchange(self.dead_exchange, type="topic", durable=True)
        arguments = {"x-dead-letter-exchange": self.dead_exchange}
        bound = [Queue(self.queue, exchange, routing_key=key, durable=True, queue_arguments=arguments)
                 for key in self.bindings]
        return bound, Queue(self.dead_queue, dead, routing_key="#", durable=True)

    def declare(self, connection: Connection) -> None:
        """Declares the exchanges, both queues and the bindings (idempotent)."""
        bound, dead = self.queues()
        channel = connection.channel()
        try:
            dead.bind(channel).declare()
            for queue in bound:
                queue.bind(channel).declare()
        finally:
            channel.close()


class EventConsumer(ConsumerMixin):
    """Takes messages one at a time (``prefetch`` of them held at once) until ``stop``."""

    def __init__(self, connection: Connection, topology: Topology, prefetch: int = 10) -> None:
        self.connection = connection
        self.topology = topology
        self.prefetch = prefetch
        self.taken = 0
        self.dead = 0
        self.ready = threading.Event()
        self._stopping = threading.Event()
        self._pause = 0.0

    def stop(self) -> None:
        self.should_stop = True
        self._stopping.set()

    def get_consumers(self, consumer: type[KombuConsumer], channel: Any) -> list[KombuConsumer]:
        bound, _ = self.topology.queues()
        return [consumer(queues=bound, on_message=self.on_message, prefetch_count=self.prefetch)]

    def on_consume_ready(self, connection: Connection, channel: Any, consumers: Any, **kwargs: Any) -> None:
        self.topology.declare(connection)  # the dead letters' queue too, so nothing rejected is lost
        self.ready.set()
        logger.info("Consuming %s (exchange %s, bindings %s)", self.topology.queue, self.topology.exchange,
                    ", ".join(self.topology.bindings))

    def on_message(self, message: KombuMessage) -> None:
        properties = message.properties or {}
        incoming = Message(body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
                           routing_key=(message.delivery_info or {}).get("routing_key", ""),
                           headers=dict(message.headers or {}), message_id=properties.get("message_id"))
        close_old_connections()
        try:
            taken = do_take_message(incoming, timezone.now())
        except Poison as exc:
            logger.warning("Dead-lettered a message (routing key %r): %s %s", incoming.routing_key, exc.code,
                           exc.message)
            message.reject(requeue=False)
            self.dead += 1
            return
        except UNAVAILABLE:
            logger.warning("The database is out of reach: the message goes back to the queue", exc_info=True)
            message.requeue()
            self._pause = min(MAX_PAUSE, max(1.0, self._pause * 2))
            self._stopping.wait(self._pause)
            return
        except Exception:
            if (message.delivery_info or {}).get("redelivered"):
                logger.exception("A message failed twice: it goes to the dead letters")
                message.reject(requeue=False)
                self.dead += 1
            else:
                logger.exception("A message failed: it goes back to the queue once")
                message.requeue()
            return
        finally:
            close_old_connections()
        message.ack()
        self._pause = 0.0
        self.taken += 1
        logger.info("Took a %s message for %s: %s execution(s)%s", taken.kind, taken.tenant, len(taken.executions),
                    " (seen before: nothing new started)" if taken.duplicate else "")
