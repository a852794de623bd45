"""Patients who were invited a week ago and never logged in land on the follow-up list."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment.models import FollowUpCall, PortalConversation
from enrollment.selectors import FollowUpPriority, follow_up_list
from enrollment.services import follow_up_call_record
from enrollment.views import checkin as checkin_views
from enrollment.views.checkin import FOLLOW_UP_PAGE_SIZE
from patients.models import EventType
from tests.factories import ActivityEventFactory, PatientFactory


def days_ago(days):
    return timezone.now() - dt.timedelta(days=days)


def invited(days, **fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=days_ago(days),
    )
    return patient


def test_a_patient_invited_seven_days_ago_without_a_login_is_on_the_list(db):
    due = invited(7.1)
    invited(6)  # not yet a week
    assert list(follow_up_list()) == [due]


def test_a_login_after_the_invitation_takes_the_patient_off_the_list(db):
    patient = invited(9)
    assert list(follow_up_list()) == [patient]
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, channel="portal", occurred_at=days_ago(1)
    )
    assert list(follow_up_list()) == []


def test_a_login_before_a_new_invitation_does_not_count(db):
    patient = invited(20)
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, channel="portal", occurred_at=days_ago(15)
    )
    ActivityEventFactory(
        patient=patient, type=EventType.PORTAL_ACTIVATED, channel="portal", occurred_at=days_ago(10)
    )
    assert list(follow_up_list()) == [patient]


def test_a_patient_who_left_the_practice_is_not_followed_up(db):
    invited(10, deactivated_on=dt.date(2020, 1, 1))
    assert list(follow_up_list()) == []


def test_the_desk_logs_a_call_and_sees_it_on_the_list(client, front_desk_clerk):
    patient = invited(8)
    client.force_login(front_desk_clerk)
    response = client.post(
        reverse("enrollment:follow_up_call", kwargs={"pk": patient.pk}),
        {"outcome": "voicemail", "note": "left message"},
    )
    assert response.status_code == 302
    call = FollowUpCall.objects.get()
    assert (call.patient, call.outcome, call.called_by) == (patient, "voicemail", front_desk_clerk)
    page = client.get(reverse("enrollment:follow_up")).content.decode()
    assert "voicemail" in page


def test_the_calls_note_is_kept_trimmed_to_300_characters(front_desk_clerk):
    patient = invited(8)
    words = "  Spoke to her daughter, who helps her with the portal on weekends. " * 6
    # PostgreSQL would quietly cut a 301st character that is a space.
    assert words.strip()[300] != " "

    call = follow_up_call_record(
        patient=patient, outcome="reached", note=words, by=front_desk_clerk
    )

    call.refresh_from_db()
    assert call.note == words.strip()[:300]
    assert call.note.startswith("Spoke to her daughter") and len(call.note) == 300


def test_an_empty_follow_up_list_says_so(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    assert "Nobody to follow up" in client.get(reverse("enrollment:follow_up")).content.decode()


def shown(response) -> list:
    return list(response.context["patients"])


def test_the_follow_up_list_comes_a_page_at_a_time(client, front_desk_clerk):
    everyone = [invited(8 + i) for i in range(FOLLOW_UP_PAGE_SIZE + 3)]
    client.force_login(front_desk_clerk)

    first = client.get(reverse("enrollment:follow_up"))
    second = client.get(reverse("enrollment:follow_up"), {"page": 2})

    assert len(shown(first)) == FOLLOW_UP_PAGE_SIZE and len(shown(second)) == 3
    assert set(shown(first)) | set(shown(second)) == set(everyone)
    assert "Page 1 of 2" in first.content.decode()


def test_the_list_starts_with_what_to_do_first(client, front_desk_clerk):
    reached = invited(9)
    follow_up_call_record(patient=reached, outcome="reached", note="", by=front_desk_clerk)
    stale = invited(330)  # an invitation eleven months old
    voicemail = invited(12)
    follow_up_call_record(patient=voicemail, outcome="voicemail", note="", by=front_desk_clerk)
    older_due, newest_due = invited(20), invited(8)
    asked = PatientFactory()
    PortalConversation.objects.create(
        patient=asked,
        staff=front_desk_clerk,
        script="phone_booking",
        outcome="wants_invitation",
        language="en",
    )

    order = [asked, newest_due, older_due, voicemail, stale, reached]
    assert list(follow_up_list()) == order
    assert [p.follow_up_priority for p in follow_up_list()] == [
        FollowUpPriority.ASKED,
        FollowUpPriority.DUE,
        FollowUpPriority.DUE,
        FollowUpPriority.CALL_AGAIN,
        FollowUpPriority.OLDER,
        FollowUpPriority.SETTLED,
    ]
    client.force_login(front_desk_clerk)
    response = client.get(reverse("enrollment:follow_up"))
    assert shown(response) == order
    page = response.content.decode()
    assert "In the order to work them" in page
    assert "Called, not reached: call again" in page


def test_the_call_outcome_starts_empty(client, front_desk_clerk):
    invited(8)
    client.force_login(front_desk_clerk)
    page = client.get(reverse("enrollment:follow_up")).content.decode()
    select = page[page.index('<select name="outcome"') :]
    first_option = select[select.index("<option") : select.index("</option>")]
    assert first_option == '<option value="">How did the call go?'
    assert "selected" not in select[: select.index("</select>")]


def test_log_without_choosing_an_outcome_records_nothing_and_says_why(client, front_desk_clerk):
    patient = invited(8)
    client.force_login(front_desk_clerk)

    response = client.post(
        reverse("enrollment:follow_up_call", kwargs={"pk": patient.pk}),
        {"outcome": "", "note": "spoke to her daughter", "page": "1"},
    )

    assert response.status_code == 400
    assert not FollowUpCall.objects.exists()
    page = response.content.decode()
    assert "Choose how the call went: nothing was logged." in page
    assert 'value="spoke to her daughter"' in page  # what she typed is kept


def test_logging_a_call_returns_to_the_same_page(client, front_desk_clerk):
    patients = [invited(8 + i) for i in range(FOLLOW_UP_PAGE_SIZE + 1)]
    client.force_login(front_desk_clerk)
    response = client.post(
        reverse("enrollment:follow_up_call", kwargs={"pk": patients[-1].pk}),
        {"outcome": "no_answer", "page": "2"},
    )
    assert response.url == reverse("enrollment:follow_up") + "?page=2"
    assert FollowUpCall.objects.get().outcome == "no_answer"


def test_the_list_logs_one_list_entry_naming_the_patients_on_the_page(
    client, front_desk_clerk, monkeypatch
):
    everyone = [invited(8 + i) for i in range(FOLLOW_UP_PAGE_SIZE + 2)]
    calls = []
    real = checkin_views.access_log_record_list

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(checkin_views, "access_log_record_list", spy)
    client.force_login(front_desk_clerk)
    response = client.get(reverse("enrollment:follow_up"))

    assert len(calls) == 1 and calls[0]["resource"] == "follow_up"
    assert list(calls[0]["patients"]) == shown(response)
    assert len(shown(response)) == FOLLOW_UP_PAGE_SIZE < len(everyone)


def queries_for_a_list_of(client, clerk, count: int) -> int:
    FollowUpCall.objects.all().delete()
    for i in range(count):
        patient = invited(8 + i)
        if i % 2:
            follow_up_call_record(patient=patient, outcome="voicemail", note="", by=clerk)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("enrollment:follow_up"))
    assert len(shown(response)) == min(count, FOLLOW_UP_PAGE_SIZE)
    return len(queries)


def test_a_full_page_costs_no_more_queries_than_a_short_one(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    few = queries_for_a_list_of(client, front_desk_clerk, 3)
    full = queries_for_a_list_of(client, front_desk_clerk, 40)
    assert full == few


def test_an_invitation_stored_in_the_future_hides_neither_the_real_one_nor_its_group(db):
    """A row from before the feed checked times (60 days ahead) is no evidence: the
    patient is still due for the invitation of 10 days ago, as the log says."""
    patient = invited(10)
    ActivityEventFactory(patient=patient, type=EventType.PORTAL_INVITED, occurred_at=days_ago(-60))
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, channel="portal", occurred_at=days_ago(-60)
    )
    (listed,) = follow_up_list()
    assert listed == patient
    assert listed.offered_at.date() == days_ago(10).date()
    assert listed.follow_up_priority == FollowUpPriority.DUE
