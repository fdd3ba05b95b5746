"""Events and the seed's WorkflowInitEvent from the real RabbitMQ: the consumer (in a thread of
the test, the embedded dispatcher running the runs) starts the workflows they ask for; what it
cannot take goes to the dead letters as it came."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from kombu import Connection

from executions.models import Execution
from tests.triggers.conftest import Store, doc, finished
from tests.triggers.rabbit import Broker, require_rabbitmq, unique_topology
from triggers.consumer import EventConsumer
from workflows.models import Tenant

ECHO = ("  nodes: [{id: echo, type: transform, config: {mapping: {got: \"{{ input }}\"}}}]\n"
        "  output: \"{{ nodes.echo.output.got }}\"\n")


@pytest.fixture
def broker(embedded: Any) -> Iterator[tuple[Broker, EventConsumer]]:
    """A consumer of a topology of its own, running in a thread until the test ends."""
    url = require_rabbitmq()
    topology = unique_topology()
    broker = Broker(url, topology)
    connection = Connection(url, heartbeat=30)
    consumer = EventConsumer(connection, topology, prefetch=5)
    thread = threading.Thread(target=consumer.run, name="test-consumer", daemon=True)
    thread.start()
    try:
        assert consumer.ready.wait(20), "the consumer did not start consuming"
        yield broker, consumer
    finally:
        consumer.stop()
        thread.join(10)
        connection.release()
        broker.delete()


def _runs(workflow: str, count: int, timeout: float = 20.0) -> list[Execution]:
    """The workflow's executions once there are ``count`` of them, finished."""
    deadline = time.monotonic() + timeout
    while Execution.objects.filter(workflow__name=workflow).count() < count:
        assert time.monotonic() < deadline, f"{workflow}: fewer than {count} runs in {timeout}s"
        time.sleep(0.05)
    return [finished(execution.pk) for execution in Execution.objects.filter(workflow__name=workflow)
            .order_by("created_at")]


def _taken(consumer: EventConsumer, taken: int, dead: int = 0, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (consumer.taken, consumer.dead) != (taken, dead):
        assert time.monotonic() < deadline, f"taken {consumer.taken}, dead {consumer.dead}; wanted {taken}, {dead}"
        time.sleep(0.02)


def test_a_workflow_init_event_starts_the_named_workflow_with_its_initial_data(
        broker: tuple[Broker, EventConsumer], store: Store) -> None:
    publisher, consumer = broker
    store(doc("user-onboarding", ECHO))
    publisher.publish({"workflow_name": "user-onboarding", "initial_data": {"email": "user@example.com"},
                       "source": "user-service", "timestamp": "2026-11-02T09:30:00+01:00"},
                      "acme.workflow.init", message_id="init-1")
    [run] = _runs("user-onboarding", 1)
    assert (run.status, run.input, run.output) == ("succeeded", {"email": "user@example.com"},
                                                   {"email": "user@example.com"})
    assert run.trigger == {"type": "broker", "event": "workflow_init", "source": "user-service",
                           "timestamp": "2026-11-02T08:30:00Z", "routing_key": "acme.workflow.init",
                           "message_id": "init-1"}
    _taken(consumer, 1)
    publisher.wait_for(publisher.topology.queue, ready=0)


def test_the_go_field_names_and_the_tenant_header_are_taken_and_a_message_id_starts_once(
        broker: tuple[Broker, EventConsumer], store: Store) -> None:
    publisher, consumer = broker
    store(doc("user-onboarding", ECHO))
    message = {"WorkflowName": "user-onboarding", "InitialData": {"Email": "a@b.c"}, "Source": "go-service",
               "Timestamp": "2026-11-02T08:30:00Z"}
    for _ in range(2):  # the same message delivered twice (say, by a publisher that retried)
        publisher.publish(message, "workflow.init", headers={"x-mbflow-tenant": "acme"}, message_id="go-1")
    _taken(consumer, 2)
    [run] = _runs("user-onboarding", 1)
    assert (run.input, run.trigger["source"], run.trigger["routing_key"]) == (
        {"Email": "a@b.c"}, "go-service", "workflow.init")


def test_an_event_message_starts_what_its_triggers_take_once_per_id(
        broker: tuple[Broker, EventConsumer], store: Store, other_tenant: Tenant) -> None:
    publisher, consumer = broker
    big_filter = "\"{{ event.data.amount > 100 }}\""
    store(doc("big-orders", ECHO + f"  triggers:\n    - {{type: event, event: order.created, filter: {big_filter}}}\n"))
    store(doc("gold-orders", ECHO + "  triggers:\n    - {type: event, event: order.created, filter: {tier: gold}}\n"))
    store(doc("whole-event", ECHO + "  triggers:\n    - {type: event, event: order.created, input: event, "
                                    "source: shop}\n"))
    publisher.publish({"data": {"amount": 150, "tier": "silver"}, "source": "shop"}, "acme.order.created",
                      message_id="order-1")
    [big] = _runs("big-orders", 1)
    [whole] = _runs("whole-event", 1)
    assert big.output == {"amount": 150, "tier": "silver"}
    assert big.trigger["type"] == "event" and big.trigger["event"] == {"type": "order.created", "id": "order-1",
                                                                       "source": "shop"}
    assert {key: whole.output[key] for key in ("type", "data", "source", "id")} == {
        "type": "order.created", "data": {"amount": 150, "tier": "silver"}, "source": "shop", "id": "order-1"}
    # The body's own type and id win over the routing key and the message id; the same id again
    # (a second message) starts nothing.
    for _ in range(2):
        publisher.publish({"type": "order.created", "id": "order-2", "data": {"amount": 5, "tier": "gold"}},
                          "acme.anything", message_id=str(uuid.uuid4()))
    _taken(consumer, 3)
    [gold] = _runs("gold-orders", 1)
    assert gold.input == {"amount": 5, "tier": "gold"}
    assert Execution.objects.filter(workflow__name="big-orders").count() == 1
    assert Execution.objects.filter(tenant=other_tenant).count() == 0


def test_an_event_reaches_only_the_tenant_it_is_routed_to(
        broker: tuple[Broker, EventConsumer], store: Store, api_client_for: Any, other_tenant: Tenant) -> None:
    publisher, consumer = broker
    triggers = "  triggers:\n    - {type: event, event: ping}\n"
    store(doc("acme-ping", ECHO + triggers))
    theirs = api_client_for("editor", other_tenant).post(
        "/api/v1/workflows", {"yaml": doc("globex-ping", ECHO + triggers)}, format="json")
    assert theirs.status_code == 201
    publisher.publish({"data": {"n": 1}}, "globex.ping")
    publisher.publish({"data": {"n": 2}}, "ping", headers={"x-mbflow-tenant": "acme"})
    [globex] = _runs("globex-ping", 1)
    [acme] = _runs("acme-ping", 1)
    assert (globex.tenant_id, globex.input, acme.tenant_id, acme.input) == (
        other_tenant.pk, {"n": 1}, Tenant.objects.get(slug="acme").pk, {"n": 2})
    _taken(consumer, 2)


def test_messages_it_cannot_take_go_to_the_dead_letters_as_they_came(
        broker: tuple[Broker, EventConsumer], store: Store, settings: Any) -> None:
    publisher, consumer = broker
    settings.MBFLOW_MAX_BODY_BYTES = 4096  # as the API's limit on a request's body
    store(doc("user-onboarding", ECHO + "  input_schema: {type: object, required: [email]}\n"))
    poison = [
        (b'{"data": {"pad": "' + b"x" * 4096 + b'"}}', "acme.order.created", {}),  # past the body limit
        (b"not json {", "acme.order.created", {}),
        (b"[1, 2]", "acme.order.created", {}),
        (b'{"data": {}}', "nobody.order.created", {}),  # no such tenant
        (b'{"data": {}}', "order.created", {"x-mbflow-tenant": "nobody"}),
        (b'{"workflow_name": "no-such-workflow", "initial_data": {}}', "acme.workflow.init", {}),
        (b'{"workflow_name": "user-onboarding", "initial_data": {"name": "x"}}', "acme.workflow.init", {}),
        (b'{"type": "has spaces", "data": {}}', "acme.x", {}),
        (b'{"data": {}, "unknown": 1}', "acme.order.created", {}),
        (b'{"data": {}}', "acme", {}),  # no event type anywhere
    ]
    for body, key, headers in poison:
        publisher.publish(body, key, headers=headers)
    publisher.publish({"workflow_name": "user-onboarding", "initial_data": {"email": "ok@example.com"}},
                      "acme.workflow.init")
    [run] = _runs("user-onboarding", 1)  # the consumer went on after each of them
    assert run.input == {"email": "ok@example.com"}
    _taken(consumer, 1, dead=len(poison))
    dead = publisher.take_dead(len(poison))
    bodies = [message.body if isinstance(message.body, bytes) else message.body.encode() for message in dead]
    assert sorted(zip(bodies, [message.delivery_info["routing_key"] for message in dead], strict=True)) == sorted(
        (body, key) for body, key, _ in poison)
    assert all(message.headers["x-death"][0]["reason"] == "rejected" for message in dead)
    publisher.wait_for(publisher.topology.queue, ready=0)


def test_declare_makes_the_queue_that_keeps_what_is_published_before_any_consumer_runs() -> None:
    """RabbitMQ drops a message no queue is bound for: `mbflow_consume --declare` makes the queue,
    its bindings and the dead letters, and exits; what is published then waits in the queue."""
    url = require_rabbitmq()
    topology = unique_topology()
    publisher = Broker(url, topology)
    try:
        out = io.StringIO()
        call_command("mbflow_consume", "--declare", url=url, exchange=topology.exchange, queue=topology.queue,
                     bindings=["acme.#"], stdout=out)
        assert topology.queue in out.getvalue() and topology.dead_queue in out.getvalue()
        publisher.publish({"data": {"n": 1}}, "acme.order.created")
        publisher.publish({"data": {"n": 2}}, "other.order.created")  # not bound: dropped
        publisher.wait_for(topology.queue, ready=1, consumers=0)
        publisher.wait_for(topology.dead_queue, ready=0, consumers=0)
    finally:
        publisher.delete()
