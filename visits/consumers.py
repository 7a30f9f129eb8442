"""One thin consumer per audience. Permission is checked before any group is joined."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from visits import presence, selectors, services
from waitingroom import realtime, tenancy
from waitingroom.models import FRONTLINE_ROLES
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
                user=self.scope["user"], slug=self.scope["url_route"]["kwargs"]["slug"], roles=FRONTLINE_ROLES
            )
        except Http404:
            return None

    async def still_allowed(self) -> bool:
        return await session_is_live(self.scope) and await self._clinic() is not None


class PatientConsumer(RealtimeConsumer):
    """The patient's wait screen: presence (connect, activity), the device-check result, and the
    visit's own updates plus the clinic's queue moves and broadcasts."""

    async def connect(self) -> None:
        self.visit = await self._visit()
        if self.visit is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(realtime.visit_group(self.visit.id))
        await self.join(realtime.clinic_patients_group(self.visit.clinic_id))
        await self.accept()
        self.counted = True
        await database_sync_to_async(presence.visit_socket_opened)(visit_id=self.visit.id)

    @database_sync_to_async
    def _visit(self):
        session = self.scope.get("session")
        bound = session.get(selectors.PATIENT_SESSION_KEY, []) if session is not None else []
        try:
            return selectors.patient_visit(
                token=self.scope["url_route"]["kwargs"]["token"], bound_visit_ids=bound
            )
        except Http404:
            return None

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if getattr(self, "counted", False):
            await database_sync_to_async(presence.visit_socket_closed)(visit_id=self.visit.id)

    def message_handlers(self) -> dict:
        return {**super().message_handlers(), "media": self.on_media, "activity": self.on_activity}

    async def on_media(self, content: dict) -> None:
        ok = content.get("ok")
        if not isinstance(ok, bool):
            await self.send_json({"type": "error", "error": "media needs ok: true or false."})
            return
        await database_sync_to_async(services.visit_media_result)(visit_id=self.visit.id, ok=ok)

    async def on_activity(self, content: dict) -> None:
        await database_sync_to_async(presence.visit_activity)(
            visit_id=self.visit.id, idle_seconds=self.visit.clinic.idle_seconds
        )
