"""Nora's chart note says only what was said: she gives the outcome, the draft never does."""

import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import ChartNote, ChartNoteOutcome, MessageStatus
from messaging.services import (
    Inbound,
    MessagingError,
    chart_note_draft,
    message_close_with_outcome,
    message_log_call,
    message_receive,
    message_reply,
)

_ids = itertools.count(1)
CHEST_PAIN = "I have chest pain since this morning. It gets worse when I climb stairs."
EMERGENCY = "patient told to call 911 or go to the emergency department"


def receive(patient, body):
    inbound = Inbound(
        message_id=f"note-{next(_ids)}",
        patient=patient,
        subject="Question",
        body=body,
        sent_at=timezone.now(),
    )
    return message_receive(inbound=inbound)[0]


@pytest.fixture
def chest_pain(nurse, patient):
    message = receive(patient, CHEST_PAIN)
    message_log_call(message=message, summary="Told her to call 911 now.", by=nurse)
    return message


def close(client, message, **data):
    return client.post(reverse("messaging:close", args=[message.pk]), data, follow=True)


def test_the_draft_of_a_chest_pain_note_asserts_no_outcome(client, nurse, chest_pain):
    draft = chart_note_draft(chest_pain)
    assert draft == (
        "Patient asked via the portal about: I have chest pain since this morning; "
        "called the patient: Told her to call 911 now."
    )
    assert "understood" not in draft
    client.force_login(nurse)
    page = client.get(reverse("messaging:detail", args=[chest_pain.pk]))
    form = page.context["close_form"]
    assert form["chart_note"].value() == draft
    assert form["outcome"].value() in (None, "")
    assert "understood" not in form["chart_note"].value()


def test_nora_closes_with_the_outcome_she_chose(client, nurse, chest_pain):
    client.force_login(nurse)
    page = close(client, chest_pain, chart_note=chart_note_draft(chest_pain), outcome="emergency")
    assert page.status_code == 200
    note = ChartNote.objects.get(message=chest_pain)
    assert note.text == (
        "Patient asked via the portal about: I have chest pain since this morning; "
        f"called the patient: Told her to call 911 now; {EMERGENCY}."
    )
    chest_pain.refresh_from_db()
    assert chest_pain.status == MessageStatus.CLOSED


def test_nora_types_the_outcome_in_her_own_words(client, nurse, patient):
    message = receive(patient, "The rash on my arm is spreading.")
    message_reply(message=message, body="Please send us a photo of it.", by=nurse)
    client.force_login(nurse)
    close(
        client,
        message,
        chart_note=chart_note_draft(message),
        outcome="other",
        outcome_typed="  she will send a photo tonight. ",
    )
    assert ChartNote.objects.get(message=message).text == (
        "Patient asked via the portal about: The rash on my arm is spreading; "
        "replied: Please send us a photo of it; she will send a photo tonight."
    )


def test_a_clinical_message_without_an_outcome_stays_open_and_keeps_her_note(
    client, nurse, chest_pain
):
    client.force_login(nurse)
    edited = chart_note_draft(chest_pain) + " Daughter drove her to the ER."
    response = client.post(reverse("messaging:close", args=[chest_pain.pk]), {"chart_note": edited})
    assert response.status_code == 400
    assert "Choose how it ended (or type it) before closing" in response.content.decode()
    assert response.context["close_form"]["chart_note"].value() == edited
    chest_pain.refresh_from_db()
    assert chest_pain.status != MessageStatus.CLOSED
    assert not ChartNote.objects.exists()


def test_other_with_nothing_typed_asks_for_the_words(client, nurse, chest_pain):
    client.force_login(nurse)
    response = client.post(
        reverse("messaging:close", args=[chest_pain.pk]),
        {"chart_note": chart_note_draft(chest_pain), "outcome": "other", "outcome_typed": " "},
    )
    assert response.status_code == 400
    assert "Type the outcome in your own words" in response.content.decode()
    assert not ChartNote.objects.exists()


def test_closing_a_clinical_message_still_needs_a_chart_note(nurse, chest_pain):
    with pytest.raises(MessagingError, match="Write the chart note"):
        message_close_with_outcome(message=chest_pain, by=nurse, note=" ", outcome="emergency")
    chest_pain.refresh_from_db()
    assert chest_pain.status != MessageStatus.CLOSED


def test_every_outcome_phrase_ends_the_note_as_chosen(nurse, patient):
    for outcome in ChartNoteOutcome:
        if outcome == ChartNoteOutcome.OTHER:
            continue
        message = receive(patient, "The rash on my arm is spreading.")
        message_close_with_outcome(
            message=message, by=nurse, note="Asked about a rash.", outcome=outcome
        )
        assert message.chart_note.text == f"Asked about a rash; {outcome.label}."


def test_an_unknown_outcome_is_refused_by_the_form(client, nurse, chest_pain):
    client.force_login(nurse)
    response = client.post(
        reverse("messaging:close", args=[chest_pain.pk]),
        {"chart_note": "Asked about chest pain.", "outcome": "patient_understood_everything"},
    )
    assert response.status_code == 400
    assert not ChartNote.objects.exists()


def test_an_administrative_message_closes_without_an_outcome(front_desk_clerk, patient):
    message = receive(patient, "Please update my address.")
    message_close_with_outcome(message=message, by=front_desk_clerk, note="", outcome="")
    message.refresh_from_db()
    assert message.status == MessageStatus.CLOSED
    assert not ChartNote.objects.exists()


def test_a_message_with_its_note_written_closes_without_another_outcome(nurse, chest_pain):
    ChartNote.objects.create(message=chest_pain, text="Sent to the ER.", written_by=nurse)
    message_close_with_outcome(message=chest_pain, by=nurse, note="", outcome="")
    chest_pain.refresh_from_db()
    assert chest_pain.status == MessageStatus.CLOSED
    assert ChartNote.objects.get().text == "Sent to the ER."


def test_words_typed_beside_a_phrase_follow_it(nurse, chest_pain):
    message_close_with_outcome(
        message=chest_pain,
        by=nurse,
        note="Asked about chest pain.",
        outcome="emergency",
        outcome_typed="her daughter is driving her.",
    )
    assert chest_pain.chart_note.text == (
        f"Asked about chest pain; {EMERGENCY}; her daughter is driving her."
    )
