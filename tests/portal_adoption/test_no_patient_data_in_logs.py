"""No patient data in logs (issue 10, finding 8).

The nightly job and the main pages run with patients whose names, numbers,
addresses and survey links are known, every logger at DEBUG and the console
captured; none of those values may appear. The channels are the defaults
outside DEBUG (SMTP, which here is refused on a closed port so the failure
path logs too, and no SMS provider), as in production.
"""

import datetime as dt
import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from messaging.models import Communication
from messaging.services import Inbound, message_receive
from patients.models import EventType
from portal_adoption.roles import Role
from tests.factories import ActivityEventFactory, PatientFactory, staff

SURVEY_LINK = re.compile(r"/survey/[^/\s]+/")


@pytest.fixture
def production_channels(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # a closed port: refused
    settings.SMS_BACKEND = "messaging.channels.NoSmsBackend"
    settings.SURVEY_SAMPLE_SIZE = 10


@pytest.fixture
def every_logger_at_debug(caplog):
    for name in ["", *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def known_patients(db):
    """Two patients whose every detail the logs must not show."""
    by_email = PatientFactory(
        given_name="Zebulon",
        family_name="Quackenbush",
        external_id="MRN-ZQ-4411",
        email="zebulon.quackenbush@example.org",
        mobile_phone="+12025550187",
        birth_date=dt.date(1961, 7, 23),
    )
    by_text = PatientFactory(
        given_name="Philippa",
        family_name="Vanderhoek",
        external_id="MRN-PV-9022",
        email="",
        mobile_phone="+12025550164",
        notification_channel="sms",
        birth_date=dt.date(1974, 2, 9),
    )
    for patient in (by_email, by_text):
        # Enrolled three weeks ago, a login since (survey), invited again eight days ago.
        ActivityEventFactory(patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=ago(21))
        ActivityEventFactory(patient=patient, type=EventType.LOGIN, occurred_at=ago(20))
        ActivityEventFactory(patient=patient, type=EventType.PORTAL_INVITED, occurred_at=ago(8))
    return [by_email, by_text]


def secrets_of(patients) -> list[str]:
    values = []
    for patient in patients:
        values += [
            patient.given_name,
            patient.family_name,
            patient.external_id,
            patient.mobile_phone,
            patient.mobile_phone.removeprefix("+1"),
            f"{patient.birth_date:%Y-%m-%d}",
        ]
        if patient.email:
            values.append(patient.email)
    for body in Communication.objects.values_list("body", flat=True):
        values += SURVEY_LINK.findall(body)
    return values


def test_the_nightly_job_and_the_main_pages_log_no_patient_data(
    client, known_patients, production_channels, every_logger_at_debug, capsys
):
    by_email = known_patients[0]
    message, _created = message_receive(
        inbound=Inbound(
            message_id="portal-zq-1",
            patient=by_email,
            subject="Zebulon Quackenbush: question about my results",
            body="This is Zebulon Quackenbush, call me on +12025550187.",
            sent_at=ago(1),
        )
    )
    # The email server refuses: the night goes on, and the failures are logged.
    with pytest.raises(CommandError):
        call_command("nightly")
    assert SURVEY_LINK.search(
        Communication.objects.get(patient=by_email, rule="satisfaction_survey").body
    ), "the survey went out, so its link is among the values looked for"
    assert Communication.objects.filter(reason="no SMS provider configured").exists()

    pages = {
        Role.FRONT_DESK: [
            ("get", reverse("enrollment:checkin"), None),
            ("post", reverse("enrollment:search"), {"q": "Quackenbush"}),
            ("post", reverse("enrollment:search"), {"q": "+12025550187"}),
            ("get", reverse("enrollment:patient", args=[by_email.pk]), None),
        ],
        Role.NURSE: [
            ("get", reverse("messaging:queue", args=["nursing"]), None),
            ("get", reverse("messaging:detail", args=[message.pk]), None),
        ],
        Role.MANAGER: [
            ("get", reverse("patients:detail", args=[by_email.pk]), None),
            ("get", reverse("messaging:patient_communications", args=[by_email.pk]), None),
            ("get", reverse("messaging:outreach"), None),
            ("get", reverse("metrics:dashboard"), None),
        ],
    }
    for role, requests in pages.items():
        client.force_login(staff(f"logs-{role.value}", role))
        for method, url, data in requests:
            response = getattr(client, method)(url, data or {})
            assert response.status_code == 200, url

    printed = capsys.readouterr()
    logged = every_logger_at_debug.text
    assert logged, "the logs were captured"
    for value in secrets_of(known_patients):
        assert value not in logged, f"{value!r} is in the logs"
        assert value not in printed.out, f"{value!r} was printed"
        assert value not in printed.err, f"{value!r} was printed"
