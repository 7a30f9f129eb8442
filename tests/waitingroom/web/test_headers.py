"""Security headers (waitingroom/web/headers.py, the CSP settings): every response says what the browser
may run, load and use; nothing carrying patient data is cached; static files carry the same
headers; no server banner. Tests/waitingroom/test_browser_csp.py loads the pages in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from http.client import HTTPResponse
from pathlib import Path

import pytest
import time_machine
import websockets.sync.client
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from bench.stack import procfile_web_command, stop_process
from scheduling import links
from scheduling.meetings.booking import meeting_schedule
from scheduling.models import Service
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import MONDAY_NOON, scheduled_request, tomorrow, weekday_hours
from tests.support.live import free_port
from tests.visits.conftest import arrive, in_call
from waitingroom.env import websocket_sources
from waitingroom.models import Role
from waitingroom.web.headers import PERMISSIONS_POLICY

ROOT = Path(__file__).resolve().parents[3]
EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    return {
        name: value.strip()
        for name, _sep, value in (part.strip().partition(" ") for part in policy.split(";"))
        if name
    }


def assert_security_headers(headers) -> None:
    policy = directives(headers["Content-Security-Policy"])
    for name, value in EXPECTED_CSP.items():
        assert policy[name] == value, (name, policy)
    connect = policy["connect-src"].split()
    assert connect[0] == "'self'" and set(connect[1:]) == set(
        websocket_sources(settings.WEBSOCKET_ALLOWED_ORIGINS)
    )
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_websocket_sources_are_the_ws_twins_of_the_allowed_origins():
    assert websocket_sources(["https://clinic.example.com", "http://127.0.0.1:8000/", "junk"]) == [
        "wss://clinic.example.com",
        "ws://127.0.0.1:8000",
    ]


def test_permissions_policy_allows_camera_and_microphone_to_the_app_only():
    features = dict(item.split("=") for item in PERMISSIONS_POLICY.split(", "))
    assert features.pop("camera") == features.pop("microphone") == "(self)"
    assert features.pop("autoplay") == "(self)"  # the call's remote video starts by itself
    assert features and set(features.values()) == {"()"}
    assert {"geolocation", "payment", "usb", "display-capture"} <= set(features)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/accounts/login/"),
        ("get", "/c/clinic-a/"),
        ("get", "/meet/"),
        ("get", "/dashboard/"),  # a redirect to the login
        ("get", "/no/such/page/"),
        ("post", "/c/clinic-a/"),  # refused: no CSRF token
    ],
)
def test_every_response_carries_the_security_headers(clinic_a, method, path):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code in (200, 302, 403, 404)
    assert_security_headers(response.headers)
    assert "no-store" in response["Cache-Control"]


@pytest.fixture
def patient_data(clinic_a, provider):
    """One of each thing a page or fragment shows about a patient: a visit in a call with the
    provider, a waiting one, a booked meeting, a request, and the clients that may see them."""
    with time_machine.travel(MONDAY_NOON, tick=False):
        service = Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)
        weekday_hours(clinic_a, provider)
        scheduler = staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER)
        calling = in_call(clinic_a, provider, name="Carl Calling")
        waiting = arrive(clinic_a, name="Wanda Waiting")
        meeting = meeting_schedule(
            clinic=clinic_a, by=provider, provider_id=provider.pk, service=service,
            guest_name="Gina Guest", guest_email="gina@example.com", times=[tomorrow(clinic_a, 10)],
        )  # fmt: skip
        request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 11)])
    patient = Client()
    intake = patient.post(f"/c/{clinic_a.slug}/", {"patient_name": "Pat Patient"})
    requester = Client()
    requester.get(links.requester_link(request.requester).removeprefix(settings.PUBLIC_BASE_URL))
    return {
        "calling": calling,
        "waiting": waiting,
        "meeting": meeting,
        "request": request,
        "wait_url": intake["Location"],
        "clients": {
            "provider": client_for(provider),
            "scheduler": client_for(scheduler),
            "patient": patient,
            "requester": requester,
            "anyone": Client(),
        },
    }


@pytest.mark.django_db
def test_no_page_or_fragment_carrying_patient_data_may_be_stored(clinic_a, patient_data):
    calling = patient_data["calling"]
    meeting, request = patient_data["meeting"], patient_data["request"]
    dash = f"/dashboard/{clinic_a.slug}"
    walk = [
        ("patient", "get", patient_data["wait_url"]),
        ("patient", "get", patient_data["wait_url"] + "state/"),
        ("provider", "get", f"{dash}/"),
        ("provider", "get", f"{dash}/board/"),
        ("provider", "get", f"{dash}/visits/{calling.pk}/chat/"),
        ("provider", "get", f"{dash}/visits/{calling.pk}/room/"),
        ("provider", "get", f"{dash}/requests/"),
        ("provider", "get", "/meetings/"),
        ("provider", "get", "/meetings/rows/"),
        ("provider", "get", f"/meetings/{meeting.pk}/change/"),
        ("provider", "get", f"/meetings/{meeting.pk}/agenda.ics"),
        ("scheduler", "get", "/dispatch/"),
        ("scheduler", "get", "/dispatch/rows/"),
        ("scheduler", "get", f"/dispatch/requests/{request.pk}/assign/"),
        ("requester", "get", "/requests/"),
        ("anyone", "get", links.join_link(meeting).removeprefix(settings.PUBLIC_BASE_URL)),
        ("provider", "post", f"{dash}/visits/{calling.pk}/end/"),  # an action answers with the card
    ]
    seen = []
    for who, method, url in walk:
        client = patient_data["clients"][who]
        extra = {"headers": {"Accept": "application/json"}} if method == "post" else {}
        response = getattr(client, method)(url, **extra)
        assert response.status_code == 200, (who, url, response.status_code)
        seen.append((url, response.get("Cache-Control")))
    assert [url for url, cache in seen if cache is None or "no-store" not in cache] == []
    # The walk saw the patients it was about (so it did not pass on empty pages).
    assert b"Wanda Waiting" in patient_data["clients"]["provider"].get(f"{dash}/board/").content


async def asgi_get(path: str) -> tuple[int, dict[str, str]]:
    """One GET through the project's ASGI application, as daphne hands it over."""
    from waitingroom.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    assert start["type"] == "http.response.start"
    return start["status"], {name.decode().title(): value.decode() for name, value in start["headers"]}


@pytest.mark.parametrize("path,status", [("/static/waitingroom/app.css", 200), ("/static/missing.js", 404)])
async def test_static_files_carry_the_security_headers(path, status):
    assert settings.SERVE_STATIC
    got, headers = await asgi_get(path)
    assert got == status
    assert_security_headers(headers)
    assert "no-store" not in headers.get("Cache-Control", "")  # static files stay cacheable


PAGE_FILES = [
    path
    for folder in ("templates", "fragments")
    for path in (ROOT / folder).rglob("*.html")
    if "emails" not in path.parts  # emails are not pages: mail clients need inline styles
]


def test_no_template_or_fragment_has_inline_script_handler_or_style():
    assert len(PAGE_FILES) > 30
    offences = []
    rules = {
        "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
        "handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
        "javascript: URL": re.compile(r"javascript:", re.I),
        "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
        "style element": re.compile(r"<style\b", re.I),
    }
    for path in PAGE_FILES:
        text = path.read_text()
        offences += [f"{path.relative_to(ROOT)}: {name}" for name, rule in rules.items() if rule.search(text)]
    assert offences == []


def test_every_deployed_daphne_runs_without_a_server_name():
    commands = {
        "Procfile": next(
            line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
        ),
        "Dockerfile": next(
            line for line in (ROOT / "Dockerfile").read_text().splitlines() if "daphne" in line
        ),
        "docker-compose.yml": next(
            line for line in (ROOT / "docker-compose.yml").read_text().splitlines() if '"daphne"' in line
        ),
    }
    assert [name for name, line in commands.items() if "--no-server-name" not in line] == []


def get_when_up(url: str, proc: subprocess.Popen) -> HTTPResponse:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited: {proc.communicate()[1].decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                return response
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_daphne_from_the_procfile_sends_no_server_banner():
    """The Procfile's web command, as production runs it: neither HTTP responses nor websocket
    handshakes name the server."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "waitingroom.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "WEBSOCKET_ALLOWED_ORIGINS": origin,
    }
    proc = subprocess.Popen(
        procfile_web_command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for path in ("/accounts/login/", "/static/waitingroom/app.css"):
            response = get_when_up(f"{origin}{path}", proc)
            assert response.status == 200, path
            assert response.headers.get("Server") is None, (path, response.headers.get("Server"))
        # A refused handshake (no login) still answers with HTTP headers: none names the server.
        with pytest.raises(InvalidStatus) as refused:
            websockets.sync.client.connect(
                f"ws://127.0.0.1:{port}/ws/staff/clinic-a/", origin=Origin(origin), open_timeout=10
            )
        assert refused.value.response.status_code == 403
        assert refused.value.response.headers.get("Server") is None
    finally:
        stop_process(proc)
