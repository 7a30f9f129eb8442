import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from waitingroom.models import Clinic, Membership, Role

pytestmark = pytest.mark.django_db


def test_seed_creates_demo_clinic_and_logins_and_is_idempotent(settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; the demo is seeded only with it on
    call_command("seed_demo")
    call_command("seed_demo")

    clinic = Clinic.objects.get(slug="demo")
    assert clinic.name == "Demo Clinic"
    roles = dict(Membership.objects.filter(clinic=clinic).values_list("user__username", "role"))
    assert roles == {
        "provider": Role.PROVIDER,
        "csr": Role.CSR,
        "scheduler": Role.SCHEDULER,
        "clinicadmin": Role.CLINIC_ADMIN,
    }
    for username in ["provider", "csr", "scheduler", "clinicadmin", "admin"]:
        assert authenticate(username=username, password="demo-pass-123") is not None
    assert authenticate(username="admin", password="demo-pass-123").is_superuser
    assert Clinic.objects.count() == 1
    # The waiting room's intake form, with visit option and State on the card.
    assert list(clinic.intake_fields.filter(show_on_card=True).values_list("key", flat=True)) == [
        "visit_option",
        "state",
    ]
