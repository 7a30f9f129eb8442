"""Demo data for `make run`: idempotent, and refused unless DEBUG is on."""

from datetime import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from waitingroom.models import Clinic, HoursException, Membership, OpeningHours, Role

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
        seed_opening(clinic)


# Opening hours (docs/architecture.md, "Opening hours"). The demo clinic is open around the clock,
# every day, so `make run` shows it open whenever it is reviewed; its hours are in the admin to edit.
# Harbor Clinic shows the closed page: a staff training day today (its time zone), weekday hours
# after it, and a queue cap. Its link is /c/harbor/.
HARBOR_HOURS = [(day, start, end) for day in range(5) for start, end in ((8, 12), (13, 17))]


def seed_opening(clinic: Clinic) -> None:
    clinic.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(clinic=clinic, weekday=day, opens=time(0), closes=time(0)) for day in range(7)
    )
    harbor, _ = Clinic.objects.update_or_create(
        slug="harbor",
        defaults={
            "name": "Harbor Clinic",
            "time_zone": "America/New_York",
            "closed_message": "For urgent help call 911. You can also request an appointment at Demo Clinic.",
            "max_waiting": 3,
        },
    )
    harbor.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(clinic=harbor, weekday=day, opens=time(start), closes=time(end))
        for day, start, end in HARBOR_HOURS
    )
    harbor.hours_exceptions.all().delete()
    HoursException.objects.create(
        clinic=harbor, date=timezone.localdate(timezone=harbor.tzinfo), note="Staff training day"
    )
    for membership in clinic.memberships.filter(role__in=[Role.CLINIC_ADMIN, Role.PROVIDER]):
        Membership.objects.update_or_create(
            user_id=membership.user_id, clinic=harbor, defaults={"role": membership.role}
        )
