"""A flood of refused requests cannot fill the access log, which can never be cleaned.

An attacker sends hundreds of requests with a bad key, no key, or wrong
passwords. Past AUTH_FAILURE_LIMIT refusals from one address in a window the
address gets 429, and the 429s write one summary row, not one row each.
"""

import pytest
from django.urls import reverse

from portal_adoption import cache as portal_cache
from portal_adoption.models import AccessLogEntry, AccessOutcome
from portal_adoption.services import integration_token_create
from tests.factories import UserFactory

LIMIT = 5
ATTACKER = "203.0.113.66"
BAD_KEY = {"HTTP_AUTHORIZATION": "Bearer pam_not-a-real-key", "REMOTE_ADDR": ATTACKER}
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on the discard port: every cache call fails at once.
        "LOCATION": "redis://127.0.0.1:9/0",
    }
}

pytestmark = pytest.mark.usefixtures("small_limit")


@pytest.fixture
def small_limit(settings):
    settings.AUTH_FAILURE_LIMIT = LIMIT
    settings.AUTH_FAILURE_WINDOW_MINUTES = 10


def denied_rows() -> int:
    return AccessLogEntry.objects.filter(outcome=AccessOutcome.DENIED).count()


def sign_in(client, username, password="guessing", address=ATTACKER):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_flood_of_bad_keys_gets_429_and_one_summary_row(client, db):
    statuses = [client.get(reverse("api_outbox"), **BAD_KEY).status_code for _ in range(40)]
    assert statuses[:LIMIT] == [401] * LIMIT
    assert set(statuses[LIMIT:]) == {429}
    assert denied_rows() == LIMIT + 1
    summary = AccessLogEntry.objects.get(resource="throttled:api")
    assert summary.ip_address == ATTACKER


def test_a_flood_without_any_key_is_cut_short_too(client, db):
    url = reverse("api_patients_bulk")
    for _ in range(30):
        response = client.post(url, {}, content_type="application/json", REMOTE_ADDR=ATTACKER)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many refused requests" in response.json()["detail"]
    assert denied_rows() == LIMIT + 1


def test_another_address_is_not_held_back_by_the_flood(client, db):
    for _ in range(LIMIT + 3):
        client.get(reverse("api_outbox"), **BAD_KEY)
    other = client.get(
        reverse("api_outbox"),
        HTTP_AUTHORIZATION="Bearer pam_also-wrong",
        REMOTE_ADDR="198.51.100.20",
    )
    assert other.status_code == 401


def test_a_valid_key_still_works_from_a_flooded_address(client, db):
    _token, key = integration_token_create(name="EHR", created_by=None)
    for _ in range(LIMIT + 3):
        client.get(reverse("api_outbox"), **BAD_KEY)
    response = client.get(
        reverse("api_outbox"), HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 200


def test_failed_sign_ins_over_many_names_get_429_and_one_summary_row(client, db):
    # A different name each time, so the per-account lockout never fires.
    responses = [sign_in(client, f"guess{n}") for n in range(LIMIT + 10)]
    assert [r.status_code for r in responses[:LIMIT]] == [200] * LIMIT
    assert {r.status_code for r in responses[LIMIT:]} == {429}
    assert "Too many failed attempts from this address" in responses[-1].content.decode()
    assert AccessLogEntry.objects.get().resource == "throttled:sign-in"


def test_the_right_password_waits_too_once_the_address_is_throttled(client, db):
    UserFactory(username="nora")
    for n in range(LIMIT + 1):
        sign_in(client, f"guess{n}")
    response = sign_in(client, "nora", "correct horse battery staple")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_with_redis_down_refusals_still_answer_and_are_still_counted(client, db, settings):
    portal_cache._process_memory.clear()
    settings.CACHES = REDIS_DOWN
    statuses = [client.get(reverse("api_outbox"), **BAD_KEY).status_code for _ in range(LIMIT + 2)]
    assert statuses[:LIMIT] == [401] * LIMIT
    assert statuses[-1] == 429
    assert sign_in(client, "someone").status_code == 200
