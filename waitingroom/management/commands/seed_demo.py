"""Demo data for `make run`: idempotent, and refused unless DEBUG is on."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from waitingroom.models import Clinic, Membership, Role

DEMO_PASSWORD = "demo-pass-123"
DEMO_STAFF = [
    # username, first name, last name, role, may use the Django admin
    ("provider", "Paula", "Provider", Role.PROVIDER, False),
    ("csr", "Chris", "Frontdesk", Role.CSR, False),
    ("scheduler", "Sam", "Scheduler", Role.SCHEDULER, True),
    ("clinicadmin", "Alex", "Admin", Role.CLINIC_ADMIN, True),
]


class Command(BaseCommand):
    help = "Create the demo clinic and its staff (DEBUG only; safe to run again)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to seed demo data with DEBUG off: demo passwords are public.")
        with transaction.atomic():
            self.seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo password is {DEMO_PASSWORD}"))

    def seed(self) -> None:
        User = get_user_model()
        clinic, _ = Clinic.objects.update_or_create(
            slug="demo",
            defaults={"name": "Demo Clinic", "time_zone": "America/New_York", "offline_queueing": True},
        )
        for username, first, last, role, admin_site in DEMO_STAFF:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@demo-clinic.example"
            user.is_staff = admin_site
            user.set_password(DEMO_PASSWORD)
            user.save()
            Membership.objects.update_or_create(user=user, clinic=clinic, defaults={"role": role})
        admin, _ = User.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.email = "admin@demo-clinic.example"
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        # Each app adds its part (this core app does not import the apps above it).
        for path in settings.DEMO_SEEDERS:
            import_string(path)(clinic)
