"""One thin consumer per audience. Permission is checked before any group is joined."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from waitingroom import realtime, tenancy
from waitingroom.ws import CLOSE_NOT_FOUND, RealtimeConsumer, session_is_live


class StaffDashboardConsumer(RealtimeConsumer):
    """A clinic's live dashboard: receives every change of that clinic's waiting room."""

    async def connect(self) -> None:
        self.clinic = await self._clinic()
        if self.clinic is None:
            # Refused before the handshake completes; an outsider learns nothing.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(realtime.clinic_staff_group(self.clinic.id))
        await self.accept()

    @database_sync_to_async
    def _clinic(self):
        try:
            return tenancy.clinic_for_staff(
                user=self.scope["user"], slug=self.scope["url_route"]["kwargs"]["slug"]
            )
        except Http404:
            return None

    async def still_allowed(self) -> bool:
        return await session_is_live(self.scope) and await self._clinic() is not None
