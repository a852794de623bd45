"""Maria reads what a roster or events import did: each count, each run's record.

Found by mutation testing (tests/README.md): the counts of a file that names a
patient twice, a broken line stopping the rest of its batch, the cap on the
listed rejections, a provider without an NPI, and an events run that forgot its
file and its importer.
"""

import io

import pytest

from patients import feed_import
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import events_import, patients_import
from patients.models import EventSource, ImportRun, Patient
from tests.factories import LocationFactory, ProviderFactory
from tests.patients.feed_files import EVENTS, PATIENTS_HEADER, as_bytes


@pytest.fixture
def practice(db):
    north = LocationFactory(code="NORTH", name="North Clinic")
    ProviderFactory(code="DRLEE", npi="1234567893", name="Dr. Lee", location=north)


def import_roster(*lines: str):
    text = "\n".join([PATIENTS_HEADER, *lines])
    return patients_import(patient_rows(io.BytesIO(as_bytes(text))), source=EventSource.FEED_CSV)


def row(external_id: str, given_name: str = "Rosa", provider: str = "DRLEE") -> str:
    return f"{external_id},{given_name},Delgado,1958-04-02,,,en,NORTH,{provider},2019-03-01,"


def test_a_patient_named_twice_in_one_file_counts_as_unchanged_or_updated(practice):
    """The second record updates the first (activity-feed.md): the same again is
    unchanged, a different one an update, however the repeats are interleaved."""
    report = import_roster(
        row("MRN-1"),
        row("MRN-1"),
        row("MRN-2", "Tom"),
        row("MRN-2", "Thomas"),
        row("MRN-3", "Ann"),
        row("MRN-3", "Ann"),
        row("MRN-4", "Li"),
        row("MRN-4", "Lee"),
        row("MRN-5", "Ana"),
        row("MRN-5", "Ana"),
    )

    assert report.counts() == {
        "received": 10,
        "created": 5,
        "updated": 2,
        "unchanged": 3,
        "rejected": 0,
    }
    assert Patient.objects.get(external_id="MRN-2").given_name == "Thomas"


def test_a_line_with_too_many_commas_is_refused_and_the_lines_after_it_still_come_in(practice):
    report = import_roster(row("MRN-1"), "MRN-2,Tom,Baker,,,,,,,,,,,", row("MRN-3", "Ann"))

    assert (report.received, report.created, report.rejected) == (3, 2, 1)
    assert [r.field for r in report.rejections] == ["line"]
    assert sorted(Patient.objects.values_list("external_id", flat=True)) == ["MRN-1", "MRN-3"]


def test_the_answer_lists_rejections_up_to_its_cap_and_counts_every_one(practice, monkeypatch):
    monkeypatch.setattr(feed_import, "MAX_LISTED_REJECTIONS", 3)

    report = import_roster(*(row(f"MRN-{n}", provider="NOBODY") for n in range(5)))

    assert report.rejected == 5
    assert [r.position for r in report.rejections] == [2, 3, 4]
    # The run keeps every one, for the page that lists them all.
    assert ImportRun.objects.get().rejections.count() == 5


def test_a_patient_without_a_provider_gets_none_while_a_provider_has_no_npi(practice):
    ProviderFactory(code="NP-ANN", npi="", name="Ann Nurse Practitioner")

    import_roster(row("MRN-1", provider=""))

    assert Patient.objects.get(external_id="MRN-1").primary_provider is None


def test_an_events_run_keeps_its_file_name_and_who_started_it(practice, manager):
    import_roster(row("MRN-1"), row("MRN-2", "Tom"))

    events_import(
        event_rows(io.BytesIO(as_bytes(EVENTS))),
        source=EventSource.FEED_CSV,
        file_name="january-events.csv",
        user=manager,
    )

    run = ImportRun.objects.get(kind="events")
    assert (run.file_name, run.started_by) == ("january-events.csv", manager)


def test_an_events_run_without_a_file_name_records_none(practice):
    import_roster(row("MRN-1"), row("MRN-2", "Tom"))

    events_import(event_rows(io.BytesIO(as_bytes(EVENTS))), source=EventSource.FEED_CSV)

    run = ImportRun.objects.get(kind="events")
    assert (run.file_name, run.started_by) == ("", None)
