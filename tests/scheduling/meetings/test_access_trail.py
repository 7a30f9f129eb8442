"""A meeting's details and changes are in the access trail (waitingroom/audit/)."""

import pytest

from tests.conftest import client_for
from waitingroom.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def test_opening_and_cancelling_a_meeting_write_one_entry_each(meeting, provider):
    client = client_for(provider)
    assert client.get(f"/meetings/{meeting.pk}/change/").status_code == 200
    client.post(f"/meetings/{meeting.pk}/change/", {"action": "cancel", "sequence": str(meeting.sequence)})
    assert list(
        AccessEvent.objects.order_by("id").values_list("username", "action", "kind", "object_id", "detail")
    ) == [
        ("paula", "viewed", "meeting", meeting.pk, ""),
        ("paula", "changed", "meeting", meeting.pk, "cancel"),
    ]
    assert set(AccessEvent.objects.values_list("patient_label", flat=True)) == {"Gina Guest"}
