"""The one realtime publisher.

Services call `publish()` or `publish_many()`; nothing else sends to the channel layer. Events leave only after the
surrounding transaction commits, so a rolled-back change is never announced and a listener that
re-fetches on the hint always reads the committed state. Delivery is at-most-once: pushes are
hints, and a client that reconnects re-fetches over HTTP.

Group names come only from the functions below.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

# The consumer method that receives published events: `realtime.event` -> `realtime_event`.
EVENT_TYPE = "realtime.event"


def clinic_staff_group(clinic_id: int) -> str:
    """Every open dashboard of one clinic."""
    return f"clinic-{clinic_id}-staff"


def visit_group(visit_id: int) -> str:
    """The patient's screen(s) of one visit and the staff in its call."""
    return f"visit-{visit_id}"


def publish(group: str, payload: dict[str, Any]) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits."""
    publish_many([(group, payload)])


def publish_many(batch: list[tuple[str, dict[str, Any]]]) -> None:
    """Send several (group, payload) pairs, in order, once the current transaction commits.

    One change usually tells several audiences (dashboards, the patient, the queue). Sent as one
    batch they cost one hop from the request's thread to the event loop instead of one each: under
    load that loop is busy with thousands of sockets, and each hop waited for it.
    """
    batch = list(batch)
    transaction.on_commit(lambda: _deliver(batch))


def _deliver(batch: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - CHANNEL_LAYERS is always configured
        return
    try:
        async_to_sync(_send_in_order)(layer, batch)
    except Exception:
        # The change is committed; a lost hint is repaired by the client's re-fetch. Never let a
        # Redis hiccup turn a successful action into an error page.
        log.exception("realtime publish to %s failed", ", ".join(group for group, _ in batch))


async def _send_in_order(layer, batch: list[tuple[str, dict[str, Any]]]) -> None:
    # In order: a patient's screen is in two of the groups and reads the messages as they come.
    for group, payload in batch:
        await layer.group_send(group, {"type": EVENT_TYPE, "payload": payload})


# The consumer method that receives relayed call signalling: `call.signal` -> `call_signal`.
SIGNAL_TYPE = "call.signal"


async def relay(group: str, payload: dict[str, Any]) -> None:
    """Call signalling between the browsers of one visit: relayed at once, not tied to a database
    transaction (nothing is stored). Each consumer forwards only what is addressed to it."""
    layer = get_channel_layer()
    await layer.group_send(group, {"type": SIGNAL_TYPE, "payload": payload})


def clinic_patients_group(clinic_id: int) -> str:
    """Every waiting patient's screen in one clinic: queue moves and the broadcast message."""
    return f"clinic-{clinic_id}-patients"


def clinic_scheduling_group(clinic_id: int) -> str:
    """Every open dispatch page showing one clinic's appointment requests."""
    return f"clinic-{clinic_id}-scheduling"
