"""A fake HTTP client for the Twilio SDK: records every request it would send and answers with a
canned Twilio JSON body (or raw bytes: a recording's audio), so tests assert the exact request
without a network."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator


@dataclass
class RecordedRequest:
    method: str
    url: str
    data: dict[str, Any]
    auth: tuple[str, str] | None


@dataclass
class FakeTwilioHttp(HttpClient):
    # (status, body): a dict is sent as JSON, bytes as they are (Response.content stays bytes).
    responses: list[tuple[int, dict | bytes]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    # Called with each request before it is answered (e.g. to run a second sweep meanwhile).
    on_request: Callable[[RecordedRequest], None] | None = None

    def __post_init__(self) -> None:
        super().__init__(logger=None, is_async=False)

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        recorded = RecordedRequest(method=method, url=uri, data=dict(data or {}), auth=auth)
        self.requests.append(recorded)
        if self.on_request is not None:
            self.on_request(recorded)
        status, body = (
            self.responses.pop(0) if self.responses else (201, {"sid": "SM" + "f" * 32, "status": "queued"})
        )
        return Response(status, body if isinstance(body, bytes) else json.dumps(body))


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    return RequestValidator(token).compute_signature(url, params)


def signed_post(
    client, path: str, params: dict[str, str], *, base_url: str, token: str, signature: str | None = None
):
    """POST `params` to `path` the way Twilio does, signed for base_url + path (or with `signature`)."""
    if signature is None:
        signature = twilio_signature(base_url + path, params, token)
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
