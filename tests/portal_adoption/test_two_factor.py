"""Two-step sign-in: required for managers and administrators, a choice for everyone else.

These tests sign in through the forms, as a person does: `client.force_login`
stands for a complete sign-in (see tests/conftest.py) and would skip the step
under test.
"""

import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
CODE_ON_PAGE = re.compile(r"<li class=\"col\">([a-z2-7]{8})</li>")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def sign_in_with_password(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password step failed"
    return response


def phone_code(device) -> str:
    """What the authenticator app shows now."""
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def authenticator_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def set_up(client, user) -> list[str]:
    """The set-up page, as the person does it: scan, type the code, keep the codes."""
    assert client.get(reverse("two_factor_setup")).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(reverse("two_factor_setup"), {"code": phone_code(device)})
    assert page.status_code == 200
    return CODE_ON_PAGE.findall(page.content.decode())


def changes_to(user) -> list[str]:
    rows = AccessLogEntry.objects.filter(action=AccessAction.CHANGE, object_id=str(user.pk))
    return sorted(rows.values_list("resource", flat=True))


def test_a_manager_without_an_authenticator_is_sent_to_set_one_up(client, manager):
    sign_in_with_password(client, manager)
    response = client.get(reverse("metrics:dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))
    for url in (reverse("home"), reverse("access_log"), reverse("patients:list")):
        assert client.get(url).status_code == 302, url


def test_a_manager_cannot_reach_the_dashboard_without_the_code(client, manager, clock):
    device = authenticator_for(manager)
    sign_in_with_password(client, manager)
    response = client.get(reverse("metrics:dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("two_factor_verify") + "?next=%2Fdashboard%2F"
    wrong = client.post(response.url, {"code": "000000", "next": "/dashboard/"})
    assert wrong.status_code == 400
    assert client.get(reverse("metrics:dashboard")).status_code == 302
    clock.shift(31)
    key_before = client.session.session_key
    right = client.post(response.url, {"code": phone_code(device), "next": "/dashboard/"})
    assert right.status_code == 302
    assert right.url == "/dashboard/"
    assert client.session.session_key != key_before
    assert client.get(reverse("metrics:dashboard")).status_code == 200


def test_the_api_treats_a_half_signed_in_session_as_no_session(client, manager, patient):
    authenticator_for(manager)
    sign_in_with_password(client, manager)
    response = client.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    assert response.status_code in (401, 403)
    assert client.get(reverse("metrics:dashboard")).status_code == 302


def test_an_administrator_needs_it_for_the_admin_site(client, administrator):
    sign_in_with_password(client, administrator)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))


def test_a_manager_sets_up_the_app_and_gets_ten_recovery_codes(client, manager):
    sign_in_with_password(client, manager)
    page = client.get(reverse("two_factor_setup"))
    html = page.content.decode()
    assert "<svg" in html and "qr-code" in html
    assert page["Cache-Control"].startswith("max-age=0")
    codes = set_up(client, manager)
    assert len(set(codes)) == 10
    assert client.get(reverse("metrics:dashboard")).status_code == 200
    assert changes_to(manager) == ["staff_two_factor_on"]


def test_a_recovery_code_works_once(client, manager):
    sign_in_with_password(client, manager)
    code = set_up(client, manager)[0]
    client.post(reverse("logout"))

    sign_in_with_password(client, manager)
    assert client.post(reverse("two_factor_verify"), {"code": code}).status_code == 302
    assert client.get(reverse("metrics:dashboard")).status_code == 200
    client.post(reverse("logout"))

    sign_in_with_password(client, manager)
    again = client.post(reverse("two_factor_verify"), {"code": code})
    assert again.status_code == 400
    assert client.get(reverse("metrics:dashboard")).status_code == 302
    assert "staff_recovery_code_used" in changes_to(manager)


def test_a_nurse_without_a_device_signs_in_as_before(client, nurse):
    response = sign_in_with_password(client, nurse)
    assert response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("messaging:queues")).status_code in (200, 302)


def test_a_nurse_who_chose_it_must_use_it(client, nurse, clock):
    device = authenticator_for(nurse)
    sign_in_with_password(client, nurse)
    assert client.get(reverse("home")).url.startswith(reverse("two_factor_verify"))
    clock.shift(31)
    client.post(reverse("two_factor_verify"), {"code": phone_code(device)})
    assert client.get(reverse("home")).status_code == 200


def test_a_stolen_password_cannot_enroll_a_new_phone(client, manager):
    authenticator_for(manager)
    sign_in_with_password(client, manager)
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302
    assert response.url == reverse("two_factor_verify")
    client.post(reverse("two_factor_setup"), {"code": "123456"})
    assert not TOTPDevice.objects.filter(user=manager, confirmed=False).exists()


def test_a_nurse_turns_it_on_and_off_but_a_manager_cannot_turn_it_off(client, nurse, manager):
    sign_in_with_password(client, nurse)
    set_up(client, nurse)
    client.post(reverse("two_factor_off"))
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert changes_to(nurse) == ["staff_two_factor_off", "staff_two_factor_on"]

    client.force_login(manager)
    page = client.post(reverse("two_factor_off"), follow=True)
    assert "cannot be turned off" in page.content.decode()
    assert TOTPDevice.objects.filter(user=manager).exists()


def test_new_recovery_codes_replace_the_old_ones(client, nurse, clock):
    sign_in_with_password(client, nurse)
    old = set_up(client, nurse)
    page = client.post(reverse("two_factor_recovery_codes"))
    new = CODE_ON_PAGE.findall(page.content.decode())
    assert len(new) == 10 and not set(old) & set(new)
    client.post(reverse("logout"))
    sign_in_with_password(client, nurse)
    assert client.post(reverse("two_factor_verify"), {"code": old[0]}).status_code == 400
    clock.shift(2)  # django-otp makes each wrong guess wait longer: one second after the first
    assert client.post(reverse("two_factor_verify"), {"code": new[0]}).status_code == 302


def test_an_administrator_resets_a_lost_phone(client, administrator, manager):
    authenticator_for(manager)
    client.force_login(administrator)
    client.post(
        reverse("admin:portal_adoption_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [manager.pk]},
    )
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert changes_to(manager) == ["staff_two_factor_reset"]
    other = client.__class__()
    sign_in_with_password(other, manager)
    assert other.get(reverse("home")).url.startswith(reverse("two_factor_setup"))


def test_an_urgent_poll_of_a_half_signed_in_page_turns_it_into_the_verify_page(client, db):
    nurse_who_chose = UserFactory(username="nell", roles=[Role.NURSE])
    authenticator_for(nurse_who_chose)
    sign_in_with_password(client, nurse_who_chose)
    poll = client.get(reverse("messaging:urgent_alert"), HTTP_HX_REQUEST="true")
    assert poll["HX-Redirect"].startswith(reverse("two_factor_verify"))


def test_the_half_signed_in_page_shows_no_menu(client, manager):
    sign_in_with_password(client, manager)
    html = client.get(reverse("two_factor_setup")).content.decode()
    assert reverse("metrics:dashboard") not in html
    assert reverse("password_change") not in html
    assert 'action="/logout/"' in html


def test_wrong_codes_make_the_next_guess_wait(client, manager, clock):
    device = authenticator_for(manager)
    sign_in_with_password(client, manager)
    client.post(reverse("two_factor_verify"), {"code": "000000"})
    held = client.post(reverse("two_factor_verify"), {"code": phone_code(device)})
    assert held.status_code == 400
    assert "Too many wrong codes" in held.content.decode()
    assert client.get(reverse("home")).status_code == 302
    clock.shift(2)
    assert (
        client.post(reverse("two_factor_verify"), {"code": phone_code(device)}).status_code == 302
    )
