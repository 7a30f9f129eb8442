"""Phone consultations' part of the demo data (called by `manage.py seed_demo` after scheduling's,
which gives the demo provider hours every day 08:00-20:00): a phone service with the booking
questions of a veterinary practice, a paid one (45.00, charged by card after the consultation),
the clinic's voice number, and consultations in each status, two of them for the same client so
that the room shows a history. Safe to run again.

Bookings go through the booking service; consultations that have already begun can't be booked
(their time is past), so they are made with the row and the booking event directly, then moved on
by the real services (start, note, complete, lock), as scheduling's demo does for past meetings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from consultations import booking, services, slots
from consultations.lifecycle import NEW, Actor, Event, transition
from consultations.models import BookingQuestion, Consultation, ConsultationProfile
from scheduling.models import Requester, Service
from waitingroom.models import Clinic, StaffPhone

DEMO_CLIENTS = "@demo-client.example"
VOICE_NUMBER = "+12125550100"  # 555-01xx: fictional, yet a valid New York number (the admin checks it)
DEMO_EXPERT_PHONE = "+12125550111"
QUESTIONS = [
    ("pet_name", "Your animal's name", "text", "", True),
    ("species", "Species", "choice", "Dog\nCat\nRabbit\nBird\nOther", True),
    ("problem", "What is the problem?", "text", "", True),
]


def seed(clinic: Clinic) -> None:
    ConsultationProfile.objects.update_or_create(clinic=clinic, defaults={"voice_number": VOICE_NUMBER})
    service, _ = Service.objects.update_or_create(
        clinic=clinic,
        name="Vet phone consultation",
        defaults={
            "kind": Service.Kind.PHONE,
            "description": "A vet calls you back to talk about your animal; share photos in the room.",
            "duration_minutes": 20,
            "position": 2,
        },
    )
    # A paid phone service, so `make run` shows card payments: a newcomer books it with the test
    # card 4242 4242 4242 4242 (localstripe beside the app), and the expert charges it in the room.
    # The demo's own consultations are of the free service above: they need no card.
    Service.objects.update_or_create(
        clinic=clinic,
        name="Vet medication review",
        defaults={
            "kind": Service.Kind.PHONE,
            "description": "A vet reviews your animal's medication with you by phone.",
            "duration_minutes": 20,
            "payment_required": True,
            "price": "45.00",
            "position": 3,
        },
    )
    for position, (key, label, kind, choices, required) in enumerate(QUESTIONS):
        BookingQuestion.objects.update_or_create(
            clinic=clinic,
            key=key,
            defaults={
                "label": label,
                "kind": kind,
                "choices": choices,
                "required": required,
                "position": position,
            },
        )
    expert = get_user_model().objects.get(username="provider")
    # The demo expert's own phone, already verified, so Start Phone Call works at once under
    # `make run` (the console voice backend calls nobody).
    StaffPhone.objects.update_or_create(
        user=expert, defaults={"number": DEMO_EXPERT_PHONE, "verified_at": timezone.now()}
    )
    if not Consultation.objects.filter(clinic=clinic, client_email__endswith=DEMO_CLIENTS).exists():
        seed_consultations(clinic, expert, service)


def _email(name: str) -> str:
    return f"{name.split()[0].lower()}{DEMO_CLIENTS}"


def seed_consultations(clinic: Clinic, expert: User, service: Service) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    open_slots = slots.open_slots(clinic=clinic, service=service, expert_id=None, now=now + timedelta(days=1))

    def book(name: str, answers: dict[str, str], *, expert_id: int | None, slot: int) -> Consultation:
        return booking.consultation_book(
            clinic=clinic, service=service, expert_id=expert_id, starts_at=open_slots[slot].starts_at,
            name=name, email=_email(name), phone="+15555550143", answers=answers,
        )  # fmt: skip

    def begun(name: str, answers: dict[str, str], starts_at: datetime) -> Consultation:
        requester, _ = Requester.objects.get_or_create(email=_email(name), defaults={"name": name})
        consultation = Consultation.objects.create(
            clinic=clinic, service=service, expert=expert, mode=Consultation.Mode.SLOT,
            status=transition(NEW, Event.BOOK_EXPERT, Actor.CLIENT), starts_at=starts_at,
            ends_at=starts_at + service.duration, requester=requester, client_name=name,
            client_email=_email(name), client_phone="+15555550144", answers=answers,
            created_at=starts_at - timedelta(days=2), claimed_at=starts_at - timedelta(days=2),
        )  # fmt: skip
        services.record(consultation, Event.BOOK_EXPERT, before=NEW, now=consultation.created_at)
        return consultation

    rex = {"pet_name": "Rex", "species": "Dog", "problem": "Limping on the front left leg since Sunday."}
    # Available: booked for any expert; the client already wrote to the clinic.
    available = book("Casey Client", rex, expert_id=None, slot=0)
    services.message_post(consultation_id=available.pk, body="He still won't put weight on it this morning.")
    # Claimed: booked for the demo provider by name.
    book(
        "Robin Rabbit-Owner",
        {"pet_name": "Clover", "species": "Rabbit", "problem": "Not eating hay for two days."},
        expert_id=expert.pk,
        slot=3,
    )
    # In progress: its call has connected (the phone bridge will do this; here the system event).
    in_call = begun(
        "Morgan Parrot",
        {"pet_name": "Kiwi", "species": "Bird", "problem": "Plucking feathers."},
        now - timedelta(minutes=5),
    )
    services.consultation_start(consultation_id=in_call.pk)
    # Completed, still Open: Casey's earlier consultation, so Rex's room has a history.
    earlier = begun("Casey Client", {**rex, "problem": "Ear infection follow-up."}, now - timedelta(days=6))
    services.consultation_start(consultation_id=earlier.pk)
    services.note_save(
        consultation_id=earlier.pk,
        by=expert,
        body="Ears clean now. Finish the drops for three more days; call if the shaking comes back.",
        expected_note_version=0,
    )
    services.consultation_complete(consultation_id=earlier.pk, by=expert, expected_version=None)
    services.message_post(consultation_id=earlier.pk, body="Thanks, he's much better!")
    # Completed and Locked: the client may no longer post.
    locked = begun(
        "Jordan Catkeeper",
        {"pet_name": "Miso", "species": "Cat", "problem": "Vomiting after meals."},
        now - timedelta(days=3),
    )
    services.note_save(
        consultation_id=locked.pk,
        by=expert,
        body="Likely eating too fast: slow feeder bowl, small meals. Bring her in if it goes on a week.",
        expected_note_version=0,
    )
    services.consultation_complete(consultation_id=locked.pk, by=expert, expected_version=None)
    services.consultation_set_open(consultation_id=locked.pk, by=expert, is_open=False, expected_version=None)
    # Cancelled by the clinic, with the reason the client was emailed.
    cancelled = book(
        "Sam Hamster",
        {"pet_name": "Nibbles", "species": "Other", "problem": "Overgrown teeth."},
        expert_id=expert.pk,
        slot=6,
    )
    services.consultation_cancel(
        consultation_id=cancelled.pk,
        by=expert,
        reason="Teeth need an examination in person: please book a clinic visit instead.",
        expected_version=None,
    )
