"""Fixtures of the report tests: clinic A's admin (clinic A is in New York time)."""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.factories import staff
from waitingroom.models import Role


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Ada", last_name="Admin")


@pytest.fixture
def admin_client(clinic_admin):
    return client_for(clinic_admin)
