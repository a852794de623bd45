"""Fatima records a phone script's outcome (enrollment.services.conversation_record).

Each rule pinned alone: the language kept is one the scripts ship in, a
decline keeps the reason in the patient's words, a decline needs its reason,
and a double click, even one that races past the first look-up, records once.
"""

import pytest

from enrollment import services
from enrollment.models import Decline, PortalConversation
from enrollment.services import EnrollmentError, conversation_record


def record(patient, by, **fields):
    fields.setdefault("script", "phone_booking")
    fields.setdefault("outcome", "wants_invitation")
    return conversation_record(patient=patient, by=by, **fields)


@pytest.mark.parametrize(
    ("asked", "kept"), [("es", "es"), ("vi", "vi"), ("xx", "en"), ("EN", "en"), (None, "en")]
)
def test_the_conversation_keeps_a_shipped_language_or_english(
    front_desk_clerk, patient, asked, kept
):
    extra = {} if asked is None else {"language": asked}
    conversation, created = record(patient, front_desk_clerk, **extra)
    assert created
    assert PortalConversation.objects.get(pk=conversation.pk).language == kept


def test_a_decline_keeps_the_reason_in_the_patients_words(front_desk_clerk, patient):
    record(
        patient,
        front_desk_clerk,
        outcome="declined",
        decline_reason="other",
        decline_text="My daughter handles my appointments",
    )
    record(patient, front_desk_clerk, outcome="declined", decline_reason="privacy")

    assert sorted(Decline.objects.values_list("reason", "reason_text")) == [
        ("other", "My daughter handles my appointments"),
        ("privacy", ""),
    ]


def test_a_decline_without_its_reason_is_refused(front_desk_clerk, patient):
    with pytest.raises(EnrollmentError, match="Choose the reason the patient gave"):
        record(patient, front_desk_clerk, outcome="declined")
    assert not PortalConversation.objects.exists()
    assert not Decline.objects.exists()


def test_a_double_click_that_races_past_the_look_up_records_once(
    front_desk_clerk, patient, monkeypatch
):
    first, created = record(patient, front_desk_clerk, idempotency_key="click-1")
    assert created

    # The second request looked before the first one's row was committed: its own
    # look-up finds nothing, and the unique constraint refuses its insert.
    look_up = services._conversation_for_key
    calls = []

    def too_early_the_first_time(by, key):
        calls.append(key)
        return None if len(calls) == 1 else look_up(by, key)

    monkeypatch.setattr(services, "_conversation_for_key", too_early_the_first_time)
    again, created = record(patient, front_desk_clerk, idempotency_key="click-1")

    assert (again, created) == (first, False)
    assert PortalConversation.objects.count() == 1


def test_the_same_one_time_key_from_two_people_records_two_conversations(
    front_desk_clerk, nurse, patient
):
    """The key stops one person's double click; it says nothing about a colleague's call."""
    fatima, first = record(patient, front_desk_clerk, idempotency_key="k-1")
    nina, second = record(patient, nurse, idempotency_key="k-1")

    assert first and second
    assert (fatima.staff, nina.staff) == (front_desk_clerk, nurse)
    assert PortalConversation.objects.count() == 2
