"""Staff change their own password, and reset a forgotten one by email."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.factories import PatientFactory, UserFactory

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "lantern orchard pebble violin"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def nora(db):
    return UserFactory(username="nora", email="nora@clinic.example", roles=[Role.NURSE])


def changes_to(user) -> list[str]:
    rows = AccessLogEntry.objects.filter(action=AccessAction.CHANGE, object_id=str(user.pk))
    return sorted(rows.values_list("resource", flat=True))


def ask_for_reset(client, email="nora@clinic.example", **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def test_the_user_menu_offers_the_password_and_two_step_sign_in(client, nora):
    client.force_login(nora)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("password_change")}"' in html
    assert f'href="{reverse("two_factor")}"' in html


def test_a_nurse_changes_her_password_and_stays_signed_in(client, nora):
    client.force_login(nora)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Your password is changed" in response.content.decode()
    nora.refresh_from_db()
    assert nora.check_password(NEW_PASSWORD)
    assert changes_to(nora) == ["staff_password_changed"]


def test_a_wrong_current_password_changes_nothing(client, nora):
    client.force_login(nora)
    response = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    nora.refresh_from_db()
    assert nora.check_password(PASSWORD)


def test_the_sign_in_page_links_to_the_reset(client, db):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def test_a_forgotten_password_is_reset_by_email(client, nora, settings):
    settings.SITE_URL = "https://portal.clinic.example"
    response = ask_for_reset(client)
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nora@clinic.example"]
    link = LINK.search(mail.outbox[0].body).group(0)
    assert link.startswith("https://portal.clinic.example/account/password/reset/")

    form = client.get(link.removeprefix("https://portal.clinic.example"), follow=True)
    assert form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.url == reverse("password_reset_complete")
    nora.refresh_from_db()
    assert nora.check_password(NEW_PASSWORD)
    assert changes_to(nora) == ["staff_password_reset"]
    signed_in = client.post(reverse("login"), {"username": "nora", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_the_reset_email_holds_no_patient_data(client, nora):
    patients = [PatientFactory(given_name="Rosa", family_name="Delgado", external_id="MRN-ROSA")]
    patients += PatientFactory.create_batch(5)
    ask_for_reset(client)
    message = mail.outbox[0]
    text = f"{message.subject}\n{message.body}"
    for patient in patients:
        for value in (patient.given_name, patient.family_name, patient.external_id, patient.email):
            assert value not in text
        assert patient.mobile_phone not in text


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, nora):
    response = ask_for_reset(client, "stranger@example.org")
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_reset_requests_are_throttled_per_address(client, nora, settings):
    settings.AUTH_FAILURE_LIMIT = 3
    statuses = [ask_for_reset(client).status_code for _ in range(6)]
    assert statuses == [302, 302, 302, 429, 429, 429]
    assert len(mail.outbox) == 3
