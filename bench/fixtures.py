"""The benchmark's data, made in bulk: a clinic with its staff (real login sessions), waiting
patients (real visits with tokens, bound to real browser sessions), visits in a call for staff
actions, and clinics of 10, 100 and 1,000 visits for the dashboard render.

Patients and staff go through the product's real auth path: a session cookie (and, for a patient,
the visit's token in the URL), exactly as a browser that used the intake form or the login page.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django.utils.crypto import get_random_string

from visits.lifecycle import Status
from visits.models import CallParticipant, IntakeField, Visit, hash_token, new_token
from visits.selectors import PATIENT_SESSION_KEY
from waitingroom.models import Clinic, Membership, Role

BATCH = 2000
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class Patient:
    visit_id: int
    token: str
    session_key: str


@dataclass(frozen=True)
class StaffLogin:
    user_id: int
    session_key: str


@dataclass
class BenchClinic:
    id: int
    slug: str
    staff: list[StaffLogin]
    patients: list[Patient]
    targets: list[int]  # visits in "available": staff actions call and leave them


def reset_database() -> None:
    """Migrate the benchmark's own database and empty it (it is never the dev or test one), and
    drop the channel layer's keys of earlier runs: ids restart after the flush, so a run stopped
    half-way would leave its dead sockets in this run's groups."""
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


def staff_login(user) -> StaffLogin:
    """A logged-in session, as django.contrib.auth.login() stores it."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = AUTH_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None  # create() saved it under a new key
    return StaffLogin(user_id=user.pk, session_key=store.session_key)


def make_staff(clinic: Clinic, count: int, *, prefix: str) -> list:
    users = []
    for i in range(count):
        user = get_user_model().objects.create(
            username=f"{prefix}-{clinic.slug}-{i}", first_name="Bench", last_name=f"Staff {i}"
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, clinic=clinic, role=Role.CSR if i % 2 else Role.PROVIDER)
        users.append(user)
    return users


def _visits(clinic: Clinic, count: int, status: Status, *, name: str) -> list[tuple[Visit, str]]:
    now = timezone.now()
    made = []
    for i in range(count):
        token = new_token()
        arrived = now - timedelta(seconds=count - i)
        made.append(
            (
                Visit(
                    clinic=clinic,
                    token_hash=hash_token(token),
                    patient_name=f"{name} {i}",
                    answers={"reason": "Follow-up", "state": "NY"},
                    status=status,
                    arrived_at=arrived,
                    status_changed_at=arrived,
                    ready_at=arrived if status != Status.CONNECTING else None,
                    media_check=Visit.MediaCheck.PASSED,
                ),
                token,
            )
        )
    Visit.objects.bulk_create([v for v, _ in made], batch_size=BATCH)
    return made


def _patient_sessions(visits: list[tuple[Visit, str]]) -> list[Patient]:
    """One browser session per patient, bound to their visit (what the intake form does)."""
    encoder = SessionStore()
    expire = timezone.now() + timedelta(days=1)
    patients, rows = [], []
    for visit, token in visits:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        rows.append(
            Session(
                session_key=key,
                session_data=encoder.encode({PATIENT_SESSION_KEY: [visit.id]}),
                expire_date=expire,
            )
        )
        patients.append(Patient(visit_id=visit.id, token=token, session_key=key))
    Session.objects.bulk_create(rows, batch_size=BATCH)
    return patients


def make_clinic(slug: str, *, staff: int, patients: int, targets: int) -> BenchClinic:
    clinic = Clinic.objects.create(name=f"Bench {slug}", slug=slug)
    users = make_staff(clinic, staff, prefix="bench")
    waiting = _visits(clinic, patients, Status.WAITING, name="Patient")
    available = _visits(clinic, targets, Status.AVAILABLE, name="In visit")
    return BenchClinic(
        id=clinic.id,
        slug=clinic.slug,
        staff=[staff_login(u) for u in users],
        patients=_patient_sessions(waiting),
        targets=[v.id for v, _ in available],
    )


# A clinic's open visits spread over the four dashboard sections, as in a busy afternoon.
RENDER_MIX = [
    (Status.CONNECTING, 1),
    (Status.MEDIA_BLOCKED, 1),
    (Status.WAITING, 5),
    (Status.IN_CALL, 1),
    (Status.AVAILABLE, 1),
    (Status.DISCONNECTED, 1),
]


def make_render_clinic(visits: int) -> tuple[str, StaffLogin]:
    """A clinic with `visits` open visits (intake answers on the card, staff in calls)."""
    clinic = Clinic.objects.create(name=f"Render {visits}", slug=f"render-{visits}")
    for position, key in enumerate(("reason", "state")):
        IntakeField.objects.create(
            clinic=clinic, label=key.title(), key=key, show_on_card=True, position=position
        )
    users = make_staff(clinic, 3, prefix="render")
    weights = [w for _, w in RENDER_MIX]
    rng = random.Random(visits)  # the same mix on every run
    made: list[Visit] = []
    counts: dict[Status, int] = {}
    for _ in range(visits):
        status = rng.choices([s for s, _ in RENDER_MIX], weights)[0]
        counts[status] = counts.get(status, 0) + 1
    for status, count in counts.items():
        made += [v for v, _ in _visits(clinic, count, status, name=status.value)]
    now = timezone.now()
    CallParticipant.objects.bulk_create(
        [
            CallParticipant(visit=v, user=users[i % len(users)], joined_at=now)
            for i, v in enumerate(made)
            if v.status == Status.IN_CALL
        ],
        batch_size=BATCH,
    )
    return clinic.slug, staff_login(users[0])
