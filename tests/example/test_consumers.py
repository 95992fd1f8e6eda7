"""The example project's /websocket/ consumer speaks AWX's protocol, over the real Redis layer."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from example_settings.asgi import application

# The consumer reads the session in another thread: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "c" * 32
# Seconds to wait for each reply: the communicator's default (1 s) is too short on a loaded machine.
REPLY = 30


def session_cookie():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    return client.cookies["sessionid"].value


def communicator(cookie_header):
    headers = [(b"origin", b"http://127.0.0.1")]
    if cookie_header:
        headers.append((b"cookie", cookie_header.encode()))
    return WebsocketCommunicator(application, "/websocket/", headers=headers)


def subscribe(job_id, token=TOKEN):
    return {"groups": {"jobs": ["status_changed", "summary"], "job_events": [job_id]}, "xrftoken": token}


def test_anonymous_socket_is_told_to_close_and_closed(redis_layer_settings):
    async def scenario():
        socket = communicator(None)
        connected, _ = await socket.connect(REPLY)
        assert connected
        assert await socket.receive_json_from(REPLY) == {"close": True}
        assert (await socket.receive_output(REPLY))["type"] == "websocket.close"

    async_to_sync(scenario)()


def test_subscription_needs_the_csrf_cookie_as_xrftoken(redis_layer_settings):
    cookie = f"sessionid={session_cookie()}; csrftoken={TOKEN}"

    async def scenario():
        socket = communicator(cookie)
        await socket.connect(REPLY)
        assert (await socket.receive_json_from(REPLY))["accept"] is True
        await socket.send_json_to(subscribe(7, token="wrong"))
        assert await socket.receive_json_from(REPLY) == {"error": "access denied to channel"}
        await socket.send_json_to({"groups": {"job_events": 7}, "xrftoken": TOKEN})
        assert await socket.receive_json_from(REPLY) == {"error": "access denied to channel"}
        await socket.disconnect(timeout=REPLY)

    async_to_sync(scenario)()


def test_joins_awx_groups_and_relays_group_messages_as_sent(redis_layer_settings, redis_client, key_prefix):
    cookie = f"sessionid={session_cookie()}; csrftoken={TOKEN}"
    event = {"group_name": "job_events", "job": 42, "counter": 3, "created": "2026-11-27T10:00:00.5Z"}

    async def scenario():
        socket = communicator(cookie)
        await socket.connect(REPLY)
        await socket.receive_json_from(REPLY)
        await socket.send_json_to(subscribe(42))
        reply = await socket.receive_json_from(REPLY)
        assert sorted(reply["groups_current"]) == ["job_events-42", "jobs-status_changed", "jobs-summary"]
        assert reply["groups_left"] == []
        assert redis_client.zcard(f"{key_prefix}:group:job_events-42") == 1

        text = json.dumps(event)
        await get_channel_layer().group_send("job_events-42", {"type": "internal.message", "text": text})
        assert await socket.receive_from(REPLY) == text

        # A new subscription replaces the old one, as AWX's does.
        await socket.send_json_to(subscribe(43))
        reply = await socket.receive_json_from(REPLY)
        assert reply["groups_left"] == ["job_events-42"]
        assert reply["groups_joined"] == ["job_events-43"]
        await socket.disconnect(timeout=REPLY)
        assert redis_client.zcard(f"{key_prefix}:group:job_events-43") == 0

    async_to_sync(scenario)()
