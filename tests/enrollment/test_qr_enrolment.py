"""QR self-enrollment: Fatima shows a code at the desk, Rosa finishes on her own phone.

The code is signed, single-use, lasts 15 minutes and carries nothing but
the invitation's id; a used, expired or forged code gets a friendly page
sending the patient back to the desk.
"""

import logging
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enrollment.models import (
    EnrollmentMethod,
    EnrollmentStatus,
    EnrollmentStep,
    QrInvitation,
    SkipReason,
    Step,
)
from enrollment.patient_texts import TEXTS, patient_texts
from enrollment.selectors import PortalState, portal_status
from enrollment.services import (
    QR_SALT,
    QrUnusable,
    contact_check,
    enrollment_abandon,
    enrollment_open,
    enrollment_tick,
    qr_invitation_create,
    qr_invitation_for_token,
    qr_invitation_redeem,
)
from enrollment.views import qr as qr_views
from patients.languages import PATIENT_LANGUAGES
from patients.models import ActivityEvent, EventType, NotificationChannel
from tests.conftest import requires_postgres
from tests.factories import PatientFactory
from tests.portal_adoption.test_page_shell import INLINE_SCRIPT, INLINE_STYLE

# Steps 1 and 2 done, step 3 left to the patient's own phone (issue 11).
STEPS_1_TO_3 = {
    (Step.COLLECT_CONTACT, ""),
    (Step.SEND_INVITATION, ""),
    (Step.FIRST_LOGIN, SkipReason.ON_OWN_PHONE),
}
ASK_THE_DESK = "Please ask the front desk for a new code."
ASK_THE_DESK_ES = "Pida un código nuevo en recepción."


@pytest.fixture
def enrollment(patient, front_desk_clerk):
    return enrollment_open(patient=patient, by=front_desk_clerk)


@pytest.fixture
def phone():
    """The patient's own phone: nobody is signed in on it."""
    return Client()


@pytest.fixture
def shown_urls(monkeypatch):
    """The addresses drawn as QR codes (the tests cannot scan the SVG)."""
    shown = []
    draw = qr_views.qr_svg

    def spy(url):
        shown.append(url)
        return draw(url)

    monkeypatch.setattr(qr_views, "qr_svg", spy)
    return shown


@pytest.fixture
def token(enrollment, front_desk_clerk):
    return qr_invitation_create(enrollment=enrollment, by=front_desk_clerk)[1]


def show_code(client, user, enrollment):
    client.force_login(user)
    return client.post(reverse("enrollment:qr_create", args=[enrollment.pk]))


def start_url(token):
    return reverse("qr_patient:start", args=[token])


def confirm(phone, token, **fields):
    return confirm_at(phone, start_url(token), **fields)


def confirm_at(phone, url, **fields):
    data = {"email": "", "mobile_phone": "", "notification_channel": "email", "consent": "yes"}
    return phone.post(url, data | fields)


def patient_data(patient):
    return [
        patient.family_name,
        patient.email,
        patient.mobile_phone,
        patient.external_id,
        patient.birth_date.isoformat(),
        "1970",
    ]


def assert_no_patient_data(html, patient):
    for value in patient_data(patient):
        assert value not in html, value


def ticked(enrollment):
    """Each answered step with its skip reason ("" when done)."""
    answers = EnrollmentStep.objects.filter(enrollment=enrollment)
    return set(answers.values_list("step", "skip_reason"))


# --- The clerk's screen ----------------------------------------------------------


@pytest.mark.parametrize("persona", ["front_desk_clerk", "manager"])
def test_the_clerk_shows_a_qr_code_that_carries_no_patient_data(
    request, client, patient, enrollment, persona, shown_urls
):
    response = show_code(client, request.getfixturevalue(persona), enrollment)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html
    assert "The code works once, until" in html
    assert 'hx-trigger="every 3s"' in html
    assert_no_patient_data(html, patient)
    assert patient.given_name not in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)
    assert response["Cache-Control"].startswith("max-age=0")
    (url,) = shown_urls
    assert url.startswith("http://testserver/enroll/")
    enrollment.refresh_from_db()
    # Showing a code is not self-enrollment: only a code the patient uses is.
    assert enrollment.method == EnrollmentMethod.DESK


def test_the_code_expires_15_minutes_after_it_is_shown(client, front_desk_clerk, enrollment):
    show_code(client, front_desk_clerk, enrollment)

    invitation = QrInvitation.objects.get(enrollment=enrollment)
    assert invitation.expires_at - invitation.created_at == timedelta(minutes=15)
    assert invitation.created_by == front_desk_clerk


def test_a_nurse_cannot_show_a_qr_code_nor_follow_one(client, nurse, enrollment, token):
    assert show_code(client, nurse, enrollment).status_code == 403
    assert QrInvitation.objects.filter(enrollment=enrollment).count() == 1
    invitation = QrInvitation.objects.get()
    response = client.get(reverse("enrollment:qr_status", args=[invitation.pk]))
    assert response.status_code == 403


def test_a_visitor_who_is_not_signed_in_cannot_show_a_code(client, enrollment):
    response = client.post(reverse("enrollment:qr_create", args=[enrollment.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not QrInvitation.objects.exists()


def test_a_stopped_enrollment_gets_no_code_and_the_clerk_is_told_why(
    client, front_desk_clerk, enrollment
):
    enrollment_abandon(enrollment=enrollment)

    response = show_code(client, front_desk_clerk, enrollment)

    assert response.status_code == 200
    assert "open the patient again" in response.content.decode()
    assert "<svg" not in response.content.decode()
    assert not QrInvitation.objects.exists()


def test_the_clerks_screen_says_waiting_then_finished(
    client, phone, front_desk_clerk, enrollment, shown_urls
):
    show_code(client, front_desk_clerk, enrollment)
    invitation = QrInvitation.objects.get()
    status_url = reverse("enrollment:qr_status", args=[invitation.pk])

    waiting = client.get(status_url)
    assert "Waiting for the patient" in waiting.content.decode()
    assert 'hx-trigger="every 3s"' in waiting.content.decode()
    assert "HX-Refresh" not in waiting

    confirm_at(phone, shown_urls[0])

    finished = client.get(status_url)
    html = finished.content.decode()
    assert "steps 1 and 2 (contact details, invitation) are ticked" in html
    assert "hx-trigger" not in html  # polling stops
    assert finished["HX-Refresh"] == "true"  # the checklist reloads with its ticks


def test_the_clerks_screen_says_when_the_code_expired(client, front_desk_clerk, enrollment):
    show_code(client, front_desk_clerk, enrollment)
    invitation = QrInvitation.objects.get()
    QrInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    response = client.get(reverse("enrollment:qr_status", args=[invitation.pk]))

    html = response.content.decode()
    assert "The code expired" in html
    assert "<svg" not in html and "hx-trigger" not in html
    assert reverse("enrollment:qr_create", args=[enrollment.pk]) in html
    assert response["HX-Retarget"] == "#qr-panel"


# --- The patient's phone -----------------------------------------------------------


def test_the_phone_opens_the_page_without_signing_in_and_sees_masked_details(phone, patient, token):
    response = phone.get(start_url(token))

    assert response.status_code == 200
    html = response.content.decode()
    assert settings.PRACTICE_NAME in html
    assert "Hello Rosa," in html
    assert "r•••@example.org" in html
    assert "•••-•••-0143" in html
    assert_no_patient_data(html, patient)
    assert 'name="consent"' in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)
    assert "style-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_the_patient_confirms_and_steps_1_to_3_are_ticked(
    client, phone, patient, front_desk_clerk, enrollment, shown_urls
):
    show_code(client, front_desk_clerk, enrollment)

    page = phone.get(shown_urls[0])
    assert page.status_code == 200
    done = confirm_at(
        phone,
        shown_urls[0],
        email="rosa.delgado@example.net",
        mobile_phone="(202) 555-0199",
        notification_channel="sms",
    )

    assert done.status_code == 200
    html = done.content.decode()
    for link in (settings.PORTAL_ACTIVATION_URL, settings.APP_STORE_URL, settings.PLAY_STORE_URL):
        assert f'href="{link}"' in html
    assert "All done: let the front desk know you have finished." in html
    assert ticked(enrollment) == STEPS_1_TO_3
    enrollment.refresh_from_db()
    assert enrollment.method == EnrollmentMethod.QR
    # The ticks are the clerk's: she showed the code.
    assert {t.ticked_by for t in enrollment.steps.all()} == {front_desk_clerk}
    patient.refresh_from_db()
    assert patient.email == "rosa.delgado@example.net"
    assert patient.mobile_phone == "+12025550199"
    assert patient.notification_channel == NotificationChannel.SMS


def finish_at_the_desk(client, enrollment):
    """Fatima answers steps 4 to 8 after the patient consented on the phone."""
    for step in (Step.SHOW_FEATURE, Step.INSTALL_APP, Step.CONFIRM_ACCESS, Step.REFERENCE_CARD):
        client.post(
            reverse("enrollment:tick", args=[enrollment.pk]), {"step": step, "reason": "in_a_hurry"}
        )
    client.post(reverse("enrollment:tick", args=[enrollment.pk]), {"step": Step.RECORD_IN_EHR})
    return client.post(reverse("enrollment:complete", args=[enrollment.pk]))


def test_a_qr_consent_records_an_invitation_by_kiosk_and_never_an_activation(
    client, phone, patient, front_desk_clerk, enrollment, shown_urls
):
    """The QR page ends with "now create your portal login": nobody saw a first login,
    so the patient is invited, not enrolled, until the portal feed says they logged in."""
    show_code(client, front_desk_clerk, enrollment)
    done = confirm_at(phone, shown_urls[0])
    assert "Now create your portal login" in done.content.decode()

    finish_at_the_desk(client, enrollment)

    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    events = ActivityEvent.objects.filter(patient=patient)
    assert [(e.type, e.channel) for e in events] == [(EventType.PORTAL_INVITED, "kiosk")]
    # At the moment of consent: step 2 is ticked in the same transaction as the code is used.
    (invited,) = events
    consent = QrInvitation.objects.get().used_at
    assert invited.occurred_at == enrollment.steps.get(step=Step.SEND_INVITATION).ticked_at
    assert timedelta(0) <= invited.occurred_at - consent < timedelta(seconds=5)
    assert portal_status(patient).state == PortalState.INVITED
    assert "first login still to do" in enrollment.ehr_note
    page = client.get(reverse("enrollment:completed", args=[enrollment.pk])).content.decode()
    assert "Rosa Delgado is invited" in page


def test_fatima_who_watches_the_qr_patient_log_in_records_the_activation(
    client, phone, patient, front_desk_clerk, enrollment, shown_urls
):
    show_code(client, front_desk_clerk, enrollment)
    confirm_at(phone, shown_urls[0])
    checklist = client.get(reverse("enrollment:checklist", args=[enrollment.pk])).content.decode()
    assert "Left to the patient&#x27;s own phone (QR code)" in checklist
    assert "If you watch them finish it now, undo this and tick the step." in checklist

    tick_url = reverse("enrollment:tick", args=[enrollment.pk])
    client.post(tick_url, {"step": Step.FIRST_LOGIN, "undo": "1"})
    client.post(tick_url, {"step": Step.FIRST_LOGIN})
    finish_at_the_desk(client, enrollment)

    events = ActivityEvent.objects.filter(patient=patient).order_by("occurred_at")
    assert [(e.type, e.channel) for e in events] == [
        (EventType.PORTAL_INVITED, "kiosk"),
        (EventType.PORTAL_ACTIVATED, "front_desk"),
    ]
    assert portal_status(patient).state == PortalState.ENROLLED


def test_a_code_whose_enrollment_was_stopped_sends_the_patient_to_the_desk(
    phone, patient, enrollment, token
):
    enrollment_abandon(enrollment=enrollment)

    response = confirm(phone, token, email="rosa.delgado@example.net")

    assert response.status_code == 410
    assert ASK_THE_DESK in response.content.decode()
    patient.refresh_from_db()
    assert patient.email == "rosa@example.org"
    assert not ticked(enrollment)
    assert QrInvitation.objects.get().used_at is None


def test_the_moments_the_code_was_shown_and_consent_was_given_are_kept(
    client, phone, front_desk_clerk, enrollment, shown_urls
):
    show_code(client, front_desk_clerk, enrollment)
    shown_at = QrInvitation.objects.get().created_at
    before = timezone.now()
    confirm_at(phone, shown_urls[0])

    invitation = QrInvitation.objects.get()
    assert invitation.created_at == shown_at
    assert before <= invitation.used_at <= timezone.now()


def test_blank_fields_keep_the_details_on_file(phone, patient, enrollment, token):
    response = confirm(phone, token)

    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.email == "rosa@example.org"
    assert patient.mobile_phone == "+12025550143"
    assert patient.notification_channel == NotificationChannel.EMAIL
    assert ticked(enrollment) == STEPS_1_TO_3


def test_the_same_code_used_again_sends_the_patient_to_the_desk_and_changes_nothing(
    phone, patient, enrollment, token
):
    assert confirm(phone, token, email="rosa.delgado@example.net").status_code == 200

    second_phone = Client()
    again = confirm(second_phone, token, email="someone.else@example.com")
    reopened = second_phone.get(start_url(token))

    for response in (again, reopened):
        assert response.status_code == 410
        html = response.content.decode()
        assert ASK_THE_DESK in html and ASK_THE_DESK_ES in html
        assert_no_patient_data(html, patient)
        assert "Rosa" not in html
    patient.refresh_from_db()
    assert patient.email == "rosa.delgado@example.net"
    assert EnrollmentStep.objects.filter(enrollment=enrollment).count() == 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_phones_sending_the_same_code_at_once_enroll_once(patient, enrollment, token):
    start = threading.Barrier(2)
    statuses = []

    def send(email):
        try:
            start.wait()
            statuses.append(confirm(Client(), token, email=email).status_code)
        finally:
            connection.close()

    phones = [
        threading.Thread(target=send, args=(email,))
        for email in ("rosa.delgado@example.net", "someone.else@example.com")
    ]
    for thread in phones:
        thread.start()
    for thread in phones:
        thread.join()

    assert sorted(statuses) == [200, 410]
    assert EnrollmentStep.objects.filter(enrollment=enrollment).count() == 3


def test_an_expired_code_sends_the_patient_to_the_desk(phone, patient, enrollment, token):
    QrInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    opened = phone.get(start_url(token))
    posted = confirm(phone, token, email="rosa.delgado@example.net")

    for response in (opened, posted):
        assert response.status_code == 410
        assert ASK_THE_DESK in response.content.decode()
    patient.refresh_from_db()
    assert patient.email == "rosa@example.org"
    assert not ticked(enrollment)


def test_a_code_signed_more_than_15_minutes_ago_is_refused_by_its_signature(
    monkeypatch, phone, enrollment, front_desk_clerk
):
    # Only the signature's clock is moved: the row still says the code is valid,
    # so the refusal proves the token's own age is checked.
    signed_at = time.time() - 16 * 60
    monkeypatch.setattr(signing.time, "time", lambda: signed_at)
    _invitation, token = qr_invitation_create(enrollment=enrollment, by=front_desk_clerk)
    monkeypatch.undo()

    response = phone.get(start_url(token))

    assert response.status_code == 410
    assert ASK_THE_DESK in response.content.decode()


@pytest.mark.parametrize("forge", ["tampered", "garbage"])
def test_a_forged_code_sends_the_patient_to_the_desk(phone, enrollment, token, forge):
    forged = {
        "tampered": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "garbage": "not-a-code",
    }[forge]

    response = phone.get(start_url(forged))

    assert response.status_code == 410
    assert ASK_THE_DESK in response.content.decode()
    assert confirm(phone, forged).status_code == 410
    assert not ticked(enrollment)


def test_the_code_holds_only_the_invitations_id(patient, token):
    invitation = QrInvitation.objects.get()

    assert signing.loads(token, salt=QR_SALT) == str(invitation.pk)
    payload = token.split(":")[0]
    decoded = signing.b64_decode(payload.encode()).decode()
    assert decoded == f'"{invitation.pk}"'
    for value in [*patient_data(patient), patient.given_name]:
        assert value not in token


def test_an_invalid_email_names_the_field_and_the_code_still_works(
    phone, patient, enrollment, token
):
    response = confirm(phone, token, email="rosa@@example")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Email address: type a valid address" in html
    assert 'id="email" name="email" value="rosa@@example"' in html
    assert "is-invalid" in html
    assert not ticked(enrollment)
    assert QrInvitation.objects.get().used_at is None
    assert confirm(phone, token, email="rosa@example.com").status_code == 200


def test_consent_is_required(phone, patient, enrollment, token):
    response = confirm(phone, token, consent="")

    assert response.status_code == 400
    assert "Agreement: tick the box to continue." in response.content.decode()
    assert not ticked(enrollment)
    patient.refresh_from_db()
    assert patient.notification_channel == ""


def test_text_notifications_need_a_mobile_number(phone, patient, enrollment, token):
    patient.mobile_phone = ""
    patient.save()

    response = confirm(phone, token, notification_channel="sms")

    assert response.status_code == 400
    assert "Mobile number: type it with the area code" in response.content.decode()


def test_a_spanish_speaking_patient_reads_spanish(phone, patient, enrollment, token):
    patient.preferred_language = "es-MX"
    patient.save()

    page = phone.get(start_url(token)).content.decode()
    done = confirm(phone, token).content.decode()

    assert '<html lang="es">' in page
    assert "Active su portal del paciente" in page
    assert "Hola, Rosa:" in page
    assert "Acepto usar el portal del paciente" in page
    assert "Set up your patient portal" not in page
    assert "¡Listo! Avise en recepción que ha terminado." in done
    assert settings.PORTAL_ACTIVATION_URL in done


def test_a_vietnamese_speaking_patient_reads_vietnamese(phone, patient, enrollment, token):
    patient.preferred_language = "vi"
    patient.save()

    page = phone.get(start_url(token)).content.decode()
    done = confirm(phone, token).content.decode()

    assert '<html lang="vi">' in page
    assert "Thiết lập cổng thông tin bệnh nhân của quý vị" in page
    assert "Xin chào Rosa," in page
    assert "Set up your patient portal" not in page
    assert "Xong rồi: hãy báo cho quầy tiếp tân biết quý vị đã hoàn tất." in done


def test_a_patient_who_reads_chinese_gets_simplified_chinese(phone, patient, enrollment, token):
    patient.preferred_language = "zh-CN"
    patient.save()

    page = phone.get(start_url(token)).content.decode()

    assert '<html lang="zh-hans">' in page
    assert "设置您的患者门户" in page


def test_a_used_code_says_so_in_every_patient_language(phone, patient, enrollment, token):
    confirm(phone, token)

    response = phone.get(start_url(token))

    html = response.content.decode()
    assert response.status_code == 410
    for language, words in [
        ("en", ASK_THE_DESK),
        ("es", ASK_THE_DESK_ES),
        ("ja", "受付で新しいコードをお求めください。"),
        ("zh-hans", "请向前台索取新的二维码。"),
        ("vi", "Vui lòng xin mã mới tại quầy tiếp tân."),
    ]:
        assert f'lang="{language}"' in html and words in html, language


def test_a_patient_in_another_language_reads_english(phone, patient, enrollment, token):
    patient.preferred_language = "fr"
    patient.save()

    page = phone.get(start_url(token)).content.decode()

    assert '<html lang="en">' in page
    assert "Set up your patient portal" in page


def test_the_form_works_with_csrf_checks_on(patient, enrollment, token):
    phone = Client(enforce_csrf_checks=True)
    page = phone.get(start_url(token))
    csrf = page.cookies["csrftoken"].value

    response = phone.post(
        start_url(token),
        {"notification_channel": "email", "consent": "yes", "csrfmiddlewaretoken": csrf},
    )

    assert response.status_code == 200
    assert ticked(enrollment) == STEPS_1_TO_3


def test_no_patient_data_reaches_the_log(caplog, client, phone, patient, front_desk_clerk):
    caplog.set_level(logging.DEBUG)
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    _invitation, token = qr_invitation_create(enrollment=enrollment, by=front_desk_clerk)

    phone.get(start_url(token))
    confirm(phone, token, email="bad@@example")
    confirm(phone, token, email="rosa.delgado@example.net")
    confirm(phone, token)

    for value in [*patient_data(patient), "rosa.delgado@example.net", "Rosa"]:
        assert value not in caplog.text


def test_every_patient_text_comes_in_every_patient_language():
    english = patient_texts("en", first_name="Rosa")
    assert set(english) == set(TEXTS)
    for language in PATIENT_LANGUAGES[1:]:
        texts = patient_texts(language, first_name="Rosa")
        untranslated = [key for key in TEXTS if texts[key] == english[key]]
        assert not untranslated, (language, untranslated)


# --- The service, at its edges (found by mutation testing) ------------------------------

PHONE_DETAILS = contact_check(
    email="rosa.delgado@example.net", mobile_phone="", notification_channel="email"
)


def test_using_one_code_leaves_another_patients_code_usable(front_desk_clerk, token):
    other = enrollment_open(patient=PatientFactory(), by=front_desk_clerk)
    _invitation, other_token = qr_invitation_create(enrollment=other, by=front_desk_clerk)

    qr_invitation_redeem(token=token, details=PHONE_DETAILS)

    assert qr_invitation_for_token(other_token).used_at is None


def test_a_code_is_refused_at_the_very_instant_it_expires(front_desk_clerk, enrollment):
    # Shown on a whole second, so that the signature (which counts whole seconds)
    # is still good at the instant the row says the code ends.
    shown_at = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    with time_machine.travel(shown_at, tick=False):
        _invitation, token = qr_invitation_create(enrollment=enrollment, by=front_desk_clerk)
    expires_at = shown_at + timedelta(minutes=15)

    with time_machine.travel(expires_at - timedelta(microseconds=1), tick=False):
        assert qr_invitation_for_token(token).enrollment == enrollment
    with time_machine.travel(expires_at, tick=False), pytest.raises(QrUnusable):
        qr_invitation_for_token(token)


def test_the_refusal_of_a_stopped_enrollments_code_says_why(enrollment, token):
    enrollment_abandon(enrollment=enrollment)

    with pytest.raises(QrUnusable) as refused:
        qr_invitation_redeem(token=token, details=PHONE_DETAILS)

    assert str(refused.value) == "This enrollment is finished: open the patient again."


def test_the_redeemed_invitation_says_it_is_a_qr_enrollment(enrollment, token):
    invitation = qr_invitation_redeem(token=token, details=PHONE_DETAILS)

    assert invitation.enrollment.method == EnrollmentMethod.QR


def test_a_first_login_the_clerk_ticked_before_the_code_was_used_stays_ticked(
    front_desk_clerk, enrollment, token
):
    enrollment_tick(enrollment=enrollment, step=Step.FIRST_LOGIN, by=front_desk_clerk)

    qr_invitation_redeem(token=token, details=PHONE_DETAILS)

    assert ticked(enrollment) == {
        (Step.COLLECT_CONTACT, ""),
        (Step.SEND_INVITATION, ""),
        (Step.FIRST_LOGIN, ""),
    }
