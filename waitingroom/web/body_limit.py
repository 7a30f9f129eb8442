"""A ceiling on request bodies, applied before Django reads them.

Django's ASGIHandler copies the whole body into a temporary file before any view or upload handler
runs, so a view cannot refuse a 5 GB post to its upload URL before the disk has taken it. This
wrapper refuses it first: a declared Content-Length over the path's limit gets 413 at once, and a
body sent without one (chunked) is counted as it arrives and cut off with 413 once past the limit
(Django is told the client went away, so it stops reading and answers nothing itself).

daphne (through Twisted) receives a request's body before it hands the request over, so the bytes
still travel: a proxy in front (nginx's `client_max_body_size`) refuses them before they are sent.
This wrapper keeps Django from copying and parsing them again, and answers in the page scripts'
JSON shape ({ok: false, error}).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from waitingroom.web.headers import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """`limits`: (path regex, most bytes, the error shown when refused); the first match applies,
    and paths matching none pass untouched."""

    def __init__(self, app: ASGIApp, *, limits: Iterable[tuple[str, int, str]]) -> None:
        self.app = app
        self.limits = [(re.compile(pattern), limit, error) for pattern, limit, error in limits]

    def limit_for(self, path: str) -> tuple[int, str] | None:
        for pattern, limit, error in self.limits:
            if pattern.match(path):
                return limit, error
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit, error = rule
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, error)
            return

        received = 0
        cut_off = False

        async def counting_receive() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut_off = True
                    # Django's read_body() drops what it spooled and answers nothing.
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)
        if cut_off:
            await _refuse(send, error)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, error: str) -> None:
    body = json.dumps({"ok": False, "error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
                # The client may still be sending: it should not send another request on this one.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
