"""Personas: the people who use the application, one per role.

Fatima works the front desk, Nora is a nurse, Dr. Patel a provider, Bill is
in billing, Maria manages the practice and Ada administers the system.
"""

import uuid
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.client import ClientMixin
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY

from portal_adoption.roles import Role
from tests import mutation
from tests.browser.chromium import report_header
from tests.factories import PatientFactory, staff


def pytest_report_header(config):
    """Say at the top of every run whether the browser tests run, or what to install."""
    return report_header()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_blocker):
    """Each pytest run mutmut makes gets a fresh copy of a migrated database (tests/mutation.py)."""
    if mutation.under_mutmut():
        from pytest_django.fixtures import _set_suffix_to_test_databases

        _set_suffix_to_test_databases(f"mut{mutation.claim_slot()}")
        with django_db_blocker.unblock():
            mutation.copy_the_template(settings.DATABASES["default"]["TEST"]["NAME"])
        mutation.use_the_copy_as_it_is()


def pytest_collection_modifyitems(config, items):
    """A mutation run's copy of the source holds every mutant, which the tests that
    read the source text (not behavior) would report: they are left out of it."""
    if not mutation.under_mutmut():
        return
    kept = [item for item in items if item.get_closest_marker("reads_the_source") is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """mutmut runs pytest again and again in one process and forks its workers from it."""
    if mutation.under_mutmut():
        mutation.back_to_the_configured_databases()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: counters of failed sign-ins and refused
    keys (portal_adoption/throttling.py) must not carry over from one test to the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request by someone who reads Japanese leaves Japanese active in the thread
    (the language middleware activates it per request, as Django's does); the next
    test, a chart drawn outside any request, must not inherit it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _force_login_passes_both_steps(monkeypatch):
    """`client.force_login(user)` stands for a complete sign-in, second step included.

    Managers and administrators must sign in with a second factor
    (portal_adoption/two_factor.py); a test that only wants to be signed in
    as one gets a confirmed authenticator and a verified session. The rule
    itself is unchanged: tests of two-step sign-in sign in through the forms.
    """
    plain_force_login = ClientMixin.force_login

    def force_login(self, user, backend=None):
        plain_force_login(self, user, backend)
        from portal_adoption.two_factor import second_factor_authenticator, second_factor_required

        device = second_factor_authenticator(user)
        if device is None and second_factor_required(user):
            from django_otp.plugins.otp_totp.models import TOTPDevice

            device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


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


def new_role_name() -> str:
    return f"pam_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def limited_role(transactional_db):
    """A PostgreSQL login role set up as the README says: created, then granted by the owner."""
    role = new_role_name()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
    out = StringIO()
    call_command("grant_app_role", role, stdout=out)
    assert "cannot change the access log or the event log" in out.getvalue()
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")
