"""Fixed personas and shared fixtures (healthchecks-style): an owner clinic A with its provider and
CSR, and clinic B whose provider is the outsider who must get nothing of clinic A."""

import pytest
from django.test import Client

from tests.factories import ClinicFactory, staff
from waitingroom.models import Role
from waitingroom.outbox import sms_backends

pytest_plugins = ["tests.support.live", "tests.support.ws"]

PASSWORD = "pw-for-tests-1"


def pytest_collection_modifyitems(config, items):
    """Browser journeys run last: sync Playwright keeps an asyncio loop in the main thread for the
    rest of the session, which async (websocket) tests cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    yield
    from django.db import connection

    from tests.support.live import close_other_connections

    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no test here used the database, so none was made (and there is nothing to drop)
    with django_db_blocker.unblock():
        close_other_connections()


@pytest.fixture
def clinic_a(db):
    return ClinicFactory(name="Clinic A", slug="clinic-a")


@pytest.fixture
def clinic_b(db):
    return ClinicFactory(name="Clinic B", slug="clinic-b")


@pytest.fixture
def provider(clinic_a):
    return staff(
        username="paula", clinic=clinic_a, role=Role.PROVIDER, first_name="Paula", last_name="Provider"
    )


@pytest.fixture
def csr(clinic_a):
    return staff(username="chris", clinic=clinic_a, role=Role.CSR, first_name="Chris", last_name="Desk")


@pytest.fixture
def outsider(clinic_b):
    """A provider of clinic B: must see nothing of clinic A."""
    return staff(
        username="otto", clinic=clinic_b, role=Role.PROVIDER, first_name="Otto", last_name="Outsider"
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def provider_client(provider):
    return client_for(provider)


@pytest.fixture
def csr_client(csr):
    return client_for(csr)


@pytest.fixture
def outsider_client(outsider):
    return client_for(outsider)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms_backends.outbox.clear()
    yield
    sms_backends.outbox.clear()


@pytest.fixture(scope="session")
def localstripe():
    """localstripe at settings.LOCALSTRIPE_URL for the session (started by the first test that
    asks): the SDK and the pages' Stripe.js already point at it (test_settings)."""
    from tests.support.stripe import start_localstripe, stop

    process = start_localstripe()
    yield process
    stop(process)


@pytest.fixture
def fake_stripe():
    """Every Stripe SDK request goes to a recording fake (tests/support/stripe.py FakeStripeHttp)."""
    from tests.support.stripe import fake_stripe_http

    yield from fake_stripe_http()


@pytest.fixture
def flips(monkeypatch):
    """The opening hours' exact-time tasks sent (args, eta), as a broker would get them, not run inline
    (waitingroom/opening.py flip_at)."""
    from django.conf import settings

    from waitingroom import tasks
    from waitingroom.celery import app as celery_app

    sent: list[dict] = []
    celery_app.conf.update(task_always_eager=False)
    monkeypatch.setattr(tasks.opening_hours_flip, "apply_async", lambda **kwargs: sent.append(kwargs))
    yield sent
    celery_app.conf.update(task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER)
