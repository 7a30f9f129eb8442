from __future__ import annotations

import pytest
from django.utils import timezone

from tests.support.voice_sim import SimulatedTwilio
from tests.waitingroom.voice import subjects
from waitingroom.voice.models import PhoneCall


@pytest.fixture(autouse=True)
def voice_settings(settings):
    settings.VOICE_SUBJECTS = {"consultation": "tests.waitingroom.voice.subjects.heard"}
    settings.VOICE_INBOUND = ["tests.waitingroom.voice.subjects.route"]
    subjects.HEARD.clear()
    yield settings
    subjects.HEARD.clear()


@pytest.fixture
def heard():
    return subjects.HEARD


@pytest.fixture
def make_call(clinic_a, provider):
    """A stored outbound call as call_start leaves it (placing it is tested on its own)."""

    def make(*, record: bool = True, **fields) -> PhoneCall:
        kwargs = subjects.call_kwargs(clinic_a, provider, record=record)
        kwargs["consent_text"] = kwargs["consent_text"] if record else ""
        return PhoneCall.objects.create(**(kwargs | {"created_at": timezone.now()} | fields))

    return make


@pytest.fixture
def twilio_sim():
    return SimulatedTwilio()
