"""Websocket test helpers: the full ASGI stack (origin check, session auth, routing, consumer)
driven by Channels' WebsocketCommunicator."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

ALLOWED_ORIGIN = "http://127.0.0.1:8000"


def session_key_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def communicator(path: str, *, session_key: str | None = None, origin: str | None = ALLOWED_ORIGIN):
    from waitingroom.asgi import application

    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.fixture
def ws_origins(settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    return settings.WEBSOCKET_ALLOWED_ORIGINS
