"""FHIR R4 Bundles into the activity feed (activity-feed.md, "FHIR R4 mapping").

A Bundle is turned into the records the CSV and REST ways in send (the same
field names), and those are written by the one import engine, so a FHIR
Patient or event gives exactly the rows a CSV line would. The whole Bundle is
one import: its patients are written first and its events after them, in the
same transaction, so an event may name a patient that arrives in the same
Bundle. The position of a record is the index of its entry in Bundle.entry.

Mapping
-------
Patient → a roster record
    external_id         identifier[0].value
    given_name          name[0].given, every given name joined by a space
                        (middle names are kept, never dropped)
    family_name         name[0].family
    birth_date          birthDate
    email               the first telecom with system "email"
    mobile_phone        the first telecom with system "phone" and use "mobile"
    preferred_language  communication[0].language.coding[0].code (default en)
    registered_on       see below

Appointment with `created` → appointment_booked at `created`; object_id is
    Appointment.id; the patient is the first participant[].actor that is a
    Patient; channel from an extension whose url ends with "channel"
    (valueCode, valueString or valueCoding.code), else "portal" when
    meta.source names the portal, else "other". A `created` that is a date
    without a time is skipped: the feed needs the moment of booking.
    appointment_type from appointmentType.coding[0].code: one of the feed's
    five values as it is, or the HL7 v2-0276 code ROUTINE (annual_exam),
    FOLLOWUP (follow_up) or WALKIN (sick_visit); any other code, or none,
    gives no appointment_type (a code of another vocabulary is not an
    error in the Bundle, it is an appointment whose type we do not know).
Communication with `sent` → message_from_patient when `sender` is a Patient,
    else message_to_patient when a `recipient` is; occurred_at is `sent`,
    object_id Communication.id; channel from a "channel" extension, else
    "app" when a medium says app, else "portal"; for message_to_patient,
    reply_to is the id named by inResponseTo[0].
DiagnosticReport with `issued` → result_released at `issued`; object_id is
    DiagnosticReport.id; the patient is `subject`; no channel.
Encounter with status "finished" and `period.end` → visit_completed at
    `period.end`; object_id is identifier[0].value, else Encounter.id; the
    patient is `subject`; channel from a "channel" extension, else "other"
    (FHIR does not say how the patient was seen in the feed's terms). An
    Encounter of another status is skipped: the visit has not ended.
Invoice with `date` and `totalGross` → statement_issued at `date`; object_id
    is identifier[0].value (the statement number), else Invoice.id; amount is
    totalGross.value; due_date is paymentTerms when it is a date
    (YYYY-MM-DD, checked against its window by the engine), else none
    ("Net 30" is text, not a due date); the patient is `subject`, else
    `recipient`; channel from a "channel" extension, else "other". A `date`
    without a time is skipped like an Appointment's `created`; an Invoice whose
    status is not "issued" or "balanced" (a draft, a withdrawn one) is not a
    statement the patient received and is skipped.

An event's event_id is "<resourceType>/<id>", so a Bundle sent again
changes nothing. Entries with status "entered-in-error" never happened and
are skipped.

registered_on. FHIR has no date on which a patient joined the panel, so:
1. an extension whose url ends with "registered-on" (valueDate), if present;
2. else, for a patient already on the roster, the date stored there (a
   Patient sent again never moves it);
3. else the date of the import in the practice's time zone: the day the
   practice learned of the patient through the feed.
Likewise location, primary_provider and deactivated_on have no place in
the mapping: a patient already on the roster keeps the stored ones, a new
patient has none.

References to patients. A reference is resolved against the Bundle's own
Patient entries, by fullUrl ("urn:uuid:…" in Synthea bundles) or by
"Patient/<id>" (relative, absolute or versioned). One that is not in the
Bundle may still name the patient: by an inline `identifier`, or as a
conditional reference "Patient?identifier=[system|]value". One that names a
Patient that cannot be identified skips the entry, with the reason.

Skipped entries. Entries of other resource types (Observation, Claim,
Procedure… thousands in an EHR export) are counted per type; entries of the
mapped types that cannot map are listed one by one with the reason. A skip
never fails the Bundle. The values themselves (dates, times without an
offset, channels, lengths) are checked by the engine like any feed record,
and a bad one rejects its entry with the entry's index: birthDate inside the
birth window, created/sent/issued/period.end/date and the registered-on extension
inside the event window, a due date inside the filter window
(patients.rules.DATE_WINDOWS), no NUL or lone surrogate anywhere.
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote

from django.utils import timezone
from django.utils.translation import gettext as _

from patients.feed import UNSTORABLE, storable_text
from patients.feed_import import (
    FeedFileInvalid,
    ImportProgress,
    ImportReport,
    batched,
    feed_import,
    write_events,
    write_patients,
)
from patients.models import (
    AppointmentType,
    Channel,
    EventSource,
    EventType,
    ImportKind,
    ImportRun,
    Patient,
)
from portal_adoption.dates import practice_zone
from portal_adoption.json_input import JsonInvalid, json_loads

# Per-entry skips listed in the answer; further ones are counted by type and reason.
MAX_LISTED_SKIPS = 1000
MAPPED_TYPES = (
    "Patient",
    "Appointment",
    "Communication",
    "DiagnosticReport",
    "Encounter",
    "Invoice",
)
ENTERED_IN_ERROR = "entered-in-error"

# "Patient/123", "https://ehr.example/fhir/Patient/123", "Patient/123/_history/2"
PATIENT_URL = re.compile(r"(?:^|/)Patient/([^/?#]+)(?:/_history/[^/]+)?$")
# "Patient?identifier=https://github.com/synthetichealth/synthea|abc" or "…?identifier=abc"
PATIENT_SEARCH = re.compile(r"(?:^|/)Patient\?identifier=(?:[^|&]*\|)?([^&]+)$")
# Any "<Type>/<id>", for inResponseTo
RESOURCE_URL = re.compile(r"(?:^|/)[A-Z][A-Za-z]+/([^/?#]+)(?:/_history/[^/]+)?$")

Record = tuple[int, dict[str, Any]]


class EntrySkipped(Exception):
    """An entry of a mapped type that cannot become a feed record."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- Reading the JSON -----------------------------------------------------------


def bundle_read(stream: BinaryIO) -> Any:
    """The parsed JSON of an uploaded file; a file that is not JSON is refused whole.

    Read like the API reads a body (portal_adoption/json_input.py), so a Bundle
    nested absurdly deep is refused here as it is there.
    """
    try:
        return json_loads(stream.read())
    except JsonInvalid as error:
        raise FeedFileInvalid(
            _("The file is not a JSON Bundle the feed can read. %(problem)s") % {"problem": error}
        ) from None


def _entries(bundle: Any) -> list:
    if not isinstance(bundle, dict):
        raise FeedFileInvalid(
            _("This is not a FHIR Bundle: send a JSON object with resourceType “Bundle”.")
        )
    resource_type = bundle.get("resourceType")
    if resource_type != "Bundle":
        raise FeedFileInvalid(
            _("This is not a FHIR Bundle: resourceType is “%(type)s”, not “Bundle”.")
            % {"type": resource_type if isinstance(resource_type, str) else ""}
        )
    entries = bundle.get("entry", [])  # a Bundle may be empty
    if not isinstance(entries, list):
        raise FeedFileInvalid(_("The Bundle's entry must be a list of entries."))
    return entries


# --- Small readers for FHIR's nested JSON -----------------------------------------


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _items(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _extension(resource: dict, url_end: str) -> Any:
    """The value of the first extension whose url ends with url_end."""
    for extension in _items(resource.get("extension")):
        url = extension.get("url")
        if isinstance(url, str) and url.endswith(url_end):
            for key in ("valueDate", "valueCode", "valueString"):
                if key in extension:
                    return extension[key]
            return _get(extension.get("valueCoding"), "code")
    return None


def _resource_id(resource: dict) -> str:
    value = resource.get("id")
    if not isinstance(value, str) or not value.strip():
        raise EntrySkipped(
            _("the %(type)s has no id, and its id is what makes the event unique.")
            % {"type": resource["resourceType"]}
        )
    return value.strip()


# --- Patients -------------------------------------------------------------------


def _external_id(patient: dict) -> Any:
    return _get(_first(patient.get("identifier")), "value")


def _given(name: Any) -> Any:
    given = _get(name, "given")
    if isinstance(given, list):
        return " ".join(part.strip() for part in given if isinstance(part, str) and part.strip())
    return given


def _telecom(patient: dict, system: str, use: str | None = None) -> Any:
    for contact in _items(patient.get("telecom")):
        if contact.get("system") == system and (use is None or contact.get("use") == use):
            return contact.get("value")
    return None


def _language(patient: dict) -> Any:
    language = _get(_first(patient.get("communication")), "language")
    return _get(_first(_get(language, "coding")), "code")


def _patient_record(patient: dict) -> dict[str, Any]:
    name = _first(patient.get("name"))
    return {
        "external_id": _external_id(patient),
        "given_name": _given(name),
        "family_name": _get(name, "family"),
        "birth_date": patient.get("birthDate"),
        "email": _telecom(patient, "email"),
        "mobile_phone": _telecom(patient, "phone", use="mobile"),
        "preferred_language": _language(patient),
        "registered_on": _extension(patient, "registered-on"),
    }


def _with_roster_fields(records: list[Record]) -> None:
    """Fill in what FHIR does not carry: from the roster if known, else registered today."""
    today = timezone.localdate(timezone=practice_zone()).isoformat()
    for batch in batched(records):
        ids = {_key(raw["external_id"]) for _index, raw in batch} - {None}
        stored = {row["external_id"]: row for row in _roster_fields(ids)}
        for _index, raw in batch:
            known = stored.get(_key(raw["external_id"]))
            if known is None:
                raw["registered_on"] = raw["registered_on"] or today
                continue
            raw["registered_on"] = raw["registered_on"] or known["registered_on"].isoformat()
            raw["location"] = known["location__code"] or ""
            raw["primary_provider"] = known["primary_provider__code"] or ""
            deactivated_on = known["deactivated_on"]
            raw["deactivated_on"] = deactivated_on.isoformat() if deactivated_on else ""


def _roster_fields(external_ids: set[str]):
    # An id no column can hold names no stored patient: its record is rejected by the reader.
    storable = [external_id for external_id in external_ids if not UNSTORABLE.search(external_id)]
    return Patient.objects.filter(external_id__in=storable).values(
        "external_id", "registered_on", "deactivated_on", "location__code", "primary_provider__code"
    )


# --- References -----------------------------------------------------------------


class _BundleIndex:
    """The Bundle's entries by fullUrl and id, to resolve the references between them."""

    def __init__(self, entries: list):
        self.patients: dict[str, str] = {}  # fullUrl or "Patient/<id>" → external_id
        self.ids: dict[str, tuple[Any, Any]] = {}  # fullUrl → (resourceType, id)
        for entry in entries:
            resource = _get(entry, "resource")
            resource_type, resource_id = _get(resource, "resourceType"), _get(resource, "id")
            full_url = _get(entry, "fullUrl")
            full_url = full_url if isinstance(full_url, str) else ""
            if full_url:
                self.ids[full_url] = (resource_type, resource_id)
            if resource_type != "Patient":
                continue
            external_id = _key(_external_id(resource)) or ""
            if full_url:
                self.patients[full_url] = external_id
            if isinstance(resource_id, str):
                self.patients.setdefault(f"Patient/{resource_id}", external_id)

    def patient(self, reference: Any, *, assume_patient: bool = False) -> tuple[bool, str]:
        """(the reference names a Patient, that patient's external_id or "" if unknown)."""
        if not isinstance(reference, dict):
            return False, ""
        target = reference.get("reference")
        target = target.strip() if isinstance(target, str) else ""
        identifier = _key(_get(reference.get("identifier"), "value")) or ""
        in_bundle = self._in_bundle(target)
        if in_bundle is not None:
            return True, in_bundle or identifier
        if not self._names_patient(reference, target, assume_patient):
            return False, ""
        return True, identifier or _searched_identifier(target)

    def _in_bundle(self, target: str) -> str | None:
        """The external_id of the Bundle's Patient the target names, None if it names none."""
        if target in self.patients:
            return self.patients[target]
        match = PATIENT_URL.search(target)
        return self.patients.get(f"Patient/{match[1]}") if match else None

    def _names_patient(self, reference: dict, target: str, assume_patient: bool) -> bool:
        declared = reference.get("type")
        if isinstance(declared, str) and declared:
            return declared == "Patient"
        if target in self.ids:
            return self.ids[target][0] == "Patient"
        if PATIENT_URL.search(target) or _searched_identifier(target):
            return True
        if RESOURCE_URL.search(target) or "?" in target:
            return False  # a reference to another type of resource
        # A urn:uuid outside the Bundle, or an identifier alone: the element decides.
        return assume_patient and bool(target or reference.get("identifier"))

    def resource_id(self, reference: Any) -> str:
        """The id a reference names: of the entry in the Bundle, else from the reference."""
        target = _get(reference, "reference")
        if not isinstance(target, str):
            return ""
        in_bundle = self.ids.get(target, (None, None))[1]
        if isinstance(in_bundle, str):
            return in_bundle
        if target.startswith("urn:uuid:"):
            return target.removeprefix("urn:uuid:")
        match = RESOURCE_URL.search(target)
        return match[1] if match else ""


def _key(value: Any) -> str | None:
    """An identifier as the engine will read it (text, or a whole number), else None."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _searched_identifier(target: str) -> str:
    """The value of a conditional reference "Patient?identifier=[system|]value"."""
    match = PATIENT_SEARCH.search(unquote(target))
    return match[1].strip() if match else ""


def _unidentified_patient() -> EntrySkipped:
    return EntrySkipped(
        _(
            "it references a Patient that cannot be identified: the Patient is not in the "
            "Bundle with an identifier, and the reference has none. Include the Patient, or "
            "give the reference an identifier."
        )
    )


def _one_patient(index: _BundleIndex, references: list, *, assume_patient=False) -> str | None:
    """The external_id of the first Patient among the references, None if there is none."""
    unidentified = False
    for reference in references:
        names_patient, external_id = index.patient(reference, assume_patient=assume_patient)
        if external_id:
            return external_id
        unidentified = unidentified or names_patient
    if unidentified:
        raise _unidentified_patient()
    return None


# --- Events ---------------------------------------------------------------------


def _event(resource: dict, kind: str, patient: str, occurred_at: Any, channel: str = ""):
    resource_id = _resource_id(resource)
    return {
        "event_id": f"{resource['resourceType']}/{resource_id}",
        "patient_external_id": patient,
        "type": kind,
        "occurred_at": occurred_at,
        "channel": channel,
        "object_id": resource_id,
    }


def _required_time(resource: dict, element: str) -> Any:
    value = resource.get(element)
    if value is None or value == "":
        raise EntrySkipped(
            _("the %(type)s has no %(element)s, so there is no time for the event.")
            % {"type": resource["resourceType"], "element": element}
        )
    return value


def _appointment(resource: dict, index: _BundleIndex) -> dict:
    created = _required_time(resource, "created")
    if isinstance(created, str) and "T" not in created:
        raise EntrySkipped(
            _("created “%(value)s” is a date without a time: the booking needs its moment.")
            % {"value": created}
        )
    actors = [_get(participant, "actor") for participant in _items(resource.get("participant"))]
    patient = _one_patient(index, actors)
    if patient is None:
        raise EntrySkipped(_("no participant of the Appointment is a Patient."))
    event = _event(resource, EventType.APPOINTMENT_BOOKED, patient, created, _booked_by(resource))
    event["appointment_type"] = _appointment_type(resource)
    return event


# HL7 v2 table 0276 (appointment reason codes), the usual coding of Appointment.appointmentType.
V2_0276_TYPES = {
    "ROUTINE": AppointmentType.ANNUAL_EXAM,
    "FOLLOWUP": AppointmentType.FOLLOW_UP,
    "WALKIN": AppointmentType.SICK_VISIT,
}


def _appointment_type(appointment: dict) -> str:
    """The feed's appointment_type of appointmentType.coding[0].code, or "" (see above)."""
    code = _get(_first(_get(appointment.get("appointmentType"), "coding")), "code")
    if not isinstance(code, str):
        return ""
    code = code.strip()
    if code in AppointmentType.values:
        return code
    return V2_0276_TYPES.get(code, "")


def _booked_by(appointment: dict) -> Any:
    channel = _extension(appointment, "channel")
    if channel:
        return channel  # checked by the engine: an unknown channel is reported, not replaced
    source = _get(appointment.get("meta"), "source")
    if isinstance(source, str) and "portal" in source.lower():
        return Channel.PORTAL
    return Channel.OTHER


def _communication(resource: dict, index: _BundleIndex) -> dict:
    sent = _required_time(resource, "sent")
    channel = _extension(resource, "channel") or _message_channel(resource)
    sender = _one_patient(index, [resource.get("sender")])
    if sender is not None:
        return _event(resource, EventType.MESSAGE_FROM_PATIENT, sender, sent, channel)
    recipient = _one_patient(index, _items(resource.get("recipient")))
    if recipient is None:
        raise EntrySkipped(_("the Communication names no Patient as sender or recipient."))
    event = _event(resource, EventType.MESSAGE_TO_PATIENT, recipient, sent, channel)
    event["reply_to"] = index.resource_id(_first(resource.get("inResponseTo")))
    return event


def _message_channel(communication: dict) -> str:
    for medium in _items(communication.get("medium")):
        words = [_get(coding, "code") for coding in _items(medium.get("coding"))]
        words.append(medium.get("text"))
        if any(isinstance(word, str) and word.lower() == "app" for word in words):
            return Channel.APP
    return Channel.PORTAL


def _diagnostic_report(resource: dict, index: _BundleIndex) -> dict:
    issued = _required_time(resource, "issued")
    patient = _one_patient(index, [resource.get("subject")], assume_patient=True)
    if patient is None:
        raise EntrySkipped(_("the DiagnosticReport's subject is missing or is not a Patient."))
    return _event(resource, EventType.RESULT_RELEASED, patient, issued)


def _encounter(resource: dict, index: _BundleIndex) -> dict:
    status = resource.get("status")
    if status != "finished":
        raise EntrySkipped(
            _("the Encounter's status is “%(status)s”, not “finished”: the visit has not ended.")
            % {"status": status if isinstance(status, str) else ""}
        )
    end = _get(resource.get("period"), "end")
    if end is None or end == "":
        raise EntrySkipped(
            _("the Encounter has no period.end, so there is no time for the visit's end.")
        )
    patient = _one_patient(index, [resource.get("subject")], assume_patient=True)
    if patient is None:
        raise EntrySkipped(_("the Encounter's subject is missing or is not a Patient."))
    channel = _extension(resource, "channel") or Channel.OTHER
    event = _event(resource, EventType.VISIT_COMPLETED, patient, end, channel)
    event["object_id"] = _business_id(resource, event["object_id"])
    return event


# The Invoice statuses of a statement that went out: issued, or issued and since paid.
# The others (a draft, a withdrawn one) are not a statement the patient received.
ISSUED = ("issued", "balanced")


def _invoice(resource: dict, index: _BundleIndex) -> dict:
    status = resource.get("status")
    if status not in ISSUED:
        raise EntrySkipped(
            _(
                "the Invoice's status is “%(status)s”, not “issued” or “balanced”: it is not "
                "a statement the patient received."
            )
            % {"status": status if isinstance(status, str) else ""}
        )
    issued = _required_time(resource, "date")
    if isinstance(issued, str) and "T" not in issued:
        raise EntrySkipped(
            _("date “%(value)s” is a date without a time: the statement needs its moment.")
            % {"value": issued}
        )
    total = resource.get("totalGross")
    if total is None:
        raise EntrySkipped(_("the Invoice has no totalGross, so there is no balance."))
    patient = _one_patient(
        index, [resource.get("subject"), resource.get("recipient")], assume_patient=True
    )
    if patient is None:
        raise EntrySkipped(_("the Invoice's subject is missing or is not a Patient."))
    channel = _extension(resource, "channel") or Channel.OTHER
    event = _event(resource, EventType.STATEMENT_ISSUED, patient, issued, channel)
    event["object_id"] = _business_id(resource, event["object_id"])
    event["amount"] = _get(total, "value") if isinstance(total, dict) else total
    event["due_date"] = _due_date(resource.get("paymentTerms"))
    return event


def _business_id(resource: dict, resource_id: str) -> Any:
    """identifier[0].value (the EHR's own number: statement, encounter), else the resource id."""
    value = _get(_first(resource.get("identifier")), "value")
    return resource_id if value is None or value == "" else value


FHIR_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def _due_date(terms: Any) -> str:
    """paymentTerms when it is a date (YYYY-MM-DD, checked by the engine), else no due date.

    paymentTerms is free text ("Net 30", "due on receipt"): text that is not a
    date says nothing we can store, like an appointment type code we do not know.
    """
    if isinstance(terms, str) and FHIR_DATE.match(terms):
        return terms.strip()
    return ""


EVENT_MAPPERS = {
    "Appointment": _appointment,
    "Communication": _communication,
    "DiagnosticReport": _diagnostic_report,
    "Encounter": _encounter,
    "Invoice": _invoice,
}


# --- The Bundle -----------------------------------------------------------------


class _Skips:
    """Entries that do not map: listed one by one, or counted by type when not ours."""

    def __init__(self):
        self.total = 0
        self.listed: list[dict] = []
        self.overflow: Counter[tuple[str, str]] = Counter()  # (type, reason) past the list
        self.other_types: Counter[str] = Counter()

    def entry(self, index: int, resource_type: str, reason: str) -> None:
        # Reasons quote the entry, which may hold what no answer or page can show.
        resource_type, reason = storable_text(resource_type), storable_text(reason)
        self.total += 1
        if len(self.listed) < MAX_LISTED_SKIPS:
            self.listed.append(
                {"index": index, "resource_type": resource_type, "count": 1, "reason": reason}
            )
        else:
            self.overflow[(resource_type, reason)] += 1

    def other_type(self, resource_type: str) -> None:
        self.total += 1
        self.other_types[storable_text(resource_type)] += 1

    def entries(self) -> list[dict]:
        counted = list(self.overflow.items()) + [
            ((resource_type, _not_in_feed(resource_type)), count)
            for resource_type, count in self.other_types.most_common()
        ]
        return self.listed + [
            {"index": None, "resource_type": resource_type, "count": count, "reason": reason}
            for (resource_type, reason), count in counted
        ]


def _not_in_feed(resource_type: str) -> str:
    return _(
        "%(type)s is not part of the activity feed: only Patient, Appointment, "
        "Communication, DiagnosticReport, Encounter and Invoice entries are read."
    ) % {"type": resource_type}


@dataclass
class BundleRecords:
    patients: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    skips: _Skips = field(default_factory=_Skips)


def bundle_records(bundle: Any) -> BundleRecords:
    """The Bundle's feed records in entry order, and the entries that do not map."""
    entries = _entries(bundle)
    index = _BundleIndex(entries)
    records = BundleRecords()
    for position, entry in enumerate(entries):
        _read_entry(position, entry, index, records)
    _with_roster_fields(records.patients)
    return records


def _read_entry(position: int, entry: Any, index: _BundleIndex, records: BundleRecords) -> None:
    resource = _get(entry, "resource")
    resource_type = _get(resource, "resourceType")
    if not isinstance(resource, dict):
        records.skips.entry(position, "", _("the entry has no resource."))
    elif not isinstance(resource_type, str) or not resource_type:
        records.skips.entry(position, "", _("the resource has no resourceType."))
    elif resource_type not in MAPPED_TYPES:
        records.skips.other_type(resource_type)
    elif resource_type == "Patient":
        records.patients.append((position, _patient_record(resource)))
    elif resource.get("status") == ENTERED_IN_ERROR:
        records.skips.entry(position, resource_type, _("it was entered in error."))
    else:
        try:
            records.events.append((position, EVENT_MAPPERS[resource_type](resource, index)))
        except EntrySkipped as skipped:
            records.skips.entry(position, resource_type, skipped.reason)


def fhir_import(bundle: dict, *, user=None, file_name: str = "") -> ImportReport:
    """Import a parsed Bundle as one feed import; see the module docstring for the mapping."""
    return _bundle_import(lambda: bundle, user=user, file_name=file_name)


def fhir_import_file(
    stream: BinaryIO,
    *,
    file_name: str = "",
    run: ImportRun | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import a Bundle file: read inside the import, so a file that is not a Bundle
    is on record as a failed run."""
    return _bundle_import(
        lambda: bundle_read(stream), file_name=file_name, run=run, progress=progress
    )


def _bundle_import(
    read: Callable[[], Any],
    *,
    user=None,
    file_name: str = "",
    run: ImportRun | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    def work(report, sink):
        # Read inside the import: a Bundle refused whole is still on record as a failed run.
        records = bundle_records(read())
        sink.progress.total = len(records.patients) + len(records.events)
        write_patients(records.patients, report=report, sink=sink, source=EventSource.FEED_FHIR)
        write_events(records.events, report=report, sink=sink, source=EventSource.FEED_FHIR)
        report.skipped = records.skips.total
        report.skipped_entries = records.skips.entries()

    return feed_import(
        kind=ImportKind.FHIR,
        source=EventSource.FEED_FHIR,
        work=work,
        file_name=file_name,
        user=user,
        run=run,
        progress=progress,
    )
