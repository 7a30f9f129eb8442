"""Every fragment of the scheduling app escapes what requesters, guests and staff type: dispatch
rows, the assign dialog, the provider's dashboard panel, the meetings overview's rows and the
meetings forms' fields."""

import pytest
from django.urls import reverse

from scheduling.meetings import booking
from tests.conftest import client_for
from tests.scheduling.conftest import scheduled_request, tomorrow
from tests.support.hostile import HOSTILE, assert_escaped
from waitingroom.fragments import render_fragment

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile_request(frozen, clinic_a, provider, hours, service):
    service.name = HOSTILE
    service.save()
    return scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 10)], provider=provider, name=HOSTILE, note=HOSTILE
    )


def test_dispatch_rows_and_the_assign_dialog_escape_the_request(hostile_request, scheduler_client):
    rows = scheduler_client.get(reverse("dispatch_rows")).content.decode()
    assert_escaped(rows, 3)  # name, service, note
    dialog = scheduler_client.get(reverse("dispatch_assign", args=[hostile_request.pk])).content.decode()
    assert_escaped(dialog, 3)  # service (title), name, note


def test_the_provider_panel_escapes_the_request(hostile_request, provider_client, clinic_a):
    panel = provider_client.get(reverse("requests_panel", args=[clinic_a.slug])).content.decode()
    assert_escaped(panel, 3)  # service, name, note


def test_meeting_rows_escape_the_guest_and_the_description(frozen, clinic_a, provider, service):
    booking.meeting_schedule(
        clinic=clinic_a, by=provider, provider_id=provider.pk, service=service, guest_name=HOSTILE,
        guest_email="guest@example.com", guest_phone="", description=HOSTILE,
        times=[tomorrow(clinic_a, 10)],
    )  # fmt: skip
    rows = client_for(provider).get(reverse("meetings_rows")).content.decode()
    assert_escaped(rows, 3)  # name, description, the summary box's label


def test_form_fields_escape_labels_and_errors():
    from django import forms

    class Hostile(forms.Form):
        answer = forms.CharField(label=HOSTILE)

        def clean(self):
            raise forms.ValidationError(HOSTILE)

    form = Hostile(data={"answer": "x"})
    form.is_valid()
    assert_escaped(render_fragment("scheduling/_fields.html", {"form": form}), 2)
