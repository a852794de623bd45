"""CMS "Provide Patients Electronic Access" (Promoting Interoperability): reads only.

For a performance period (a calendar year, or any 90 consecutive days):

- the denominator is the unique patients with a `visit_completed` event in the
  period (its local days, the practice's time zone);
- the numerator is those of them given portal access, a `portal_invited` or a
  `portal_activated` event, no later than the end of the 4th business day after
  the day of a visit in the period, on the practice's business calendar
  (portal_adoption.business_calendar: weekends, federal holidays and the
  practice's closures are not business days). Access already in place before
  the visit counts. A patient with several visits in the period counts when
  access came in time for any one of them, which is the same as in time for
  the last one (its deadline is the latest).

The patient's first invitation and first activation are their PatientFirsts
row, so the only events read are the period's visits, through the log's
(type, occurred_at) index. Every day's deadline is asked of the calendar once.
The official CMS specification governs what a practice submits; this is the
practice's own view of it, to act on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import EventType, Patient
from patients.selectors import plausible_events
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.dates import date_window_error, event_window, filter_window, local_midnight
from portal_adoption.db import one_of, value_batches

BUSINESS_DAYS_ALLOWED = 4
PERIOD_DAYS = 90


class PeriodError(ValueError):
    """A period the measure does not take; `field` names the parameter at fault."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


def period_check(start: dt.date, end: dt.date) -> None:
    """A calendar year (January 1 to December 31) or exactly 90 consecutive days, inside
    the filter window (portal_adoption.dates); else PeriodError naming the field."""
    for name, label, value in (("start", _("Start"), start), ("end", _("End"), end)):
        error = date_window_error(value, field=label, window=filter_window())
        if error:
            raise PeriodError(name, error)
    if end < start:
        raise PeriodError("end", _("End must be on or after the start."))
    calendar_year = (start.month, start.day) == (1, 1) and end == start.replace(month=12, day=31)
    if calendar_year or (end - start).days == PERIOD_DAYS - 1:
        return
    ninety = start + dt.timedelta(days=PERIOD_DAYS - 1)
    if (start.month, start.day) == (1, 1):
        raise PeriodError(
            "end",
            _(
                "The period is a calendar year or 90 days: for a start on %(start)s, "
                "end on %(year_end)s or on %(ninety)s."
            )
            % {
                "start": start.isoformat(),
                "year_end": start.replace(month=12, day=31).isoformat(),
                "ninety": ninety.isoformat(),
            },
        )
    raise PeriodError(
        "end",
        _(
            "The period is a calendar year (January 1 to December 31) or 90 days: for a "
            "start on %(start)s, end on %(ninety)s."
        )
        % {"start": start.isoformat(), "ninety": ninety.isoformat()},
    )


def period_default(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This calendar year (to date, while it lasts)."""
    today = today or timezone.localdate()
    return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)


def period_last_90_days(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The 90 days ending yesterday."""
    today = today or timezone.localdate()
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=PERIOD_DAYS - 1), end


@dataclass(frozen=True)
class NotCounted:
    """A patient seen in the period and not given access in time."""

    patient: Patient
    visits: list[dt.date]
    # The last day access could have been given, for the last visit in the period.
    deadline: dt.date
    # The first invitation or activation, when it came after the deadline.
    access_at: dt.datetime | None
    # The deadline has not passed yet: access given now still counts.
    still_in_time: bool


@dataclass(frozen=True)
class ElectronicAccess:
    start: dt.date
    end: dt.date
    denominator: int
    numerator: int
    not_counted: list[NotCounted] = field(default_factory=list)

    @property
    def rate(self) -> Decimal | None:
        """Numerator / denominator, unrounded; None (no data) without visits."""
        if not self.denominator:
            return None
        return Decimal(self.numerator) / Decimal(self.denominator)

    @property
    def still_in_time(self) -> int:
        return sum(1 for row in self.not_counted if row.still_in_time)


class _Deadlines:
    """The 4th business day after each local day, asked of the calendar once per day."""

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self._days: dict[dt.date, dt.date] = {}

    def __call__(self, day: dt.date) -> dt.date:
        found = self._days.get(day)
        if found is None:
            found = day
            for _count in range(BUSINESS_DAYS_ALLOWED):
                found = self.calendar.next_open_day(found).date
            self._days[day] = found
        return found


def access_deadline(day: dt.date, calendar: BusinessCalendar | None = None) -> dt.date:
    """The last day access counts for a visit on local `day`: its 4th business day after."""
    return _Deadlines(calendar or BusinessCalendar())(day)


def electronic_access(
    start: dt.date, end: dt.date, *, calendar: BusinessCalendar | None = None
) -> ElectronicAccess:
    """The measure for the period from `start` to `end` (both included, local days)."""
    calendar = calendar or BusinessCalendar()
    zone = calendar.zone
    deadlines = _Deadlines(calendar)
    today = timezone.localdate()
    # A first at or after the event window's end is "none yet" (PatientFirsts).
    no_later_than = event_window().utc_bounds()[1]
    visits = _visits_in(start, end)
    rows = visits.values("patient_id").annotate(
        last_visit=Max("occurred_at"),
        invited_at=Min("patient__firsts__invited_at"),
        activated_at=Min("patient__firsts__activated_at"),
    )
    numerator = denominator = 0
    missed: dict[int, tuple[dt.date, dt.datetime | None]] = {}
    for row in rows:
        denominator += 1
        deadline = deadlines(row["last_visit"].astimezone(zone).date())
        access = min(
            (t for t in (row["invited_at"], row["activated_at"]) if t and t < no_later_than),
            default=None,
        )
        if access is not None and access < local_midnight(deadline + dt.timedelta(days=1)):
            numerator += 1
        else:
            missed[row["patient_id"]] = (deadline, access)
    return ElectronicAccess(
        start=start,
        end=end,
        denominator=denominator,
        numerator=numerator,
        not_counted=_not_counted(visits, missed, zone=zone, today=today),
    )


def _visits_in(start: dt.date, end: dt.date):
    return plausible_events().filter(
        type=EventType.VISIT_COMPLETED,
        occurred_at__gte=local_midnight(start),
        occurred_at__lt=local_midnight(end + dt.timedelta(days=1)),
    )


def _not_counted(visits, missed: dict, *, zone, today: dt.date) -> list[NotCounted]:
    """The patients not counted with their visit days in the period, the latest visit
    first (the ones still in time lead), then by name."""
    if not missed:
        return []
    ids = sorted(missed)
    patients: dict[int, Patient] = {}
    days: dict[int, set[dt.date]] = {}
    for batch in value_batches(ids):
        patients.update((p.pk, p) for p in Patient.objects.filter(one_of("pk", batch)))
        for patient_id, at in visits.filter(one_of("patient_id", batch)).values_list(
            "patient_id", "occurred_at"
        ):
            days.setdefault(patient_id, set()).add(at.astimezone(zone).date())
    rows = [
        NotCounted(
            patient=patients[patient_id],
            visits=sorted(days.get(patient_id, ())),
            deadline=deadline,
            access_at=access,
            still_in_time=deadline >= today,
        )
        for patient_id, (deadline, access) in missed.items()
    ]
    rows.sort(key=lambda r: (r.patient.family_name, r.patient.given_name, r.patient.pk))
    rows.sort(key=lambda r: r.visits[-1] if r.visits else dt.date.min, reverse=True)
    return rows
