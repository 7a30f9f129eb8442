"""The consultation room's sockets: one for the staff pages, one for the client's. Each joins the
room's group only after the same check its pages make (consultations/access.py), hears the
`consultation` hints (the page re-fetches the parts named over HTTP, which decides what each
viewer may see) and ends with the right to it."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from consultations import access
from waitingroom import tenancy
from waitingroom.realtime import groups, messages
from waitingroom.realtime.consumer import CLOSE_NOT_FOUND, RealtimeConsumer
from waitingroom.realtime.messages import Audience


class StaffRoomConsumer(RealtimeConsumer):
    """A staff member's room page (`ws/consultations/<id>/`): staff of the consultation's clinic in a
    role that sees consultations; anyone else gets 4404 (another clinic's staff learn nothing).
    Logout and membership changes close it through the member group; its timer re-checks."""

    audiences = (Audience.CONSULTATION_STAFF, Audience.STAFF_MEMBER)

    async def connect(self) -> None:
        self.consultation_id = self.scope["url_route"]["kwargs"]["consultation_id"]
        if not await self._allowed():
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(groups.consultation_staff_group(self.consultation_id), self.member_group())
        await self.accept()

    @database_sync_to_async
    def _allowed(self) -> bool:
        try:
            access.staff_viewer(user=tenancy.scope_user(self.scope), consultation_id=self.consultation_id)
        except Http404:
            return False
        return True

    async def still_allowed(self) -> bool:
        return await self._allowed()


class ClientRoomConsumer(RealtimeConsumer):
    """The client's room page (`ws/consult/room/<token>/`): its link's token is the credential, checked
    at connect, on the timer, and when the link is re-issued (the old link's sockets close 4404)."""

    audiences = (Audience.CONSULTATION_CLIENT,)
    uses_login = False
    recheck_every = 120.0

    async def connect(self) -> None:
        self.token = self.scope["url_route"]["kwargs"]["token"]
        consultation_id = await self._consultation_id()
        if consultation_id is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(groups.consultation_client_group(consultation_id))
        await self.accept()

    @database_sync_to_async
    def _consultation_id(self) -> int | None:
        consultation = access.client_consultation(self.token)
        return consultation.pk if consultation else None

    def notice_handlers(self) -> dict:
        return {**super().notice_handlers(), messages.CONSULTATION_LINK_REISSUED.name: self.on_link_reissued}

    async def on_link_reissued(self, payload: dict) -> None:
        # Read after commit: a socket opened with the new link finds it valid and stays.
        await self.recheck()

    async def refusal(self) -> int | None:
        # 4404: what this link would get if it connected again now.
        return None if await self._consultation_id() is not None else CLOSE_NOT_FOUND
