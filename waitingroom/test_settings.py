"""Settings for the test suite: PostgreSQL and Redis, as in production, with in-memory outboxes."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitingroom")
# A Redis database of its own, so a running `make run` (database 0) and the tests don't mix.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("CHANNEL_LAYER_PREFIX", "waitingroom-test")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("GC_TUNING", "0")
# No lease in the test process: its sweeps run beside its own sockets. Tests that start real
# daphne processes turn it on for them (tests/visits/test_faults_presence.py).
os.environ.setdefault("PRESENCE_LEASE_SECONDS", "0")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# localstripe for this test run (tests/support/stripe.py starts it): a free port, chosen once and
# inherited by the daphne and worker processes the tests start, so they all reach the same one.
os.environ.setdefault("LOCALSTRIPE_URL", f"http://127.0.0.1:{_free_port()}")

from waitingroom.settings import *  # noqa: E402, F403

REALTIME_STRICT_CONTRACT = True  # pytest-django runs with DEBUG off
# A fault test's worker process records its sends in a file instead (tests/support/sms_file.py).
SMS_BACKEND = os.environ.get("TEST_SMS_BACKEND", "waitingroom.outbox.sms_backends.LocmemSmsBackend")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline unless a test starts a real worker (those override this).
CELERY_TASK_ALWAYS_EAGER = True
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TWILIO_FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://clinic.example.test"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
