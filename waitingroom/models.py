"""The clinic core: clinics and who works in them."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/London).")


class Clinic(models.Model):
    name = models.CharField(max_length=120)
    # The clinic link is /c/<slug>/.
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    PROVIDER = "provider", "Provider"
    CSR = "csr", "CSR (front desk)"
    SCHEDULER = "scheduler", "Scheduler"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


# Roles that see the live waiting room and act on visits.
FRONTLINE_ROLES = frozenset({Role.PROVIDER, Role.CSR, Role.CLINIC_ADMIN})
# Roles that may use the Django admin for their clinic.
ADMIN_SITE_ROLES = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})


class Membership(models.Model):
    """A user's place in one clinic. A user may belong to several clinics, with one role in each."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic")]
        ordering = ["clinic__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.clinic}"
