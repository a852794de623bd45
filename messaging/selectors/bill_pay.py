"""Managers' bill-pay report: statements of a month, paid within 30 days, reminded or not.

Aggregates only: no patient, statement or amount is named in what this
returns, so the page writes no access-log rows.

- A statement is a `statement_issued` event with an object_id; the feed's
  repeats of one statement count once (outreach.statements: the first
  recorded event stands for it). It belongs to the month of its day in the
  practice's time zone. Read from patients.StatementFirsts (each statement's
  first recorded event, kept by a trigger), not by asking the log for an
  earlier event, which on PostgreSQL probed every month's partition.
- Paid within 30 days: a `payment` of the same patient with the same object_id
  on the statement's day or up to 30 calendar days after it (practice time):
  issued on the 1st, paid on the 31st is within; on the 32nd it is not.
- Through the portal: such a payment with channel `portal` or `app`.
- Reminded: a bill reminder for the statement was sent (status "sent") within
  those 30 days. A reminder suppressed or still waiting does not count.

Every look-up in the log is bounded by the statement's day and its 30th day,
so on PostgreSQL it reads the one or two monthly partitions of those days.

The page reads the month as rolled up each night with the dashboard
(`rolled_bill_pay_report`, messaging.rollups): the live count grows with the
month's statements (0.1-0.3 s for 15,000 at 100,000 patients).
"""

import calendar
import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy as _

from messaging.models import BillPayMonth, Communication, CommunicationStatus, OutreachRule
from messaging.outreach import BILL_DUE, BILL_FIRST
from patients.models import Channel, EventType, StatementFirsts
from patients.selectors import event_time_in_window, plausible_events
from portal_adoption.dates import local_midnight

PAID_WITHIN = dt.timedelta(days=30)
_GROUPS = ("reminded", "not_reminded")
_COUNT_FIELDS = tuple(
    f"{group}_{measure}" for group in _GROUPS for measure in ("statements", "paid", "portal")
)
PORTAL_CHANNELS = (Channel.PORTAL, Channel.APP)


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


@dataclass(frozen=True)
class BillPayRow:
    key: str
    label: str
    statements: int
    paid: int
    paid_in_portal: int

    @property
    def paid_percent(self) -> float | None:
        return _percent(self.paid, self.statements)

    @property
    def portal_percent(self) -> float | None:
        """Among the statements paid within 30 days, the share paid in the portal or app."""
        return _percent(self.paid_in_portal, self.paid)


@dataclass(frozen=True)
class BillPayReport:
    month_start: dt.date
    rows: list[BillPayRow]
    total: BillPayRow
    as_of: dt.datetime | None = None  # read from the month's rollup, as of then
    pending: tuple[dt.date, ...] = ()  # the month, when it is not rolled up yet

    def counts(self) -> dict[str, int]:
        """The six counts, named as BillPayMonth's columns."""
        return {
            f"{row.key}_{measure}": value
            for row in self.rows
            for measure, value in (
                ("statements", row.statements),
                ("paid", row.paid),
                ("portal", row.paid_in_portal),
            )
        }


def rolled_bill_pay_report(month_start: dt.date) -> BillPayReport:
    """The month's report as of its nightly rollup (messaging.rollups): one row read,
    whatever the number of statements. A month never rolled up is `pending`, with no
    counts, as on the other rolled-up reports."""
    month_start = month_start.replace(day=1)
    row = BillPayMonth.objects.filter(month=month_start).first()
    counts = {field: getattr(row, field, 0) for field in _COUNT_FIELDS}
    report = _report(month_start, counts)
    if row is None:
        return dataclasses.replace(report, pending=(month_start,))
    return dataclasses.replace(report, as_of=row.computed_at)


def bill_pay_report(month_start: dt.date) -> BillPayReport:
    """Statements issued in the month of `month_start`, in one grouped query."""
    month_start = month_start.replace(day=1)
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    month_days = [month_start + dt.timedelta(days=n) for n in range(days)]

    def by_issued_day(time_of_day):
        # A time per statement day (practice time): each day's own local midnights
        # keep it exact across daylight saving time. The Case compares the stored
        # time with the ends of the days in order, the same on every database, where
        # the local day of each row would be worked out once per day of the month.
        whens = [
            When(issued_at__lt=local_midnight(day + dt.timedelta(days=1)), then=time_of_day(day))
            for day in month_days
        ]
        return Case(*whens, output_field=DateTimeField())

    first_day_start = local_midnight(month_days[0])
    last_deadline = local_midnight(month_days[-1] + PAID_WITHIN + dt.timedelta(days=1))
    payments = plausible_events().filter(
        type=EventType.PAYMENT,
        patient=OuterRef("patient_id"),
        object_id=OuterRef("object_id"),
        occurred_at__gte=OuterRef("day_start"),
        occurred_at__lt=OuterRef("deadline"),
        # The same bounds for every statement of the month: they name the monthly
        # partitions to read when the query is planned.
        occurred_at__range=(first_day_start, last_deadline),
    )
    reminders = Communication.objects.filter(
        patient=OuterRef("patient_id"),
        rule=OutreachRule.BILL_REMINDER,
        status=CommunicationStatus.SENT,
        sent_at__lt=OuterRef("deadline"),
    ).filter(Q(period=OuterRef("first_period")) | Q(period=OuterRef("due_period")))
    statement_id = Cast("event_pk", CharField())
    month_statements = StatementFirsts.objects.filter(
        event_time_in_window("issued_at"),
        issued_at__gte=first_day_start,
        issued_at__lt=local_midnight(month_days[-1] + dt.timedelta(days=1)),
    ).annotate(
        day_start=by_issued_day(lambda day: Value(local_midnight(day))),
        # The end of day 30: the local midnight that starts day 31.
        deadline=by_issued_day(
            lambda day: Value(local_midnight(day + PAID_WITHIN + dt.timedelta(days=1)))
        ),
        first_period=Concat(statement_id, Value(f":{BILL_FIRST}")),
        due_period=Concat(statement_id, Value(f":{BILL_DUE}")),
    )

    def having(look_up):
        # The month's statements with a match, as a set the database builds once
        # (a join), not a look-up per statement.
        return Q(pk__in=month_statements.filter(Exists(look_up)).values("pk"))

    groups = (
        month_statements.annotate(
            reminded=ExpressionWrapper(having(reminders), output_field=BooleanField()),
            was_paid=ExpressionWrapper(having(payments), output_field=BooleanField()),
            paid_in_portal=ExpressionWrapper(
                having(payments.filter(channel__in=PORTAL_CHANNELS)),
                output_field=BooleanField(),
            ),
        )
        .values("reminded", "was_paid", "paid_in_portal")
        .annotate(statements=Count("pk"))
        .order_by()
    )
    counts = dict.fromkeys(_COUNT_FIELDS, 0)
    for group in groups:
        prefix = "reminded" if group["reminded"] else "not_reminded"
        counts[f"{prefix}_statements"] += group["statements"]
        counts[f"{prefix}_paid"] += group["statements"] if group["was_paid"] else 0
        counts[f"{prefix}_portal"] += group["statements"] if group["paid_in_portal"] else 0
    return _report(month_start, counts)


def _report(month_start: dt.date, counts: dict[str, int]) -> BillPayReport:
    rows = [
        BillPayRow(
            group,
            label,
            counts[f"{group}_statements"],
            counts[f"{group}_paid"],
            counts[f"{group}_portal"],
        )
        for group, label in (
            ("reminded", _("Reminded")),
            ("not_reminded", _("Not reminded")),
        )
    ]
    total = BillPayRow(
        "all",
        _("All statements"),
        sum(row.statements for row in rows),
        sum(row.paid for row in rows),
        sum(row.paid_in_portal for row in rows),
    )
    return BillPayReport(month_start, rows, total)
