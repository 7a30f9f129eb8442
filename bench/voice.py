"""The phone bridge's webhooks under load (`make bench ARGS="--only voice"`): Twilio posts the answer
TwiML request when the expert picks up and a status callback for every change of a call; both
must answer fast (goal: p99 <= 50 ms), since Twilio waits on the answer TwiML while the expert
listens to silence.

Each request is signed as Twilio signs it and goes to its own call (one consultation each: a
subject has one active call), sent open loop at `rate` a second, against one daphne process with
the production settings. The status callback is the full path: the form, the call's row lock, the
callback's event row, the forward-only move, the consultation room's push after commit."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bench.stack import HOST, Daphne, StackEnv
from bench.stats import latency_ms

TWILIO_TOKEN = secrets.token_hex(16)
ACCOUNT_SID = "AC" + "0" * 32


def make_calls(count: int) -> list[tuple[int, str]]:
    """`count` calls ringing an expert, each for a consultation of its own: (call id, staff CallSid)."""
    from django.utils import timezone

    from bench.fixtures import make_staff
    from consultations.lifecycle import Status
    from consultations.models import Consultation
    from scheduling.models import Requester, Service
    from waitingroom.models import Clinic
    from waitingroom.voice.lifecycle import CallStatus
    from waitingroom.voice.models import PhoneCall

    clinic = Clinic.objects.create(name="Bench voice", slug="bench-voice")
    (expert,) = make_staff(clinic, 1, prefix="voice")
    service = Service.objects.create(
        clinic=clinic, name="Phone", kind=Service.Kind.PHONE, duration_minutes=20
    )
    requester = Requester.objects.create(email="voice@bench.example", name="Bench Client")
    now = timezone.now()
    consultations = Consultation.objects.bulk_create(
        Consultation(
            clinic=clinic,
            service=service,
            expert=expert,
            status=Status.CLAIMED,
            requester=requester,
            starts_at=now + timedelta(hours=1, minutes=n),
            ends_at=now + timedelta(hours=2, minutes=n),
            client_name="Bench Client",
            client_email=requester.email,
            client_phone="+12025550143",
            created_at=now,
        )
        for n in range(count)
    )
    calls = PhoneCall.objects.bulk_create(
        PhoneCall(
            clinic=clinic,
            subject=f"consultation:{c.pk}",
            staff=expert,
            staff_number="+12025550100",
            client_number="+12025550143",
            from_number="+12025550199",
            client_first_name="Bench",
            service_label="Phone",
            record=True,
            consent_text="This call is recorded.",
            status=CallStatus.CALLING_STAFF,
            staff_call_sid=f"CA{n:032x}",
            created_at=now,
        )
        for n, c in enumerate(consultations)
    )
    return [(call.pk, call.staff_call_sid) for call in calls]


async def _post(port: int, path: str, params: dict[str, str]) -> tuple[int, float]:
    """One signed POST as Twilio sends it; (status, seconds)."""
    from twilio.request_validator import RequestValidator

    body = urlencode(params).encode()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://{HOST}:{port}{path}", params)
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        f"X-Twilio-Signature: {signature}",
        "Connection: close",
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    response = await reader.read()
    seconds = time.monotonic() - t0
    writer.close()
    return (int(response.split(b" ", 2)[1]) if response else 0), seconds


async def _phase(port: int, requests: list[tuple[str, dict[str, str]]], rate: float) -> dict[str, Any]:
    """Open loop: request i leaves at i / rate seconds, whether or not earlier ones have been
    answered (Twilio does not wait for us), so a slow answer shows as latency, not as a lower rate."""
    t0 = time.monotonic()

    async def one(i: int, path: str, params: dict[str, str]) -> tuple[int, float]:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        return await _post(port, path, params)

    answers = await asyncio.gather(*(one(i, path, params) for i, (path, params) in enumerate(requests)))
    errors = sorted({status for status, _ in answers if not 200 <= status < 300})
    return {
        **latency_ms([seconds for _, seconds in answers]),
        "rate": rate,
        "errors": sum(1 for status, _ in answers if not 200 <= status < 300),
        "error_statuses": errors,
    }


async def voice_run(kind: str, *, env: StackEnv, calls: list[tuple[int, str]], rate: float) -> dict[str, Any]:
    base = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01"}
    port = env.ports[0]
    server_env = {
        **env.django_env(kind),
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
    }
    server = Daphne(name="voice", port=port, env=server_env).start()
    try:
        # Warm the process outside the figures: imports, templates, the connection pool, and the
        # publisher's connection to Redis (the first push opens it: about 300 ms in which the
        # callbacks behind it queued, which a running server has long paid).
        warm = calls[0]
        await _post(port, f"/twilio/voice/{warm[0]}/answer/", {**base, "CallSid": warm[1]})
        await _post(
            port,
            f"/twilio/voice/{warm[0]}/status/",
            {**base, "CallSid": warm[1], "CallStatus": "in-progress"},
        )
        measured = calls[1:]
        answer = await _phase(
            port,
            [
                (f"/twilio/voice/{cid}/answer/", {**base, "CallSid": sid, "CallStatus": "in-progress"})
                for cid, sid in measured
            ],
            rate,
        )
        status = await _phase(
            port,
            [
                (f"/twilio/voice/{cid}/status/", {**base, "CallSid": sid, "CallStatus": "in-progress"})
                for cid, sid in measured
            ],
            rate,
        )
    finally:
        server.stop()
    return {"rate": rate, "answer_twiml": answer, "status_callback": status}
