"""The staff dashboard socket: permission before joining, origin allow-list, the redis-py 8
timeout trap, and published events reaching the socket only after commit."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from redis import asyncio as aioredis

from tests.support.ws import communicator, session_key_for
from waitingroom.realtime import groups, publisher

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


async def test_provider_connects_to_own_clinic_socket_and_gets_pong(provider, clinic_a):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


async def test_outsider_is_refused_on_clinic_a_socket(outsider, clinic_a):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(outsider)
    )
    connected, code = await ws.connect()
    assert not connected
    assert code == 4404


async def test_anonymous_visitor_is_refused(clinic_a):
    connected, _ = await communicator(f"/ws/staff/{clinic_a.slug}/").connect()
    assert not connected


async def test_foreign_origin_is_refused_even_for_a_member(provider, clinic_a):
    key = await sync_to_async(session_key_for)(provider)
    connected, _ = await communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=key, origin="https://evil.example"
    ).connect()
    assert not connected


async def test_missing_origin_is_refused(provider, clinic_a):
    key = await sync_to_async(session_key_for)(provider)
    connected, _ = await communicator(f"/ws/staff/{clinic_a.slug}/", session_key=key, origin=None).connect()
    assert not connected


async def test_malformed_messages_get_a_clear_error_and_the_socket_lives_on(provider, clinic_a):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    await ws.connect()
    await ws.send_to(text_data="{not json")
    assert (await ws.receive_json_from())["error"] == "Messages must be valid JSON."
    await ws.send_json_to(["a", "list"])
    assert "JSON objects with a type" in (await ws.receive_json_from())["error"]
    await ws.send_to(bytes_data=b"\x00\x01")
    assert "not binary" in (await ws.receive_json_from())["error"]
    await ws.send_json_to({"type": "call_everyone"})
    assert "Unknown message type" in (await ws.receive_json_from())["error"]
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


async def test_idle_socket_survives_past_redis_socket_timeout(provider, clinic_a):
    """redis-py 8's 5 s socket timeout would kill the layer's 5 s blocking receive; this socket sits
    idle for 6.5 s and must still get pongs and group messages."""
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await ws.connect())[0]
    await asyncio.sleep(6.5)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=3) == {"type": "pong"}
    await get_channel_layer().group_send(
        groups.clinic_staff_group(clinic_a.id), {"type": publisher.EVENT_TYPE, "payload": {"hello": 1}}
    )
    assert await ws.receive_json_from(timeout=3) == {"hello": 1}
    await ws.disconnect()


async def test_published_event_reaches_socket_after_commit_and_never_on_rollback(provider, clinic_a):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await ws.connect())[0]
    group = groups.clinic_staff_group(clinic_a.id)

    def rolled_back():
        try:
            with transaction.atomic():
                publisher.publish(group, {"type": "broadcast", "message": "rolled back"})
                raise RuntimeError("abort")
        except RuntimeError:
            pass

    def committed():
        with transaction.atomic():
            publisher.publish(group, {"type": "broadcast", "message": "committed"})

    await sync_to_async(rolled_back)()
    await sync_to_async(committed)()
    assert await ws.receive_json_from(timeout=3) == {"type": "broadcast", "message": "committed"}
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_a_batch_is_delivered_in_order_through_one_hop_to_the_event_loop(
    provider, clinic_a, monkeypatch
):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await ws.connect())[0]
    group = groups.clinic_staff_group(clinic_a.id)
    hops = []
    send = publisher._send_in_order

    async def counting(layer, batch):
        hops.append((len(batch), threading.current_thread().name, asyncio.get_running_loop()))
        await send(layer, batch)

    monkeypatch.setattr(publisher, "_send_in_order", counting)

    def committed():
        with transaction.atomic():
            publisher.publish_many(
                [
                    (group, {"type": "broadcast", "message": "1"}),
                    ("visit-999999", {"type": "visit", "status": "waiting", "html": "elsewhere"}),
                    (group, {"type": "broadcast", "message": "2"}),
                ]
            )

    await sync_to_async(committed)()
    # One batch, sent from the publishing thread's own loop, not the one serving the sockets.
    ((size, thread, loop),) = hops
    assert (size, thread) == (3, "realtime-publisher") and loop is not asyncio.get_running_loop()
    assert await ws.receive_json_from(timeout=3) == {"type": "broadcast", "message": "1"}
    assert await ws.receive_json_from(timeout=3) == {"type": "broadcast", "message": "2"}
    await ws.disconnect()


async def _restart_redis_for(layer) -> None:
    """What a Redis restart does to this process's channel layer (Redis keeps nothing on disk
    here): its connections to Redis are cut and every key of its prefix is gone. Only this
    layer's own connections are cut: other runs may share the Redis server."""
    client = aioredis.from_url(settings.REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{layer.prefix}*")]
        if keys:
            await client.delete(*keys)
        ours = set()
        for loop_layer in getattr(layer, "_layers", {}).values():
            for shard in getattr(loop_layer, "_shards", []):
                connection = shard._pubsub.connection if shard._pubsub else None
                if connection is not None and connection._writer is not None:
                    ours.add(connection._writer.get_extra_info("sockname")[1])
        for entry in await client.client_list():
            if int(entry["addr"].rsplit(":", 1)[1]) in ours:
                await client.client_kill_filter(_id=entry["id"])
    finally:
        await client.aclose()


async def test_dashboards_keep_getting_updates_after_redis_restarts(provider, clinic_a):
    ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await ws.connect())[0]
    await _restart_redis_for(get_channel_layer())
    group = groups.clinic_staff_group(clinic_a.id)

    def committed(n):
        with transaction.atomic():
            publisher.publish(group, {"type": "broadcast", "message": str(n)})

    # The layer notices the cut and subscribes again within about a second; a push sent before
    # that is a lost hint, so the layer then tells the socket to re-fetch (`resync`), and the
    # socket must not go deaf.
    heard: list[dict] = []
    for n in range(40):
        await sync_to_async(committed)(n)
        while not await ws.receive_nothing(timeout=0.25):
            heard.append(await ws.receive_json_from())
        if any(m["type"] == "broadcast" for m in heard):
            break
    else:
        raise AssertionError("the dashboard never heard from the server again after Redis restarted")
    assert heard[0] == {"type": "resync"}  # before any push it hears again
    assert all(int(m["message"]) <= n for m in heard[1:])  # pushes sent once it had resubscribed
    await ws.disconnect()


def test_a_failing_publish_is_logged_and_the_change_stands(clinic_a, provider, monkeypatch, caplog):
    from tests.visits.conftest import ready
    from visits import services
    from visits.models import Visit

    visit = ready(clinic_a)

    async def redis_down(layer, batch):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(publisher, "_send_in_order", redis_down)
    services.visit_call(visit_id=visit.id, user=provider)  # commits (a transactional test)
    assert Visit.objects.get(pk=visit.pk).status == "in_call"
    assert f"realtime publish to clinic-{clinic_a.id}-staff, visit-{visit.id}" in caplog.text


async def test_socket_closes_when_session_ends(provider, clinic_a, monkeypatch):
    from django.contrib.sessions.models import Session

    from waitingroom.realtime.consumer import RealtimeConsumer

    # Re-check the session on every message instead of once a minute.
    monkeypatch.setattr(RealtimeConsumer, "recheck_every", -1.0)

    key = await sync_to_async(session_key_for)(provider)
    ws = communicator(f"/ws/staff/{clinic_a.slug}/", session_key=key)
    assert (await ws.connect())[0]
    await sync_to_async(Session.objects.filter(session_key=key).delete)()
    await ws.send_json_to({"type": "ping"})
    output = await ws.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4401}
