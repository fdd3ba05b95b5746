"""Live events over WebSocket: tenant-scoped, authenticated, with replay of missed events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from executions.dispatch import use_dispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.services.executions import do_start_execution
from mbflow_site.asgi import application
from tests.executions.conftest import doc
from tests.factories import make_key
from workflows.models import Role, Tenant
from workflows.services.workflows import do_create_workflow

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
FLOW = doc("live", """
  nodes:
    - {id: a, type: transform, config: {mapping: {n: 1}}}
    - {id: b, type: transform, config: {mapping: {n: 2}}}
  edges:
    - {from: a, to: b}
""")

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> Any:
    """database_sync_to_async runs in a long-lived thread; close its connection afterwards."""
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def _setup() -> tuple[Tenant, str, str]:
    from workflows.services.documents import check_document

    tenant = Tenant.objects.create(slug="live", name="Live")
    other = Tenant.objects.create(slug="other", name="Other")
    do_create_workflow(tenant, check_document({"yaml": FLOW}), message="", author="test")
    return tenant, make_key(tenant, Role.VIEWER)[1], make_key(other, Role.VIEWER)[1]


@database_sync_to_async
def _start(tenant: Tenant) -> str:
    execution, _ = do_start_execution(tenant, "live", data={})
    return str(execution.pk)


@pytest.fixture
def in_memory_layer() -> Any:
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        dispatcher = EmbeddedDispatcher(workers=2)
        use_dispatcher(dispatcher)
        yield
        use_dispatcher(None)
        dispatcher.close()
        channel_layers.backends.clear()


async def _events_until_finished(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    events = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "event"
        events.append(message)
        if message["event"] == "execution.succeeded":
            return events


async def test_a_tenant_feed_receives_live_events_after_commit(in_memory_layer: None) -> None:
    tenant, key, _ = await _setup()
    communicator = WebsocketCommunicator(application, f"/ws/executions/?api_key={key}")
    connected, _ = await communicator.connect()
    assert connected
    execution_id = await _start(tenant)
    events = await _events_until_finished(communicator)
    assert {e["execution_id"] for e in events} == {execution_id}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "execution.created"
    await communicator.disconnect()


async def test_a_client_catches_up_from_its_last_seq(in_memory_layer: None) -> None:
    tenant, key, outsider_key = await _setup()
    execution_id = await _start(tenant)  # finished before anyone listens
    communicator = WebsocketCommunicator(application, f"/ws/executions/{execution_id}/",
                                         headers=[(b"x-api-key", key.encode())])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"after_seq": 2})
    events = await _events_until_finished(communicator)
    assert events[0]["seq"] == 3
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()

    stranger = WebsocketCommunicator(application, f"/ws/executions/{execution_id}/?api_key={outsider_key}")
    connected, code = await stranger.connect()
    assert not connected
    assert code == 4404
    anonymous = WebsocketCommunicator(application, "/ws/executions/")
    connected, code = await anonymous.connect()
    assert not connected
    assert code == 4401


async def test_the_tenant_feed_catches_up_per_execution_and_since_a_time(in_memory_layer: None) -> None:
    """Each execution counts its own seq, so the tenant feed resumes by execution, and by time for
    the executions the client has not seen yet."""
    tenant, key, _ = await _setup()
    seen = await _start(tenant)
    between = datetime.now(UTC).isoformat()
    unseen = await _start(tenant)
    communicator = WebsocketCommunicator(application, "/ws/executions/", headers=[(b"x-api-key", key.encode())])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"after_seq": 2})
    refused = await communicator.receive_json_from(timeout=5)
    assert refused["type"] == "error" and "after" in refused["message"]
    await communicator.send_json_to({"after": {seen: 2}, "since": between})
    first = await _events_until_finished(communicator)
    second = await _events_until_finished(communicator)
    assert {e["execution_id"] for e in first} == {seen}
    assert [e["seq"] for e in first] == list(range(3, len(first) + 3))
    assert {e["execution_id"] for e in second} == {unseen}
    assert [e["seq"] for e in second] == list(range(1, len(second) + 1))
    assert await communicator.receive_nothing(timeout=0.2)
    for bad in ({"after": {"not-an-id": 1}}, {"since": "yesterday"}, {"after": {seen: -1}}):
        await communicator.send_json_to(bad)
        assert (await communicator.receive_json_from(timeout=5))["type"] == "error", bad
    await communicator.disconnect()


async def test_a_browser_socket_from_another_site_is_refused(in_memory_layer: None) -> None:
    _, key, _ = await _setup()
    evil = [(b"origin", b"https://evil.example")]
    by_cookie = WebsocketCommunicator(application, "/ws/executions/", headers=evil)
    connected, code = await by_cookie.connect()
    assert not connected
    assert code == 4403
    by_key = WebsocketCommunicator(application, "/ws/executions/", headers=[*evil, (b"x-api-key", key.encode())])
    connected, _ = await by_key.connect()
    assert connected  # a program holding a key may connect from anywhere
    await by_key.disconnect()
    same_site = WebsocketCommunicator(application, "/ws/executions/", headers=[(b"origin", b"http://localhost:8181")])
    connected, code = await same_site.connect()
    assert not connected
    assert code == 4401  # let through by origin, refused for want of a session


async def test_the_redis_layer_carries_events_between_threads(settings: Any) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    dispatcher = EmbeddedDispatcher(workers=2)
    use_dispatcher(dispatcher)
    try:
        tenant, key, _ = await _setup()
        communicator = WebsocketCommunicator(application, f"/ws/executions/?api_key={key}")
        connected, _ = await communicator.connect()
        assert connected
        execution_id = await _start(tenant)
        events = await _events_until_finished(communicator)
        assert events[-1]["execution_id"] == execution_id
        await communicator.disconnect()
    finally:
        use_dispatcher(None)
        dispatcher.close()


async def test_a_group_counts_as_watched_only_while_a_consumer_listens(settings: Any) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    from asgiref.sync import sync_to_async
    from channels.layers import channel_layers

    from executions.live import watching
    from executions.live.messages import tenant_group
    from executions.services.waiting import redis_client

    channel_layers.backends.clear()
    tenant, key, _ = await _setup()
    group = tenant_group(tenant.pk)
    await sync_to_async(redis_client().delete)(watching.watch_key(group))  # a count left by an earlier run
    assert not await sync_to_async(watching.watched)(group)
    first = WebsocketCommunicator(application, f"/ws/executions/?api_key={key}")
    second = WebsocketCommunicator(application, f"/ws/executions/?api_key={key}")
    assert (await first.connect())[0] and (await second.connect())[0]
    assert await sync_to_async(watching.watched)(group)
    await first.disconnect()
    assert await sync_to_async(watching.watched)(group)  # the second still listens
    await second.disconnect()
    assert not await sync_to_async(watching.watched)(group)


def test_watched_groups_reads_every_group_at_once_and_sends_to_all_when_redis_cannot_tell(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    from executions.live import watching
    from executions.services.waiting import redis_client

    groups = ["test.watched.a", "test.watched.b", "test.watched.c"]
    redis_client().delete(*(watching.watch_key(g) for g in groups))
    watching.watch(groups[1])
    try:
        assert watching.watched_groups(groups) == [groups[1]]

        class Down:
            def mget(self, keys: list[str]) -> None:
                raise ConnectionError("redis is down")

        monkeypatch.setattr(watching, "redis_client", lambda: Down())
        assert watching.watched_groups(groups) == groups
    finally:
        monkeypatch.undo()
        watching.unwatch(groups[1])


def test_the_finish_notice_for_other_processes_travels_with_the_watch_count_read(settings: Any) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    import uuid

    from django.utils import timezone

    from executions.engine.projection import Event
    from executions.live import publisher
    from executions.services import waiting

    execution_id = str(uuid.uuid4())
    pubsub = waiting.redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(waiting.finished_notice(execution_id)[0])
    try:
        publisher.publish_events(uuid.uuid4(), execution_id, [Event(1, "node.succeeded", "a", {}, timezone.now())])
        assert pubsub.get_message(timeout=0.5) is None  # not finished: no notice
        publisher.publish_events(uuid.uuid4(), execution_id, [Event(2, "execution.succeeded", "", {}, timezone.now())])
        notice = pubsub.get_message(timeout=5)
        assert notice is not None and notice["data"] == b"1"
    finally:
        pubsub.close()


def test_the_sender_reads_a_batch_s_watch_counts_at_once_and_makes_messages_only_for_watched_groups(
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    import asyncio
    import uuid

    from channels.layers import channel_layers, get_channel_layer
    from django.utils import timezone

    from executions.engine.projection import Event
    from executions.live import publisher, watching
    from executions.live.messages import execution_group, tenant_group
    from executions.services import waiting

    channel_layers.backends.clear()
    layer = get_channel_layer()
    watched_id, other_id, tenant_id = str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4()
    loop = asyncio.new_event_loop()
    channel = loop.run_until_complete(layer.new_channel())
    loop.run_until_complete(layer.group_add(execution_group(watched_id), channel))
    watching.watch(execution_group(watched_id))
    reads: list[list[str]] = []
    made: list[str] = []
    read, make = watching.watched_groups, publisher.events_message
    monkeypatch.setattr(publisher, "watched_groups", lambda groups, publish=(): reads.append(list(groups)) or read(
        groups, publish))
    monkeypatch.setattr(publisher, "events_message", lambda execution_id, events: made.append(execution_id) or make(
        execution_id, events))
    pubsub = waiting.redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(waiting.finished_notice(other_id)[0])

    def step(execution_id: str, *events: tuple[int, str]) -> publisher._Outgoing:
        return publisher._Outgoing((execution_group(execution_id), tenant_group(tenant_id)), execution_id,
                                   tuple(Event(seq, type_, "a", {}, timezone.now()) for seq, type_ in events),
                                   events[-1][1] == "execution.succeeded")

    try:
        publisher._send(asyncio.new_event_loop(), layer, [
            step(watched_id, (1, "execution.started"), (2, "node.succeeded")),
            step(other_id, (1, "execution.started"), (2, "execution.succeeded")),
            step(watched_id, (3, "execution.succeeded")),
        ])
        assert len(reads) == 1 and set(reads[0]) == {execution_group(watched_id), execution_group(other_id),
                                                     tenant_group(tenant_id)}
        assert made == [watched_id, watched_id]  # none for the execution nobody watches
        first = loop.run_until_complete(asyncio.wait_for(layer.receive(channel), 5))
        second = loop.run_until_complete(asyncio.wait_for(layer.receive(channel), 5))
        assert [event["seq"] for event in first["events"]] == [1, 2]
        assert [event["seq"] for event in second["events"]] == [3]
        # The unwatched execution's waiters elsewhere are told (the first read may be the
        # subscription's own confirmation, which comes back as None).
        notices = [pubsub.get_message(timeout=5) for _ in range(2)]
        assert [notice["data"] for notice in notices if notice is not None] == [b"1"]
    finally:
        pubsub.close()
        watching.unwatch(execution_group(watched_id))
        loop.close()
