"""Managers' bill-pay report: statements of a month, paid within 30 days, reminded or not.

Aggregates only: no patient, statement or amount is named in what this
returns, so the page writes no access-log rows.

- A statement is a `statement_issued` event with an object_id; the feed's
  repeats of one statement count once (outreach.statements: the first
  recorded event stands for it). It belongs to the month of its day in the
  practice's time zone.
- Paid within 30 days: a `payment` of the same patient with the same object_id
  on the statement's day or up to 30 calendar days after it (practice time):
  issued on the 1st, paid on the 31st is within; on the 32nd it is not.
- Through the portal: such a payment with channel `portal` or `app`.
- Reminded: a bill reminder for the statement was sent (status "sent") within
  those 30 days. A reminder suppressed or still waiting does not count.
"""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils.translation import gettext_lazy as _

from messaging.models import Communication, CommunicationStatus, OutreachRule
from messaging.outreach import BILL_DUE, BILL_FIRST, statements
from messaging.selectors.reports import local_midnight, practice_zone
from patients.models import Channel, EventType
from patients.selectors import plausible_events

PAID_WITHIN = dt.timedelta(days=30)
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


def bill_pay_report(month_start: dt.date) -> BillPayReport:
    """Statements issued in the month of `month_start`, in one aggregate query."""
    month_start = month_start.replace(day=1)
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    month_days = [month_start + dt.timedelta(days=n) for n in range(days)]
    # The end of day 30 for each possible statement day: the local midnight that
    # starts day 31 (a Case over the month's days keeps it exact across daylight
    # saving time and the same on every database).
    deadline = Case(
        *[
            When(issued_day=day, then=Value(local_midnight(day + PAID_WITHIN + dt.timedelta(1))))
            for day in month_days
        ],
        output_field=DateTimeField(),
    )
    payments = plausible_events().filter(
        type=EventType.PAYMENT,
        patient=OuterRef("patient"),
        object_id=OuterRef("object_id"),
        occurred_at__lt=OuterRef("deadline"),
    )
    reminders = Communication.objects.filter(
        patient=OuterRef("patient"),
        rule=OutreachRule.BILL_REMINDER,
        status=CommunicationStatus.SENT,
        sent_at__lt=OuterRef("deadline"),
    ).filter(Q(period=OuterRef("first_period")) | Q(period=OuterRef("due_period")))
    statement_id = Cast("pk", CharField())
    counts = (
        statements()
        .filter(
            occurred_at__gte=local_midnight(month_days[0]),
            occurred_at__lt=local_midnight(month_days[-1] + dt.timedelta(days=1)),
        )
        .annotate(
            issued_day=TruncDate("occurred_at", tzinfo=practice_zone()),
            deadline=deadline,
            first_period=Concat(statement_id, Value(f":{BILL_FIRST}")),
            due_period=Concat(statement_id, Value(f":{BILL_DUE}")),
        )
        .annotate(
            was_paid=Exists(payments),
            paid_in_portal=Exists(payments.filter(channel__in=PORTAL_CHANNELS)),
            reminded=Exists(reminders),
        )
        .aggregate(
            **{
                f"{group}_{measure}": Count("pk", filter=Q(**condition, **{"reminded": flag}))
                for group, flag in (("reminded", True), ("not_reminded", False))
                for measure, condition in (
                    ("statements", {}),
                    ("paid", {"was_paid": True}),
                    ("portal", {"paid_in_portal": True}),
                )
            }
        )
    )
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
