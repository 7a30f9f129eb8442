"""One thin consumer per audience. Permission is checked before any group is joined."""

from __future__ import annotations

import time
from functools import partial

from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.http import Http404
from django.utils import timezone

from visits import call_guests, leases, offline, presence, publishing, selectors, services, signalling
from visits.guest import GUEST_BROWSER_KEY
from visits.guest_lifecycle import LIVE_STATUSES as LIVE_GUEST_STATUSES
from visits.guest_lifecycle import GuestStatus
from visits.lifecycle import IN_CALL_STATUSES, IN_PROGRESS_STATUSES
from visits.models import CallGuest, CallParticipant, Visit, hash_token
from waitingroom import tenancy
from waitingroom.models import FRONTLINE_ROLES
from waitingroom.realtime import groups, messages, publisher
from waitingroom.realtime.batching import Coalesced, call_each
from waitingroom.realtime.consumer import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_RECONNECT,
    CLOSE_TAKEN_OVER,
    RealtimeConsumer,
)
from waitingroom.realtime.messages import Audience

# Statuses in which the patient's activity changes something (presence.visit_activity).
ACTIVITY_STATUSES = IN_CALL_STATUSES
# A staff member's call socket closes with this once they are no longer in the call.
CLOSE_LEFT_CALL = CLOSE_FORBIDDEN


def _close_sockets(visit_ids: list[int]) -> list | None:
    """Patient sockets closing, written in batches (see Coalesced). Should the batch fail (say,
    a deadlock with another process's batch), each close is tried alone and only its own
    failure reaches its socket."""
    try:
        presence.visit_sockets_closed(visit_ids=visit_ids)
    except DatabaseError:
        if len(visit_ids) == 1:
            raise
        return call_each([partial(presence.visit_socket_closed, visit_id=v) for v in visit_ids])
    return None


SOCKETS_CLOSED = Coalesced(_close_sockets)


def _open_sockets(sockets: list[PatientConsumer]) -> list:
    """Patient sockets opening, looked up and counted in batches (see Coalesced): for each,
    None (no such visit for this browser) or (visit, counted), counted when the quiet presence
    update (presence.visit_sockets_opened_quietly, one statement for the batch) took it."""
    leases.ensure_lease()  # before this process counts its first socket
    _load_sessions(sockets)
    found = call_each([socket._find for socket in sockets])
    visits = [f for f in found if isinstance(f, Visit)]
    try:
        counted = presence.visit_sockets_opened_quietly(visit_ids=[v.id for v in visits]) if visits else set()
    except DatabaseError:
        if len(visits) == 1:
            raise
        # As for closes: a batch that fails (a deadlock with another process's batch) is counted
        # one socket at a time, so that only a socket's own failure reaches it.
        return call_each(
            [partial(_count_alone, f) if isinstance(f, Visit) else partial(_as_found, f) for f in found]
        )
    return [(f, f.id in counted) if isinstance(f, Visit) else f for f in found]


def _load_sessions(sockets: list[PatientConsumer]) -> None:
    """The browser sessions of a batch of connects in one query instead of one each (9% of
    daphne's time in a reconnect storm). A session that is missing or expired reads as empty, as
    Django's own load makes it; the socket then finds no visit."""
    stores = [store for socket in sockets if (store := socket.scope.get("session")) is not None]
    keys = {store.session_key for store in stores if store.session_key}
    if len(keys) < 2:
        return  # a lone connect loads its own, as before
    data = dict(
        Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
            "session_key", "session_data"
        )
    )
    for store in stores:
        if store.session_key in keys:
            # SessionBase's cache of the loaded session: what its first read would have filled.
            store._session_cache = store.decode(data[store.session_key]) if store.session_key in data else {}


async def _opened_for_nobody(socket: PatientConsumer, found) -> None:
    """A connect cancelled while its batch was written: a count taken for it is given back."""
    if isinstance(found, tuple) and found[1]:
        await SOCKETS_CLOSED.submit(found[0].id)


def _count_alone(visit: Visit) -> tuple[Visit, bool]:
    return visit, bool(presence.visit_sockets_opened_quietly(visit_ids=[visit.id]))


def _as_found(found):
    return found


SOCKETS_OPENED = Coalesced(_open_sockets, abandoned=_opened_for_nobody)


class StaffDashboardConsumer(RealtimeConsumer):
    """A clinic's live dashboard: receives every change of that clinic's waiting room."""

    audiences = (Audience.STAFF_DASHBOARD, Audience.STAFF_MEMBER)

    async def connect(self) -> None:
        self.clinic = await self._clinic()
        if self.clinic is None:
            # Refused before the handshake completes; an outsider learns nothing.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.join(groups.clinic_staff_group(self.clinic.id), self.member_group())
        await self.accept()

    @database_sync_to_async
    def _clinic(self):
        try:
            return tenancy.clinic_for_staff(
                user=tenancy.scope_user(self.scope),
                slug=self.scope["url_route"]["kwargs"]["slug"],
                roles=FRONTLINE_ROLES,
            )
        except Http404:
            return None

    async def still_allowed(self) -> bool:
        return await self._clinic() is not None


class CallPeer(RealtimeConsumer):
    """The call-signalling half shared by the patient's socket and a staff member's call socket.
    Relayed messages carry `from` and `to` (a peer id or "*"); each socket forwards only what is
    addressed to it, and only while it may take part in the call."""

    audiences: tuple[Audience, ...] = (Audience.CALL_PEERS,)
    peer_id: str
    visit_id: int

    async def may_signal(self) -> bool:
        raise NotImplementedError

    def message_handlers(self) -> dict:
        return {
            **super().message_handlers(),
            messages.HELLO.name: self.on_hello,
            messages.SIGNAL.name: self.on_signal,
            messages.BYE.name: self.on_bye,
            messages.CALL_FAILED.name: self.on_call_failed,
        }

    async def call_signal(self, event: dict) -> None:
        payload = event["payload"]
        if (
            not self.ended
            and payload["from"] != self.peer_id
            and payload["to"] in (self.peer_id, "*")
            and await self.may_signal()
        ):
            await self.send_json(payload)

    async def _relay(self, payload: dict) -> None:
        await publisher.relay(groups.visit_group(self.visit_id), {"from": self.peer_id, **payload})

    async def _refuse(self) -> bool:
        if await self.may_signal():
            return False
        await self.send_error("You are not in this call.")
        return True

    async def on_hello(self, content: dict) -> None:
        """A peer (re)joins: every peer already in the call answers with an offer to it."""
        if not await self._refuse():
            await self._relay({"type": messages.PEER.name, "event": "hello", "to": "*"})

    async def on_bye(self, content: dict) -> None:
        if not await self._refuse():
            await self._relay({"type": messages.PEER.name, "event": "bye", "to": "*"})

    async def on_signal(self, content: dict) -> None:
        if await self._refuse():
            return
        try:
            to, data = signalling.clean_signal(content, sender=self.peer_id)
        except signalling.BadSignal as bad:
            await self.send_error(str(bad))
            return
        await self._relay({"type": messages.SIGNAL.name, "to": to, "data": data})

    async def on_call_failed(self, content: dict) -> None:
        if await self._refuse():
            return
        reason = str(content.get("reason", ""))[:200]
        await database_sync_to_async(services.visit_call_failed)(
            visit_id=self.visit_id,
            reason=reason,
            user=tenancy.scope_staff(self.scope) if self.peer_id != "patient" else None,
        )


class PatientConsumer(CallPeer):
    """The patient's wait screen: presence (connect, activity), the device-check result, and the
    visit's own updates plus the clinic's queue moves and broadcasts.

    Its credential is its link: when the visit's link is re-issued (another browser took the visit
    over), the LINK_REISSUED notice closes it, and it re-checks its token on its timer and before
    anything it does to the visit or the call."""

    audiences = (Audience.PATIENT_SCREEN, Audience.WAITING_PATIENTS, Audience.CALL_PEERS)
    # The visit's token and its browser session are the credentials: no login to look up, so the
    # route skips the auth middleware's database call (waitingroom/asgi.py).
    uses_login = False
    # Thousands of waiting screens: the re-issue notice closes an old link's socket at once, so
    # the timer, which only catches a lost notice, runs less often than staff sockets'.
    recheck_every = 120.0

    async def connect(self) -> None:
        # One call on the database thread for the session, the visit and, in the common case, the
        # presence UPDATE, shared with the other sockets connecting meanwhile: a reconnect storm
        # queues thousands of connects on that one thread.
        self.lease_generation = leases.generation()  # before the count (leases.hold)
        found = await SOCKETS_OPENED.submit(self)
        if found is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.visit, self.counted = found
        self.peer_id, self.visit_id, self.status = signalling.PATIENT_PEER, self.visit.id, self.visit.status
        self.token_hash = hash_token(self.scope["url_route"]["kwargs"]["token"])
        # The queue's order (selectors.queue_position): arrival, then id; as published.
        self.queue_key = (self.visit.arrived_at.timestamp(), self.visit.id)
        try:
            await self.join(
                groups.visit_group(self.visit.id), groups.clinic_patients_group(self.visit.clinic_id)
            )
            await self.accept()
        except BaseException:
            # No socket after all: the count taken above must not stay behind.
            if self.counted:
                self.counted = False
                await SOCKETS_CLOSED.submit(self.visit.id)
            raise
        if not self.counted:
            # Coming back changes what staff see (offline, recalled, Recents, a lost connection):
            # published now that this socket hears its own visit's update too.
            self.counted = True
            await database_sync_to_async(presence.visit_socket_opened)(visit_id=self.visit.id)
        if not leases.hold(self):
            await self.lease_buried()  # buried while this socket was being counted

    async def lease_buried(self) -> None:
        """This process's presence lease was buried while the socket was open: the sweep may have
        counted it as closed although its patient is still here. The page reconnects at once and
        is counted again; this close takes back only what the process still counts for the visit
        (nothing, once the sweep has), so the count comes right (visits/leases.py)."""
        await self.end(CLOSE_RECONNECT)

    def _find(self) -> Visit | None:
        """The visit of the token in the URL when this browser session is bound to it."""
        session = self.scope.get("session")
        bound = session.get(selectors.PATIENT_SESSION_KEY, []) if session is not None else []
        try:
            return selectors.patient_visit(
                token=self.scope["url_route"]["kwargs"]["token"],
                bound_visit_ids=bound,
                only=selectors.SOCKET_FIELDS,
            )
        except Http404:
            return None

    async def disconnect(self, code: int) -> None:
        leases.release(self)
        try:
            await super().disconnect(code)
        finally:
            # Whatever happened to the group leave, the drop must start the reconnect grace.
            if getattr(self, "counted", False):
                await SOCKETS_CLOSED.submit(self.visit.id)

    async def realtime_event(self, event: dict) -> None:
        if event["payload"].get("type") == messages.VISIT.name:
            self.status = event["payload"]["status"]  # the call is on while the visit is in progress
        await super().realtime_event(event)

    def notice_handlers(self) -> dict:
        return {
            **super().notice_handlers(),
            messages.QUEUE.name: self.on_queue,
            messages.LINK_REISSUED.name: self.on_link_reissued,
        }

    async def on_queue(self, payload: dict) -> None:
        """Another patient joined or left the queue: this screen hears only that someone ahead of
        it moved, never who (their visit id) or when they arrived."""
        if (payload["arrived"], payload["visit_id"]) < self.queue_key:
            await self.send_json({"type": messages.QUEUE.name, "change": payload["change"]})

    async def on_link_reissued(self, payload: dict) -> None:
        # Read after commit: a socket opened with the new token (the browser that took over)
        # finds it valid and stays.
        await self.recheck()

    async def refusal(self) -> int | None:
        # 4404, what this link would get if it connected again now.
        return None if await self._link_is_current() else CLOSE_NOT_FOUND

    @database_sync_to_async
    def _link_is_current(self) -> bool:
        return Visit.objects.filter(pk=self.visit_id, token_hash=self.token_hash).exists()

    async def _acting(self) -> bool:
        """Before the socket changes the visit or takes part in the call: its link must still be
        the visit's (a notice may not have arrived yet). False, and the socket closed, if not."""
        return await self.recheck()

    async def _refuse(self) -> bool:
        return not await self._acting() or await super()._refuse()

    async def may_signal(self) -> bool:
        return self.status in IN_PROGRESS_STATUSES

    def message_handlers(self) -> dict:
        return {
            **super().message_handlers(),
            messages.MEDIA.name: self.on_media,
            messages.MEDIA_CHECK.name: self.on_media_check,
            messages.ACTIVITY.name: self.on_activity,
            messages.VISIBILITY.name: self.on_visibility,
        }

    async def on_visibility(self, content: dict) -> None:
        hidden = content.get("hidden")
        if not isinstance(hidden, bool):
            await self.send_error("visibility needs hidden: true or false.")
            return
        if not await self._acting():
            return
        await database_sync_to_async(offline.visit_visibility)(visit_id=self.visit.id, hidden=hidden)

    async def on_media_check(self, content: dict) -> None:
        if content.get("state") != "started":
            await self.send_error("media_check needs state: started.")
            return
        if not await self._acting():
            return
        await database_sync_to_async(services.visit_media_check_started)(visit_id=self.visit.id)

    async def on_media(self, content: dict) -> None:
        ok = content.get("ok")
        if not isinstance(ok, bool):
            await self.send_error("media needs ok: true or false.")
            return
        if not await self._acting():
            return
        await database_sync_to_async(services.visit_media_result)(visit_id=self.visit.id, ok=ok)

    async def on_activity(self, content: dict) -> None:
        # Activity only matters in a call (it holds off "away"); the page sends it every few
        # seconds while the patient moves, so a waiting patient's costs no database work.
        if self.status not in ACTIVITY_STATUSES or not await self._acting():
            return
        await database_sync_to_async(presence.visit_activity)(
            visit_id=self.visit.id, idle_seconds=self.visit.clinic.idle_seconds
        )


# The call sockets' `opened` (OnePeerSocket): each process's own clock, which may be off another's.
wall_clock = time.time


class OnePeerSocket(CallPeer):
    """A call peer whose browser may open the call in more than one tab: a staff member's Return to
    call in a second tab, a call guest's link opened again in the browser bound to it. The newest
    socket of the peer id holds the call; the older one ends with 4409 (CLOSE_TAKEN_OVER), its page
    says the call continued in another tab and does not reconnect, so the others in the call see
    the peer once. A subclass names the group the sockets of one peer id share (`takeover_group`)
    and calls `claim_peer()` in connect once it joined that group, before the accept: the notice is
    then in the older socket's queue ahead of anything the newer page's hello brings about (an
    offer addressed to this peer id, which the older page would answer too)."""

    in_call: bool
    opened: float

    def takeover_group(self) -> str:
        raise NotImplementedError

    async def claim_peer(self) -> None:
        """Tell the other sockets of this peer id that this one holds the call now."""
        # When this socket opened (wall clock: the sockets of one peer id may be on different
        # processes): the order in which a peer id's sockets take the call over (on_taken_over).
        self.opened = wall_clock()
        await self._announce()

    async def _announce(self) -> None:
        await publisher.notify(
            self.takeover_group(),
            {
                "type": messages.CALL_TAKEN_OVER.name,
                "peer": self.peer_id,
                "channel": self.channel_name,
                "opened": self.opened,
            },
        )

    def notice_handlers(self) -> dict:
        return {**super().notice_handlers(), messages.CALL_TAKEN_OVER.name: self.on_taken_over}

    async def on_taken_over(self, payload: dict) -> None:
        """Another socket of this peer id opened the call: this one ends. No bye is relayed (and
        `in_call` goes first, so that the guest's end() relays none either): the peer id is still
        in the call, in the newer tab, and the others replace its connection on that tab's hello."""
        if payload["peer"] != self.peer_id or payload["channel"] == self.channel_name:
            return
        # Only a newer socket takes over. Two sockets that joined the group before either's notice
        # went out (two tabs, or a double press, connecting together) each hear the other's: by
        # (opened, channel), an order both sides agree on, exactly one of them ends.
        if (payload["opened"], payload["channel"]) > (self.opened, self.channel_name):
            self.in_call = False
            await self.end(CLOSE_TAKEN_OVER)
        else:
            # The notice reads as older than this socket: it opened later, on a process whose clock
            # is behind this one's, and never heard this socket's notice (sent before it joined).
            # Said again, so that the one reading as older ends and the peer id keeps one socket.
            await self._announce()


class StaffCallConsumer(OnePeerSocket):
    """A staff member's side of a visit's call. Only staff of the visit's clinic who joined the call
    (pressed Call) get in; leaving the call ends their part of it."""

    # It hears the visit's group (the visit's updates) besides the call's signalling, and the call
    # panels' group (a call guest's request to join).
    audiences = (Audience.CALL_PEERS, Audience.PATIENT_SCREEN, Audience.STAFF_MEMBER, Audience.CALL_STAFF)

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        self.visit_id, self.slug = kwargs["visit_id"], kwargs["slug"]
        if not await self._may_join(self.slug):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.peer_id = signalling.staff_peer(tenancy.scope_staff(self.scope).id)
        self.in_call = True
        await self.join(
            groups.visit_group(self.visit_id), groups.call_staff_group(self.visit_id), self.member_group()
        )
        # The same staff member's older call socket of this visit (Return to call in a second tab) ends.
        await self.claim_peer()
        await self.accept()

    def takeover_group(self) -> str:
        return groups.call_staff_group(self.visit_id)

    @database_sync_to_async
    def _may_join(self, slug: str) -> bool:
        try:
            clinic = tenancy.clinic_for_staff(
                user=tenancy.scope_user(self.scope), slug=slug, roles=FRONTLINE_ROLES
            )
        except Http404:
            return False
        return Visit.objects.filter(pk=self.visit_id, clinic=clinic).exists() and self._participates()

    def _participates(self) -> bool:
        return CallParticipant.objects.filter(
            visit_id=self.visit_id, user=tenancy.scope_staff(self.scope)
        ).exists()

    async def realtime_event(self, event: dict) -> None:
        # Every change of the visit (someone left, the visit ended) re-checks that this staff
        # member is still in the call; once out, the socket closes and hears nothing more.
        if await self.took_notice(event["payload"]):
            return
        if event["payload"].get("type") == messages.VISIT.name:
            self.in_call = await database_sync_to_async(self._participates)()
            await self.send_json(event["payload"])
            if not self.in_call:
                await self.end(CLOSE_LEFT_CALL)
        elif event["payload"].get("type") == messages.CALL_GUEST.name and self.in_call:
            await self.send_json(event["payload"])

    async def may_signal(self) -> bool:
        return self.in_call

    async def still_allowed(self) -> bool:
        # As at connect: still frontline staff of the visit's clinic, and still in its call.
        return await self._may_join(self.slug)


class CallGuestConsumer(OnePeerSocket):
    """A call guest's screen (visits/call_guests.py): its own group from the start (the answer to
    its request), the visit's call only once a staff member admitted it (checked against the
    database before the group is joined). From the visit's group it forwards the call's signalling
    alone: no patient status, no chat. Its credential is its link bound to its browser; a removal,
    a decline or the call's end closes it at once."""

    audiences = (Audience.CALL_GUEST, Audience.CALL_PEERS)
    uses_login = False  # the link and the browser's session are the credentials

    async def connect(self) -> None:
        self.token_hash = hash_token(self.scope["url_route"]["kwargs"]["token"])
        guest = await self._find()
        if guest is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.guest_id, self.visit_id = guest.id, guest.visit_id
        self.peer_id = signalling.guest_peer(guest.id)
        self.status = guest.status
        self.in_call = False
        await self.join(groups.call_guest_group(guest.id))
        if guest.status == GuestStatus.ADMITTED:
            await self._enter_call()
        # The link opened again in another tab of the bound browser: that socket ends, as a staff
        # member's older call socket does, and the others in the call see the guest once.
        await self.claim_peer()
        await self.accept()

    def takeover_group(self) -> str:
        return groups.call_guest_group(self.guest_id)

    def _browser_hash(self) -> str:
        session = self.scope.get("session")
        key = session.get(GUEST_BROWSER_KEY, "") if session is not None else ""
        return call_guests.browser_hash(key) if key else ""

    @database_sync_to_async
    def _find(self) -> CallGuest | None:
        """This link's guest, live and bound to this browser (an invitation not yet expired)."""
        browser = self._browser_hash()
        guest = CallGuest.objects.filter(token_hash=self.token_hash).first() if browser else None
        if (
            guest is None
            or guest.browser_hash != browser
            or guest.status not in LIVE_GUEST_STATUSES
            or (guest.status == GuestStatus.INVITED and guest.expires_at <= timezone.now())
        ):
            return None
        return guest

    @database_sync_to_async
    def _admitted(self) -> bool:
        return CallGuest.objects.filter(pk=self.guest_id, status=GuestStatus.ADMITTED).exists()

    async def _enter_call(self) -> None:
        """Join the visit's call, only while the database says the guest is admitted."""
        if self.in_call or not await self._admitted():
            return
        self.in_call = True
        await self.join(groups.visit_group(self.visit_id))

    async def may_signal(self) -> bool:
        return self.in_call and not self.ended

    async def refusal(self) -> int | None:
        guest = await self._find()
        if guest is None:
            return CLOSE_FORBIDDEN
        if self.in_call and guest.status != GuestStatus.ADMITTED:
            return CLOSE_FORBIDDEN
        return None

    async def end(self, code: int) -> None:
        if self.in_call and not self.ended:
            # The others drop the guest's video at once rather than wait for its connection to fail.
            self.in_call = False
            await self._relay({"type": messages.PEER.name, "event": "bye", "to": "*"})
        await super().end(code)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "in_call", False):
            self.in_call = False
            await self._relay({"type": messages.PEER.name, "event": "bye", "to": "*"})
        await super().disconnect(code)

    async def realtime_event(self, event: dict) -> None:
        payload = event["payload"]
        if await self.took_notice(payload):
            return
        kind = payload.get("type")
        if kind == messages.GUEST.name:
            self.status = payload["status"]
            if self.status == GuestStatus.ADMITTED:
                await self._enter_call()
            await self.send_json(payload)
            if self.status not in LIVE_GUEST_STATUSES:
                await self.end(CLOSE_FORBIDDEN)
        elif kind == messages.VISIT.name and self.in_call:
            # Someone joined or left the call: the guest's screen gets the names again (never the
            # patient's status fragment that came with this push).
            reply = await self._state()
            if reply is not None and not self.ended:
                await self.send_json(reply)
        # Anything else of the visit's group (its chat, the patient's screen) is not the guest's.

    @database_sync_to_async
    def _state(self) -> dict | None:
        guest = (
            CallGuest.objects.select_related("visit__clinic", "invited_by").filter(pk=self.guest_id).first()
        )
        if guest is None:
            return None
        return {
            "type": messages.GUEST.name,
            "status": guest.status,
            "html": publishing.render_guest_status(guest),
        }

    async def on_call_failed(self, content: dict) -> None:
        """A guest's failed connection is not the patient's: the visit's card does not record it."""
        await self._refuse()
