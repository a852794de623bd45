"""A small practice for the browser to walk: quick to make, every page with something on it.

The six personas of tests/conftest.py, a handful of patients, one message in
each team's queue (one escalated to the provider), a reply template, and two
months of portal events rolled up by the same code as the nightly job, so the
dashboard has a month to change to and a scope to pick.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from patients.models import EventType
from portal_adoption.roles import Role
from tests.browser.conftest import give_authenticator
from tests.factories import (
    ActivityEventFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    staff,
)

CLINICAL_SUBJECT = "Swelling after my knee surgery"
CLINICAL_BODY = "My knee is still swollen a week after the surgery. Is that normal?"
TEMPLATE_NAME = "Swelling after surgery"
TEMPLATE_BODY = (
    "Hello {first_name}, some swelling is normal for a few weeks after surgery. "
    "Keep the leg raised and call us at {practice_phone} if it gets worse."
)


@dataclass
class Practice:
    people: dict
    rosa: object  # the patient at the desk, never offered the portal
    location: object
    provider: object
    clinical_message: object
    last_month: dt.date
    this_month: dt.date


def seed_practice() -> Practice:
    from messaging.models import ReplyTemplate, RoutingRule
    from messaging.services import Inbound, message_escalate, message_receive
    from metrics.services import rollup_all

    # The default rules a migration adds cover these; a manager's own phrases.
    for category, phrase in (
        ("clinical", "swollen"),
        ("administrative", "reschedule"),
        ("billing", "my bill"),
    ):
        RoutingRule.objects.get_or_create(category=category, phrase=phrase)

    people = {
        Role.FRONT_DESK: staff("fatima", Role.FRONT_DESK, first_name="Fatima"),
        Role.NURSE: staff("nora", Role.NURSE, first_name="Nora"),
        Role.PROVIDER: staff("drpatel", Role.PROVIDER, first_name="Anil", last_name="Patel"),
        Role.BILLING: staff("bill", Role.BILLING, first_name="Bill"),
        Role.MANAGER: staff("maria", Role.MANAGER, first_name="Maria"),
        Role.ADMINISTRATOR: staff("ada", Role.ADMINISTRATOR, first_name="Ada"),
    }
    for person in people.values():
        give_authenticator(person)

    location = LocationFactory(code="MAIN", name="Main Street Clinic")
    provider = ProviderFactory(
        code="PATEL", name="Dr. Anil Patel", location=location, user=people[Role.PROVIDER]
    )
    rosa = PatientFactory(
        given_name="Rosa",
        family_name="Delgado",
        external_id="MRN-ROSA",
        birth_date=dt.date(1958, 3, 9),
        location=location,
        primary_provider=provider,
    )
    others = [
        PatientFactory(
            given_name=given,
            family_name=family,
            location=location,
            primary_provider=provider,
        )
        for given, family in (("Tom", "Nguyen"), ("Grace", "Okafor"), ("Luis", "Romero"))
    ]

    now = timezone.now()
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    for number, patient in enumerate(others):
        invited = timezone.make_aware(dt.datetime.combine(last_month, dt.time(10, number)))
        ActivityEventFactory(patient=patient, type=EventType.PORTAL_INVITED, occurred_at=invited)
        ActivityEventFactory(
            patient=patient,
            type=EventType.PORTAL_ACTIVATED,
            occurred_at=invited + dt.timedelta(hours=1),
        )
        ActivityEventFactory(
            patient=patient, type=EventType.LOGIN, occurred_at=invited + dt.timedelta(days=2)
        )
        ActivityEventFactory(
            patient=patient, type=EventType.LOGIN, occurred_at=now - dt.timedelta(minutes=number)
        )

    ReplyTemplate.objects.create(category="clinical", name=TEMPLATE_NAME, body=TEMPLATE_BODY)

    def received(key, patient, subject, body):
        inbound = Inbound(
            message_id=f"browser-{key}",
            patient=patient,
            subject=subject,
            body=body,
            sent_at=now - dt.timedelta(hours=2),
        )
        return message_receive(inbound=inbound)[0]

    clinical = received("clinical", rosa, CLINICAL_SUBJECT, CLINICAL_BODY)
    received("admin", others[0], "New appointment", "I need to reschedule my appointment.")
    received("billing", others[1], "Statement", "I have a question about my bill.")
    escalated = received("escalated", others[2], "Rash", "The rash on my arm is swollen and red.")
    message_escalate(message=escalated, note="Please advise.", by=people[Role.NURSE])

    rollup_all()
    return Practice(
        people=people,
        rosa=rosa,
        location=location,
        provider=provider,
        clinical_message=clinical,
        last_month=last_month,
        this_month=this_month,
    )
