"""The real RabbitMQ of the machine for the consumer tests: each test its own exchange and queues
(random names, deleted afterwards), so that parallel runs never see each other's messages."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from kombu import Connection, Exchange, Queue

from triggers.consumer import Topology

AMQP_URL = os.environ.get("MBFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def require_rabbitmq() -> str:
    """The broker's URL; skips the test when RabbitMQ is not running, and fails it when
    MBFLOW_REQUIRE_SERVICES=1 (CI, where ``.ci/run`` starts it)."""
    parsed = urlparse(AMQP_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=2):
            return AMQP_URL
    except OSError as exc:
        if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
            pytest.fail(f"MBFLOW_REQUIRE_SERVICES=1 but RabbitMQ is not reachable at {AMQP_URL} ({exc}); "
                        "`.ci/run` starts it with `rabbitmq-server -detached`")
        pytest.skip(f"needs RabbitMQ at {AMQP_URL} (MBFLOW_TEST_AMQP_URL)")


def unique_topology() -> Topology:
    name = f"test.{uuid.uuid4().hex[:12]}"
    return Topology(exchange=f"{name}.events", queue=f"{name}.queue")


class Broker:
    """Publishes to a topology's exchange and reads its queues, as a business service would."""

    def __init__(self, url: str, topology: Topology) -> None:
        self.connection = Connection(url)
        self.topology = topology
        self.exchange = Exchange(topology.exchange, type="topic", durable=True)

    def publish(self, body: Any, routing_key: str, *, headers: dict[str, str] | None = None,
                message_id: str | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self.connection.Producer() as producer:
            producer.publish(raw, exchange=self.exchange, routing_key=routing_key, headers=headers or {},
                             message_id=message_id, content_type="application/json", content_encoding="utf-8",
                             declare=[self.exchange], retry=True)

    def counts(self, queue: str) -> tuple[int, int] | None:
        """(messages ready, consumers) of a queue; None while it does not exist."""
        try:
            with self.connection.channel() as channel:
                _, ready, consumers = channel.queue_declare(queue=queue, passive=True)
        except self.connection.channel_errors:
            return None
        return ready, consumers

    def wait_for(self, queue: str, *, ready: int | None = None, consumers: int | None = None,
                 timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            now = self.counts(queue)
            if now is not None and (ready is None or now[0] == ready) and (consumers is None or now[1] == consumers):
                return
            assert time.monotonic() < deadline, f"{queue}: (ready, consumers) stayed {now}"
            time.sleep(0.05)

    def take_dead(self, count: int, timeout: float = 20.0) -> list[Any]:
        """The ``count`` messages of the dead letters' queue, once they are all there."""
        self.wait_for(self.topology.dead_queue, ready=count, timeout=timeout)
        taken = []
        with self.connection.channel() as channel:
            queue = Queue(self.topology.dead_queue).bind(channel)
            for _ in range(count):
                message = queue.get(no_ack=True)
                assert message is not None
                taken.append(message)
        return taken

    def delete(self) -> None:
        with self.connection.channel() as channel:
            for queue in (self.topology.queue, self.topology.dead_queue):
                channel.queue_delete(queue=queue)
            for exchange in (self.topology.exchange, self.topology.dead_exchange):
                channel.exchange_delete(exchange=exchange)
        self.connection.release()
