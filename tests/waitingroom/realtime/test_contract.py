"""The realtime contract (waitingroom/realtime/messages.py) holds the publisher, the consumers, the
page scripts and docs/realtime.md to one list of message types."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from consultations.consumers import ClientRoomConsumer, StaffRoomConsumer
from scheduling.meetings.consumers import MeetingsOverviewConsumer
from scheduling.requests.consumers import DispatchConsumer
from visits.consumers import CallGuestConsumer, PatientConsumer, StaffCallConsumer, StaffDashboardConsumer
from waitingroom.realtime import groups, messages, publisher
from waitingroom.realtime.messages import Audience, ContractError, Direction

ROOT = Path(__file__).resolve().parents[3]
CONSUMERS = (
    StaffDashboardConsumer,
    PatientConsumer,
    StaffCallConsumer,
    DispatchConsumer,
    MeetingsOverviewConsumer,
    StaffRoomConsumer,
    ClientRoomConsumer,
    CallGuestConsumer,
)
SERVER_TO_CLIENT = (Direction.PUSH, Direction.REPLY, Direction.RELAY)


@pytest.mark.parametrize(
    "group, payload",
    [
        (groups.clinic_staff_group(1), {"type": "nonsense"}),  # not declared at all
        (groups.clinic_staff_group(1), {"message": "no type"}),
        (groups.clinic_staff_group(1), {"type": "broadcast", "message": "x", "extra": 1}),  # fields differ
        (groups.clinic_staff_group(1), {"type": "broadcast"}),
        (groups.clinic_staff_group(1), {"type": "meetings"}),  # declared for another audience
        (groups.clinic_scheduling_group(1), {"type": "pong"}),  # a reply, never published
        ("clinic-1-elsewhere", {"type": "broadcast", "message": "x"}),  # not a group of groups.py
    ],
)
def test_the_publisher_refuses_what_the_contract_does_not_declare(group, payload):
    with pytest.raises(ContractError):
        publisher.publish(group, payload)


@pytest.mark.django_db
def test_a_built_batch_is_checked_when_it_is_built(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(publisher, "_deliver", lambda batch: None)
    with pytest.raises(ContractError), django_capture_on_commit_callbacks(execute=True):
        publisher.publish_built(lambda: [(groups.visit_group(1), {"type": "visit", "status": "waiting"})])


@pytest.mark.django_db
def test_in_production_a_batch_that_breaks_the_contract_is_logged_and_dropped_not_an_error_page(
    monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    settings.REALTIME_STRICT_CONTRACT = False  # as in production (DEBUG=0)
    sent = []
    monkeypatch.setattr(publisher, "_deliver", sent.append)
    with django_capture_on_commit_callbacks(execute=True):  # the change itself is committed: no raise
        publisher.publish_built(lambda: [(groups.visit_group(1), {"type": "visit", "status": "waiting"})])
    assert sent == [] and "broke the message contract" in caplog.text


def test_relayed_signalling_is_checked_too():
    with pytest.raises(ContractError, match="carries"):  # `data` is missing; refused before sending
        asyncio.run(publisher.relay(groups.visit_group(1), {"type": "signal", "from": "patient", "to": "*"}))


def test_every_group_name_has_its_audience():
    made = {
        groups.clinic_staff_group(7): Audience.STAFF_DASHBOARD,
        groups.visit_group(7): Audience.PATIENT_SCREEN,
        groups.clinic_patients_group(7): Audience.WAITING_PATIENTS,
        groups.clinic_scheduling_group(7): Audience.DISPATCH_PAGE,
        groups.clinic_meetings_group(7): Audience.MEETINGS_OVERVIEW,
        groups.staff_member_group(7): Audience.STAFF_MEMBER,
        groups.consultation_staff_group(7): Audience.CONSULTATION_STAFF,
        groups.consultation_client_group(7): Audience.CONSULTATION_CLIENT,
        groups.call_guest_group(7): Audience.CALL_GUEST,
        groups.call_staff_group(7): Audience.CALL_STAFF,
    }
    assert {name: groups.audience_of(name) for name in made} == made


def _accepted(consumer) -> set[str]:
    return messages.names(Direction.RECEIVE, Audience.EVERY_SOCKET) | {
        name for audience in consumer.audiences for name in messages.names(Direction.RECEIVE, audience)
    }


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.__name__)
def test_consumers_take_only_declared_client_messages_of_their_audiences(consumer):
    assert consumer.audiences, "a consumer names whom it serves"
    handled = set(consumer().message_handlers())
    assert handled <= _accepted(consumer), handled - _accepted(consumer)


def _notices(consumer) -> set[str]:
    return {name for audience in consumer.audiences for name in messages.names(Direction.NOTICE, audience)}


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.__name__)
def test_consumers_act_only_on_notices_to_their_audiences(consumer):
    handled = set(consumer().notice_handlers())
    assert handled <= _notices(consumer), handled - _notices(consumer)


def test_every_notice_has_a_handler_and_none_is_a_browser_message():
    handled = {name for consumer in CONSUMERS for name in consumer().notice_handlers()}
    assert messages.names(Direction.NOTICE) == handled
    # A notice may share its name with a browser message (queue), but never its audience's leg:
    # what the consumers act on is not what a page script reads.
    for name in messages.names(Direction.NOTICE):
        message = messages.REGISTRY[name]
        notice_audiences = {leg.audience for leg in message.legs if leg.direction is Direction.NOTICE}
        forwarded = {leg for leg in message.legs if leg.direction is Direction.PUSH}
        assert not {leg.audience for leg in forwarded} & notice_audiences, name


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.__name__)
async def test_a_consumer_never_forwards_a_notice(consumer):
    sent: list = []
    socket = consumer()
    socket.ended, socket.scope = False, {}

    async def send_json(content, close=False):
        sent.append(content)

    async def ignore(payload):
        return None

    socket.send_json = send_json
    socket.notice_handlers = lambda: {name: ignore for name in messages.names(Direction.NOTICE)}
    for payload in (
        {"type": "queue", "visit_id": 1, "arrived": 0.0, "change": 1},
        {"type": "access", "session": ""},
        {"type": "link_reissued"},
    ):
        await socket.realtime_event({"type": publisher.EVENT_TYPE, "payload": payload})
    assert sent == []


def test_every_declared_client_message_has_a_handler():
    handled = {name for consumer in CONSUMERS for name in consumer().message_handlers()}
    assert messages.names(Direction.RECEIVE) == handled


def _project_python() -> str:
    """The project's own Python outside tests and the declarations themselves."""
    skip = {ROOT / "waitingroom/realtime/messages.py"}
    return "\n".join(
        path.read_text()
        for package in ("waitingroom", "visits", "scheduling", "consultations")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in skip and "migrations" not in path.parts
    )


def test_no_dead_entries_every_server_message_is_sent_by_the_code():
    """Each type sent server->client is named (messages.NAME) by a publishing module or consumer."""
    source = _project_python()
    constants = {m.name: const for const, m in vars(messages).items() if isinstance(m, messages.Message)}
    assert set(constants) == set(messages.REGISTRY), "every declaration has its constant"
    dead = [
        name
        for name, message in messages.REGISTRY.items()
        if any(leg.direction in SERVER_TO_CLIENT for leg in message.legs)
        and f"messages.{constants[name]}." not in source
    ]
    assert dead == []


# The forms page scripts use: `live.on("type", ...)` (the shared library's socket API),
# `msg.type === "type"` comparisons, and `send({type: "type", ...})` for what they send.
ON = re.compile(r"""\.on\(\s*["']([\w-]+)["']""")
COMPARED = re.compile(r"""(?<![\w.])(?:msg|message|data|payload)\.type\s*[!=]==?\s*["']([\w-]+)["']""")
SENT = re.compile(r"""send\(\s*\{\s*type:\s*["']([\w-]+)["']""")


def _scripts() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "static").rglob("*.js"))}


def test_page_scripts_handle_only_declared_server_messages():
    server = set().union(*(messages.names(direction) for direction in SERVER_TO_CLIENT))
    handled = {
        (path, name)
        for path, text in _scripts().items()
        for rx in (ON, COMPARED)
        for name in rx.findall(text)
    }
    # The patterns still find the handlers (a rewrite of the scripts must not blind this test).
    assert {"visit", "queue", "chat", "broadcast", "panel", "requests", "meetings"} <= {n for _, n in handled}
    assert sorted((path, name) for path, name in handled if name not in server) == []


def test_page_scripts_send_only_declared_client_messages():
    sent = {(path, name) for path, text in _scripts().items() for name in SENT.findall(text)}
    assert {"ping", "hello", "signal"} <= {n for _, n in sent}
    assert sorted((path, name) for path, name in sent if name not in messages.names(Direction.RECEIVE)) == []


def test_the_js_patterns_catch_an_undeclared_type():
    assert ON.findall('live.on("vist", f)') == ["vist"]
    assert COMPARED.findall('if (msg.type === "vist") x();') == ["vist"]
    assert COMPARED.findall('data.sdp.type === "offer"; r.type === "inbound-rtp"') == []


def doc_row(message: messages.Message, leg: messages.Leg) -> str:
    fields = ", ".join(f"`{f}`" for f in leg.fields) or "—"
    return f"| `{message.name}` | {leg.direction} | {leg.audience} | {fields} |"


def test_docs_list_every_message_type_with_its_direction_audience_and_fields():
    doc = (ROOT / "docs/realtime.md").read_text()
    missing = [
        doc_row(message, leg)
        for message in messages.REGISTRY.values()
        for leg in message.legs
        if doc_row(message, leg) not in doc
    ]
    assert missing == [], "docs/realtime.md misses:\n" + "\n".join(missing)
