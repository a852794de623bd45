"""Personas: the people who use the application, one per role.

Fatima works the front desk, Nora is a nurse, Dr. Patel a provider, Bill is
in billing, Maria manages the practice and Ada administers the system.
"""

import pytest
from django.core.cache import cache
from django.db import connection

from portal_adoption.roles import Role
from tests.factories import PatientFactory, staff


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: counters of failed sign-ins and refused
    keys (portal_adoption/throttling.py) must not carry over from one test to the next."""
    cache.clear()


@pytest.fixture
def front_desk_clerk(db):
    return staff("fatima", Role.FRONT_DESK, first_name="Fatima")


@pytest.fixture
def nurse(db):
    return staff("nora", Role.NURSE, first_name="Nora")


@pytest.fixture
def provider_user(db):
    return staff("drpatel", Role.PROVIDER, first_name="Anil", last_name="Patel")


@pytest.fixture
def billing_clerk(db):
    return staff("bill", Role.BILLING, first_name="Bill")


@pytest.fixture
def manager(db):
    return staff("maria", Role.MANAGER, first_name="Maria")


@pytest.fixture
def administrator(db):
    return staff("ada", Role.ADMINISTRATOR, first_name="Ada")


@pytest.fixture
def personas(front_desk_clerk, nurse, provider_user, billing_clerk, manager, administrator):
    return {
        Role.FRONT_DESK: front_desk_clerk,
        Role.NURSE: nurse,
        Role.PROVIDER: provider_user,
        Role.BILLING: billing_clerk,
        Role.MANAGER: manager,
        Role.ADMINISTRATOR: administrator,
    }


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Rosa", family_name="Delgado", external_id="MRN-ROSA")


def signed_in(client, user):
    client.force_login(user)
    return client


requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL; CI does): concurrent writers, locks, COPY",
)
