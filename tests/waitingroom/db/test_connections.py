"""An HTTP request's database connections close when it finishes (under ASGI its thread is never
reused, so a kept connection would leak); a test's transaction is left alone."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished
from django.db import connection


@pytest.mark.django_db(transaction=True)
def test_a_finished_request_closes_its_connection():
    connection.ensure_connection()
    assert connection.connection is not None
    request_finished.send(sender=None)
    assert connection.connection is None


@pytest.mark.django_db
def test_a_connection_inside_a_transaction_is_left_open():
    connection.ensure_connection()
    request_finished.send(sender=None)
    assert connection.connection is not None and connection.in_atomic_block
