"""A patient's enrollment pages ask as many queries for a long history as for a short one.

The page benchmark (bench/pages.py) saw 2 more queries on four of these pages
at 100,000 patients than at 20,000: it opens the first patient by id, a
different one at each size. What a page asks may depend on *whether* the
patient has something (an invitation to show, say), never on *how many*:
one query per decline, call or event would be an N+1 that grows with the
patient's history.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment import services
from enrollment.models import CallOutcome, ConversationOutcome, DeclineReason, ScriptKey
from patients.models import EventType
from tests.conftest import signed_in
from tests.factories import ActivityEventFactory, PatientFactory

FRONT_DESK_PAGES = ("enrollment:patient", "enrollment:decline", "enrollment:phone_patient")
VISIT_PAGES = ("enrollment:visit_script",)


def give_history(patient, clerk, times: int) -> None:
    """`times` of each: a decline, an invitation, a follow-up call, a phone conversation,
    a login."""
    for day in range(1, times + 1):
        when = timezone.now() - dt.timedelta(days=day)
        services.decline_record(
            patient=patient, reason=DeclineReason.NO_BENEFIT, remedies=[], by=clerk, now=when
        )
        ActivityEventFactory(
            patient=patient, type=EventType.PORTAL_INVITED, channel="front_desk", occurred_at=when
        )
        ActivityEventFactory(patient=patient, type=EventType.LOGIN, occurred_at=when)
        services.follow_up_call_record(
            patient=patient, outcome=CallOutcome.VOICEMAIL, note="", by=clerk
        )
        services.conversation_record(
            patient=patient,
            script=ScriptKey.PHONE_BOOKING,
            outcome=ConversationOutcome.WANTS_INVITATION,
            by=clerk,
        )


def queries_of(user, page: str, patient) -> int:
    client = signed_in(Client(), user)
    url = reverse(page, kwargs={"pk": patient.pk})
    client.get(url)  # the first request warms caches (permissions, scripts)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, page
    return len(queries)


@pytest.mark.parametrize("page", FRONT_DESK_PAGES + VISIT_PAGES)
def test_a_patient_page_asks_as_many_queries_for_five_visits_of_history_as_for_one(
    page, front_desk_clerk, provider_user
):
    user = provider_user if page in VISIT_PAGES else front_desk_clerk
    short, long = PatientFactory(), PatientFactory()
    give_history(short, front_desk_clerk, times=1)
    give_history(long, front_desk_clerk, times=5)

    assert queries_of(user, page, long) == queries_of(user, page, short)
