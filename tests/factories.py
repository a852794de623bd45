"""Factories for the people and records the tests talk about."""

import datetime as dt

import factory
from django.utils import timezone

from patients.models import (
    ActivityEvent,
    Channel,
    EventSource,
    EventType,
    Location,
    Patient,
    Provider,
)
from patients.rules import EventData
from patients.services import event_record, patient_firsts_record
from portal_adoption.models import User
from portal_adoption.roles import Role
from portal_adoption.services import staff_set_roles


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC{n}")
    name = factory.Sequence(lambda n: f"Clinic {n}")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    code = factory.Sequence(lambda n: f"PRV{n}")
    name = factory.Sequence(lambda n: f"Dr. Provider {n}")
    location = factory.SubFactory(LocationFactory)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    external_id = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = dt.date(1970, 5, 17)
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}@example.org")
    mobile_phone = "+12025550143"
    location = factory.SubFactory(LocationFactory)
    registered_on = dt.date(2024, 1, 2)


class ActivityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    patient = factory.SubFactory(PatientFactory)
    type = EventType.LOGIN
    channel = Channel.PORTAL
    occurred_at = factory.LazyFunction(timezone.now)
    source = EventSource.FEED_API

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        event = super()._create(model_class, *args, **kwargs)
        # As every writer of the log does: the patient's firsts, in the same transaction.
        patient_firsts_record(events=[(event.patient_id, event.type, event.occurred_at)])
        return event


# Invented names that hold no name Faker can give a patient, nor a word a test writes
# (tests/test_factories.py checks both).
STAFF_GIVEN_NAMES = (
    "Thaddeus",
    "Wilhelmina",
    "Isolde",
    "Xylander",
    "Qoyllur",
    "Phineasz",
    "Kvothe",
)
STAFF_FAMILY_NAMES = ("Vexworth", "Quillfeather", "Ortolani-Pike", "Brixendorf", "Zoltanyi")


def logged_event(
    patient: Patient, event_id: str, event_type: str, at: dt.datetime, **fields
) -> ActivityEvent:
    """An event written through the log's own writer (event_record), as the feed and
    the application write it, so that what the database keeps beside the log
    (its triggers' tables) is kept as in production. `fields`: the other
    EventData fields (channel defaults to the portal)."""
    data = EventData(
        event_id=event_id,
        patient_external_id=patient.external_id,
        type=event_type,
        occurred_at=at,
        **({"channel": Channel.PORTAL} | fields),
    )
    return event_record(patient=patient, data=data).event


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    # Not Faker: a page may show the staff member's name while a test checks that a
    # patient's name is absent, and Faker once named the manager after the patient.
    first_name = factory.Sequence(lambda n: STAFF_GIVEN_NAMES[n % len(STAFF_GIVEN_NAMES)])
    last_name = factory.Sequence(
        lambda n: STAFF_FAMILY_NAMES[n // len(STAFF_GIVEN_NAMES) % len(STAFF_FAMILY_NAMES)]
    )
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            staff_set_roles(user=self, roles=extracted)


def staff(username: str, *roles: Role, **fields) -> User:
    """A member of staff holding the given roles."""
    return UserFactory(username=username, roles=list(roles), **fields)
