"""visit_completed and statement_issued through every way in, with the rules of activity-feed.md.

A statement needs its statement id (object_id) and a positive balance (amount);
its optional due_date is a YYYY-MM-DD date inside its window, and no other type
may carry one. Each type takes only its own channels. A bad record is refused
alone with its position, field and reason; the others are stored.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.fhir import fhir_import
from patients.models import ActivityEvent, Channel, EventType
from patients.rules import EventData
from patients.services import EventConflict, EventInvalid, event_record
from tests.factories import ActivityEventFactory, PatientFactory
from tests.patients.feed_ways import (
    WAYS,
    error_fields,
    event_resource,
    good_appointment,
    good_statement,
    good_visit,
    send_events,
)


@pytest.fixture
def rosa(db):
    return PatientFactory(external_id="MRN-7", given_name="Rosa", family_name="Delgado")


def refused_alone(answer: dict, field: str) -> str:
    """The reason the second record was refused for `field`; the first was stored."""
    assert (answer["created"], answer["rejected"]) == (1, 1), answer
    assert error_fields(answer) == {field}, answer["errors"]
    (error,) = answer["errors"]
    assert error["index"] == 1
    return error["reason"]


# --- Accepted -------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_a_statement_and_a_visit_are_stored_through_every_way(manager, rosa, way):
    answer = send_events(way, [good_statement("MRN-7", "1"), good_visit("MRN-7", "2")], manager)

    assert (answer["created"], answer["rejected"]) == (2, 0), answer
    statement = ActivityEvent.objects.get(type=EventType.STATEMENT_ISSUED)
    assert (statement.object_id, statement.amount, statement.due_date, statement.channel) == (
        "st-1",
        Decimal("120.00"),
        dt.date(2026, 2, 15),
        "mail",
    )
    visit = ActivityEvent.objects.get(type=EventType.VISIT_COMPLETED)
    assert (visit.object_id, visit.channel, visit.due_date) == ("enc-2", "front_desk", None)


@pytest.mark.parametrize("way", WAYS)
def test_a_statement_without_a_due_date_is_stored_without_one(manager, rosa, way):
    statement = good_statement("MRN-7", "1")
    del statement["due_date"]

    answer = send_events(way, [statement], manager)

    assert answer["created"] == 1, answer
    assert ActivityEvent.objects.get().due_date is None


# --- Channels -------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("good", "channel", "allowed"),
    [
        (good_visit, "portal", "front_desk, other"),
        (good_visit, "phone", "front_desk, other"),
        (good_statement, "phone", "mail, other, portal"),
        (good_statement, "front_desk", "mail, other, portal"),
    ],
)
def test_a_channel_the_type_does_not_take_is_refused_naming_the_allowed_ones(
    manager, rosa, way, good, channel, allowed
):
    answer = send_events(
        way, [good("MRN-7", "ok"), good("MRN-7", "bad") | {"channel": channel}], manager
    )

    reason = refused_alone(answer, "channel")
    assert f"use one of {allowed}" in reason


@pytest.mark.parametrize("way", ["csv", "rest"])
@pytest.mark.parametrize("good", [good_visit, good_statement])
def test_a_visit_or_statement_without_a_channel_is_refused(manager, rosa, way, good):
    answer = send_events(
        way, [good("MRN-7", "ok"), good("MRN-7", "bad") | {"channel": ""}], manager
    )

    assert "channel is required" in refused_alone(answer, "channel")


@pytest.mark.parametrize("good", [good_visit, good_statement])
def test_fhir_says_other_when_the_resource_names_no_channel(manager, rosa, good):
    resource = event_resource(good("MRN-7", "1"))
    del resource["extension"]

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": resource}]})

    assert (report.created, report.rejected, report.skipped) == (1, 0, 0)
    assert ActivityEvent.objects.get().channel == Channel.OTHER


# --- object_id and amount -------------------------------------------------------


@pytest.mark.parametrize("way", ["csv", "rest"])
@pytest.mark.parametrize("good", [good_visit, good_statement])
def test_a_visit_or_statement_without_its_object_id_is_refused(manager, rosa, way, good):
    answer = send_events(
        way, [good("MRN-7", "ok"), good("MRN-7", "bad") | {"object_id": ""}], manager
    )

    assert "object_id is required" in refused_alone(answer, "object_id")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "12.345", "twelve", "=1+1", ""])
def test_a_statement_needs_a_positive_amount(manager, rosa, way, amount):
    bad = good_statement("MRN-7", "bad") | {"amount": amount}

    answer = send_events(way, [good_statement("MRN-7", "ok"), bad], manager)

    refused_alone(answer, "amount")
    assert list(ActivityEvent.objects.values_list("object_id", flat=True)) == ["st-ok"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("amount", ["1e999", "10000000000", "10000000000.00", "1E+10"])
def test_an_amount_too_large_for_its_column_is_refused_alone(manager, rosa, way, amount):
    bad = good_statement("MRN-7", "bad") | {"amount": amount}

    answer = send_events(way, [good_statement("MRN-7", "ok"), bad], manager)

    assert "less than 10,000,000,000.00" in refused_alone(answer, "amount")


@pytest.mark.parametrize("way", ["csv", "rest"])
def test_a_payment_too_large_for_its_column_is_refused_and_the_largest_is_stored(
    manager, rosa, way
):
    payment = {
        "event_id": "pay-1",
        "patient_external_id": "MRN-7",
        "type": "payment",
        "occurred_at": "2026-01-05T10:00:00Z",
        "channel": "portal",
        "object_id": "st-1",
        "amount": "9999999999.99",
    }
    too_large = payment | {"event_id": "pay-2", "amount": "1e999"}

    answer = send_events(way, [payment, too_large], manager)

    assert refused_alone(answer, "amount")
    assert ActivityEvent.objects.get().amount == Decimal("9999999999.99")


@pytest.mark.parametrize("way", ["csv", "rest"])
def test_a_visit_with_an_amount_is_refused(manager, rosa, way):
    bad = good_visit("MRN-7", "bad") | {"amount": "50.00"}

    answer = send_events(way, [good_visit("MRN-7", "ok"), bad], manager)

    assert "only for payment and statement_issued" in refused_alone(answer, "amount")


def test_fhir_reads_the_amount_from_total_gross_and_skips_an_invoice_without_one(manager, rosa):
    priced = event_resource(good_statement("MRN-7", "1"))
    priced["totalGross"] = {"value": 87.5, "currency": "USD"}
    unpriced = event_resource(good_statement("MRN-7", "2"))
    del unpriced["totalGross"]

    report = fhir_import(
        {"resourceType": "Bundle", "entry": [{"resource": priced}, {"resource": unpriced}]}
    )

    assert (report.created, report.rejected, report.skipped) == (1, 0, 1)
    assert ActivityEvent.objects.get().amount == Decimal("87.50")
    assert report.skipped_entries[0]["index"] == 1
    assert "totalGross" in report.skipped_entries[0]["reason"]


# --- due_date -------------------------------------------------------------------


@pytest.mark.parametrize("way", ["csv", "rest"])
@pytest.mark.parametrize(
    "good", [good_visit, good_appointment], ids=["visit_completed", "appointment_booked"]
)
def test_a_due_date_on_another_type_is_refused_saying_it_is_for_statements(
    manager, rosa, way, good
):
    bad = good("MRN-7", "bad") | {"due_date": "2026-02-15"}

    answer = send_events(way, [good("MRN-7", "ok"), bad], manager)

    reason = refused_alone(answer, "due_date")
    assert "due_date is only for statement_issued events" in reason


@pytest.mark.parametrize("way", ["csv", "rest"])
def test_a_due_date_on_a_payment_is_refused(manager, rosa, way):
    payment = {
        "event_id": "pay-1",
        "patient_external_id": "MRN-7",
        "type": "payment",
        "occurred_at": "2026-01-05T10:00:00Z",
        "channel": "portal",
        "object_id": "st-1",
        "amount": "120.00",
        "due_date": "2026-02-15",
    }

    answer = send_events(way, [payment], manager)

    assert answer["rejected"] == 1
    assert error_fields(answer) == {"due_date"}
    assert "only for statement_issued" in answer["errors"][0]["reason"]


@pytest.mark.parametrize("way", ["csv", "rest"])
@pytest.mark.parametrize(
    "value",
    [
        "15/02/2026",
        "2026-2-15",
        "2026-02-30",
        "20260215",
        "2026-02-15T00:00:00Z",
        "=TODAY()",
        "@SUM(A1)",
        "next month",
    ],
)
def test_a_due_date_that_is_not_a_date_is_refused_alone(manager, rosa, way, value):
    bad = good_statement("MRN-7", "bad") | {"due_date": value}

    answer = send_events(way, [good_statement("MRN-7", "ok"), bad], manager)

    assert "write it YYYY-MM-DD" in refused_alone(answer, "due_date")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_a_due_date_outside_its_window_is_refused_naming_the_field_and_window(
    manager, rosa, way, value
):
    bad = good_statement("MRN-7", "bad") | {"due_date": value}

    answer = send_events(way, [good_statement("MRN-7", "ok"), bad], manager)

    reason = refused_alone(answer, "due_date")
    assert reason == "due_date must be between 1900-01-01 and 2199-12-31."


@pytest.mark.parametrize(
    "value", [20260215, 2026.0215, True, ["2026-02-15"], {"date": "2026-02-15"}]
)
def test_a_due_date_of_the_wrong_json_type_is_refused_alone(manager, rosa, value):
    bad = good_statement("MRN-7", "bad") | {"due_date": value}

    answer = send_events("rest", [good_statement("MRN-7", "ok"), bad], manager)

    refused_alone(answer, "due_date")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", True),
        ("amount", ["120.00"]),
        ("amount", {"value": 120}),
        ("object_id", ["st-1"]),
        ("channel", 3),
        ("type", None),
    ],
)
def test_wrong_json_types_in_a_statement_are_refused_alone(manager, rosa, field, value):
    bad = good_statement("MRN-7", "bad") | {field: value}

    answer = send_events("rest", [good_statement("MRN-7", "ok"), bad], manager)

    refused_alone(answer, field)


@pytest.mark.parametrize(
    ("terms", "stored"),
    [
        ("2026-03-01", dt.date(2026, 3, 1)),
        (" 2026-03-01 ", dt.date(2026, 3, 1)),
        ("Net 30", None),
        ("Due on receipt", None),
        ("2026-03-01T00:00:00Z", None),
        (20260301, None),
        (None, None),
    ],
)
def test_fhir_takes_payment_terms_as_the_due_date_only_when_it_is_a_date(
    manager, rosa, terms, stored
):
    invoice = event_resource(good_statement("MRN-7", "1"))
    invoice["paymentTerms"] = terms

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": invoice}]})

    assert (report.created, report.rejected, report.skipped) == (1, 0, 0)
    assert ActivityEvent.objects.get().due_date == stored


# --- FHIR: what is skipped, and which id is the object_id ------------------------


@pytest.mark.parametrize("status", ["planned", "in-progress", "cancelled", "arrived", None])
def test_fhir_skips_an_encounter_that_has_not_finished(manager, rosa, status):
    encounter = event_resource(good_visit("MRN-7", "1")) | {"status": status}

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": encounter}]})

    assert (report.created, report.skipped) == (0, 1)
    assert "not “finished”" in report.skipped_entries[0]["reason"]


def test_fhir_skips_a_finished_encounter_without_an_end(manager, rosa):
    encounter = event_resource(good_visit("MRN-7", "1"))
    encounter["period"] = {"start": "2026-01-05T10:00:00-05:00"}

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": encounter}]})

    assert (report.created, report.skipped) == (0, 1)
    assert "period.end" in report.skipped_entries[0]["reason"]


@pytest.mark.parametrize("status", ["draft", "cancelled", "entered-in-error", None, 3])
def test_fhir_skips_an_invoice_that_was_not_issued(manager, rosa, status):
    invoice = event_resource(good_statement("MRN-7", "1")) | {"status": status}

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": invoice}]})

    assert (report.created, report.skipped) == (0, 1)


@pytest.mark.parametrize("status", ["issued", "balanced"])
def test_fhir_takes_an_issued_or_balanced_invoice(manager, rosa, status):
    invoice = event_resource(good_statement("MRN-7", "1")) | {"status": status}

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": invoice}]})

    assert (report.created, report.skipped) == (1, 0)


def test_fhir_skips_an_invoice_dated_without_a_time(manager, rosa):
    invoice = event_resource(good_statement("MRN-7", "1")) | {"date": "2026-01-05"}

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": invoice}]})

    assert (report.created, report.skipped) == (0, 1)
    assert "without a time" in report.skipped_entries[0]["reason"]


@pytest.mark.parametrize("resource_type", ["Encounter", "Invoice"])
def test_fhir_uses_the_resource_id_when_there_is_no_identifier(manager, rosa, resource_type):
    good = good_visit if resource_type == "Encounter" else good_statement
    resource = event_resource(good("MRN-7", "abc"))
    del resource["identifier"]

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": resource}]})

    assert report.created == 1
    stored = ActivityEvent.objects.get()
    assert (stored.event_id, stored.object_id) == (f"{resource_type}/abc", "abc")


# --- Sent again -----------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_a_statement_sent_again_changes_nothing(manager, rosa, way):
    records = [good_statement("MRN-7", "1"), good_visit("MRN-7", "2")]
    assert send_events(way, records, manager)["created"] == 2

    again = send_events(way, records, manager)

    assert (again["created"], again["unchanged"], again["rejected"]) == (0, 2, 0)
    assert ActivityEvent.objects.count() == 2


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_date": "2026-03-01"}, "due_date"),
        ({"amount": "99.00"}, "amount"),
        ({"object_id": "st-other"}, "object_id"),
    ],
)
def test_a_statement_sent_again_with_other_content_is_a_conflict(manager, rosa, way, change, field):
    first = good_statement("MRN-7", "1")
    assert send_events(way, [first], manager)["created"] == 1

    again = send_events(way, [first | change], manager)

    assert again["rejected"] == 1
    reason = again["errors"][0]["reason"]
    assert reason.startswith("conflict") and field in reason
    stored = ActivityEvent.objects.get()
    assert (stored.object_id, stored.amount, stored.due_date) == (
        "st-1",
        Decimal("120.00"),
        dt.date(2026, 2, 15),
    )


def test_a_statement_sent_again_for_another_patient_is_a_conflict(manager, rosa):
    PatientFactory(external_id="MRN-8")
    first = good_statement("MRN-7", "1")
    send_events("rest", [first], manager)

    again = send_events("rest", [first | {"patient_external_id": "MRN-8"}], manager)

    assert again["rejected"] == 1
    assert "patient_external_id" in again["errors"][0]["reason"]


def test_a_due_date_dropped_when_sent_again_is_a_conflict(manager, rosa):
    first = good_statement("MRN-7", "1")
    send_events("rest", [first], manager)
    without = {k: v for k, v in first.items() if k != "due_date"}

    again = send_events("rest", [without], manager)

    assert again["rejected"] == 1
    assert "due_date" in again["errors"][0]["reason"]


# --- The application's own writes -----------------------------------------------


def statement_data(**changes) -> EventData:
    fields = {
        "event_id": "st-app-1",
        "patient_external_id": "MRN-7",
        "type": EventType.STATEMENT_ISSUED,
        "occurred_at": dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC),
        "channel": Channel.PORTAL,
        "object_id": "st-1",
        "amount": Decimal("120.00"),
        "due_date": dt.date(2026, 2, 15),
    }
    return EventData(**(fields | changes))


def test_the_application_records_a_statement_once_and_a_changed_due_date_conflicts(rosa):
    assert event_record(patient=rosa, data=statement_data()).created
    assert not event_record(patient=rosa, data=statement_data()).created

    with pytest.raises(EventConflict) as conflict:
        event_record(patient=rosa, data=statement_data(due_date=dt.date(2026, 3, 1)))

    assert conflict.value.fields == ["due_date"]


@pytest.mark.parametrize("due", [dt.date(1, 1, 1), dt.date(9999, 12, 31)])
def test_the_application_refuses_a_due_date_outside_its_window(rosa, due):
    with pytest.raises(EventInvalid) as invalid:
        event_record(patient=rosa, data=statement_data(due_date=due))

    assert [e.field for e in invalid.value.errors] == ["due_date"]
    assert not ActivityEvent.objects.exists()


# --- The patient page -----------------------------------------------------------


def test_the_patient_page_shows_a_statement_with_its_balance_and_due_date(
    client, front_desk_clerk, rosa
):
    ActivityEventFactory(
        patient=rosa,
        type=EventType.STATEMENT_ISSUED,
        channel=Channel.MAIL,
        object_id="st-1",
        amount=Decimal("120.00"),
        due_date=dt.date(2026, 12, 15),
    )
    ActivityEventFactory(
        patient=rosa, type=EventType.VISIT_COMPLETED, channel=Channel.FRONT_DESK, object_id="v-1"
    )
    client.force_login(front_desk_clerk)

    response = client.get(reverse("patients:detail", args=[rosa.pk]))

    page = response.content.decode()
    assert "Statement issued · $120.00 · due 2026-12-15" in page
    assert "Visit completed" in page
    assert "Statement issued: 1" in page and "Visit completed: 1" in page


def test_the_imports_page_lists_the_event_columns_with_due_date(client, manager):
    client.force_login(manager)

    page = client.get(reverse("patients:imports")).content.decode()

    assert (
        "event_id,patient_external_id,type,occurred_at,channel,object_id,reply_to,"
        "appointment_type,amount,score,due_date"
    ) in page
    assert "Encounter, Invoice" in page


@pytest.mark.parametrize(
    ("good", "changes"),
    [
        (good_visit, {"period": {"end": 20260105}}),
        (good_visit, {"period": {"end": ["2026-01-05T10:00:00Z"]}}),
        (good_visit, {"period": "2026-01-05"}),
        (good_visit, {"period": {"end": "0001-01-01T00:00:00+14:00"}}),
        (good_visit, {"identifier": [{"value": {"nested": "x"}}]}),
        (good_visit, {"identifier": "V-1"}),
        (good_visit, {"subject": "Patient/1"}),
        (good_visit, {"status": ["finished"]}),
        (good_statement, {"date": ["2026-01-05T10:00:00Z"]}),
        (good_statement, {"date": "9999-12-31T23:59:59-12:00"}),
        (good_statement, {"totalGross": {"value": "abc"}}),
        (good_statement, {"totalGross": {"value": True}}),
        (good_statement, {"totalGross": {"value": [1]}}),
        (good_statement, {"totalGross": {"value": -20}}),
        (good_statement, {"totalGross": {"value": "1e999"}}),
        (good_statement, {"totalGross": 120}),
        (good_statement, {"totalGross": "120.00"}),
        (good_statement, {"paymentTerms": {"text": "2026-02-15"}}),
        (good_statement, {"paymentTerms": "2026-02-15\x00"}),
        (good_statement, {"paymentTerms": "9999-12-31"}),
        (good_statement, {"paymentTerms": "2026-02-30"}),
        (good_statement, {"identifier": [{"value": "st\ud800"}]}),
    ],
)
def test_a_bundle_with_a_hostile_encounter_or_invoice_answers_200(
    client, manager, rosa, good, changes
):
    import json

    resource = event_resource(good("MRN-7", "1")) | changes
    bundle = {"resourceType": "Bundle", "entry": [{"resource": resource}]}
    client.force_login(manager)

    response = client.post(
        reverse("api_fhir_bundle"), json.dumps(bundle), content_type="application/fhir+json"
    )

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["created"] + answer["rejected"] + answer["skipped"] == 1
    assert "\x00" not in str(answer) and "\ud800" not in str(answer)
