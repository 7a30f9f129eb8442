"""The one realtime publisher.

Services call `publish()`; nothing else sends to the channel layer. Events leave only after the
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
    transaction.on_commit(lambda: _deliver(group, payload))


def _deliver(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - CHANNEL_LAYERS is always configured
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": EVENT_TYPE, "payload": payload})
    except Exception:
        # The change is committed; a lost hint is repaired by the client's re-fetch. Never let a
        # Redis hiccup turn a successful action into an error page.
        log.exception("realtime publish to %s failed", group)


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
