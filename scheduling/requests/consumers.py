"""The dispatch page's socket: hints that a clinic's requests or providers' availability changed."""

from __future__ import annotations

from channels.db import database_sync_to_async

from scheduling.requests import selectors
from waitingroom import tenancy
from waitingroom.realtime import groups
from waitingroom.realtime.consumer import CLOSE_NOT_FOUND, RealtimeConsumer
from waitingroom.realtime.messages import Audience


class DispatchConsumer(RealtimeConsumer):
    """Joins the scheduling group of every clinic the user dispatches for, and nothing else."""

    audiences = (Audience.DISPATCH_PAGE, Audience.STAFF_MEMBER)

    async def connect(self) -> None:
        clinic_ids = await self._clinic_ids()
        self.clinic_ids = set(clinic_ids)
        if not clinic_ids:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(*map(groups.clinic_scheduling_group, clinic_ids), self.member_group())
        await self.accept()

    @database_sync_to_async
    def _clinic_ids(self) -> list[int]:
        return list(
            selectors.dispatch_clinics(user=tenancy.scope_user(self.scope)).values_list("id", flat=True)
        )

    async def still_allowed(self) -> bool:
        # Still dispatching for every clinic whose group it joined: it would go on hearing a
        # clinic it lost, so losing any one ends the socket.
        return set(await self._clinic_ids()) >= self.clinic_ids
