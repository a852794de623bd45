"""Signing in, being locked out after repeated failures, and idle sign-out."""

import datetime as dt

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

PASSWORD = "correct horse battery staple"


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_nurse_signs_in_and_lands_on_her_home_page(client, nurse):
    response = sign_in(client, "nora", PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")
    home = client.get(reverse("home")).content.decode()
    assert "Nurse" in home
    assert "Nora" in home


def test_a_wrong_password_shows_the_form_again(client, nurse):
    response = sign_in(client, "nora", "not it")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_five_failed_attempts_lock_the_account_even_with_the_right_password(client, nurse):
    for _attempt in range(5):
        sign_in(client, "nora", "guessing")
    response = sign_in(client, "nora", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_then_the_right_password_still_signs_in(client, nurse):
    for _attempt in range(4):
        sign_in(client, "nora", "guessing")
    assert sign_in(client, "nora", PASSWORD).status_code == 302


def test_an_idle_session_ends_after_fifteen_minutes(client, nurse):
    client.force_login(nurse)
    assert client.get(reverse("home")).status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date - timezone.now() > dt.timedelta(minutes=14)
    assert session.expire_date - timezone.now() <= dt.timedelta(minutes=15)
    # Sixteen minutes of silence later the session has expired.
    Session.objects.filter(pk=session.pk).update(
        expire_date=timezone.now() - dt.timedelta(minutes=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_activity_keeps_the_session_alive(client, nurse):
    client.force_login(nurse)
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=2))
    client.get(reverse("home"))
    renewed = Session.objects.get(pk=key).expire_date
    assert renewed - timezone.now() > dt.timedelta(minutes=14)


def test_signing_out_ends_the_session(client, nurse):
    client.force_login(nurse)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302
