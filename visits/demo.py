"""The waiting room's part of the demo data (called by `manage.py seed_demo`)."""

from visits.models import IntakeField
from waitingroom.models import Clinic

DEMO_INTAKE = [
    # key, label, kind, choices, required, shown on the card
    (
        "visit_option",
        "Visit option",
        IntakeField.Kind.CHOICE,
        "New visit\nFollow-up\nPrescription refill",
        True,
        True,
    ),
    ("state", "State", IntakeField.Kind.REGION, "", True, True),
    ("dob", "Date of birth", IntakeField.Kind.DATE, "", True, False),
    ("phone", "Mobile phone", IntakeField.Kind.PHONE, "", False, False),
    ("reason", "Reason for visit", IntakeField.Kind.TEXT, "", False, False),
]


def seed(clinic: Clinic) -> None:
    for position, (key, label, kind, choices, required, on_card) in enumerate(DEMO_INTAKE):
        IntakeField.objects.update_or_create(
            clinic=clinic,
            key=key,
            defaults={
                "label": label,
                "kind": kind,
                "choices": choices,
                "required": required,
                "show_on_card": on_card,
                "position": position,
            },
        )
