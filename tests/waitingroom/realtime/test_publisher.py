"""The publishing loop: a thread of its own that only sends published events (the path from a
socket to the publisher is tested through the staff socket, tests/visits/test_staff_socket.py)."""

import asyncio

from waitingroom.realtime.publisher import _PublisherLoop


def test_a_forked_process_or_a_stopped_loop_gets_a_new_publishing_loop():
    publisher = _PublisherLoop()
    first = publisher._running_loop()
    assert publisher._running_loop() is first
    publisher._pid = -1  # the loop is a parent's: as in a Celery worker's child
    second = publisher._running_loop()
    assert second is not first
    # It runs what it is given (the loop starts on its thread a moment after it is made).
    assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), second).result(timeout=5) == "ran"
    second.call_soon_threadsafe(second.stop)  # a loop that stopped is replaced too
    publisher._thread.join(timeout=5)
    third = publisher._running_loop()
    assert third is not second
    assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), third).result(timeout=5) == "ran"
    for loop in (first, third):
        loop.call_soon_threadsafe(loop.stop)


def test_publishing_from_the_publishing_loop_itself_does_not_stall_it():
    publisher = _PublisherLoop()
    ran = []

    async def event():
        ran.append("sent")

    async def from_inside():
        publisher.run(event(), timeout=5)  # returns at once: the loop cannot wait for itself
        return "returned"

    loop = publisher._running_loop()
    assert asyncio.run_coroutine_threadsafe(from_inside(), loop).result(timeout=2) == "returned"
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(timeout=2)
    assert ran == ["sent"]
    loop.call_soon_threadsafe(loop.stop)
