"""The meetings overview's socket: hints that a clinic's meetings, or the visit of one of its
guests, changed. Its own group, so that it does not hear every card pushed to the dashboards."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from waitingroom import tenancy
from waitingroom.models import FRONTLINE_ROLES
from waitingroom.realtime import groups
from waitingroom.realtime.consumer import CLOSE_NOT_FOUND, RealtimeConsumer
from waitingroom.realtime.messages import Audience


class MeetingsOverviewConsumer(RealtimeConsumer):
    """Joins the meetings group of the clinic in the URL, for its staff only (the overview page's
    own check, scheduling/meetings/selectors.py: overview_clinic)."""

    audiences = (Audience.MEETINGS_OVERVIEW, Audience.STAFF_MEMBER)

    async def connect(self) -> None:
        clinic_id = await self._clinic_id()
        if clinic_id is None:
            # Refused before the handshake completes: another clinic's staff learn nothing.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(groups.clinic_meetings_group(clinic_id), self.member_group())
        await self.accept()

    @database_sync_to_async
    def _clinic_id(self) -> int | None:
        try:
            clinic = tenancy.clinic_for_staff(
                user=tenancy.scope_user(self.scope),
                slug=self.scope["url_route"]["kwargs"]["slug"],
                roles=FRONTLINE_ROLES,
            )
        except Http404:
            return None
        return clinic.pk

    async def still_allowed(self) -> bool:
        return await self._clinic_id() is not None
