"""Recognition (issue 12, part 4): the monthly board and the month's portal champion.

The board counts, per member of staff, what the event log and the
application's records already say; nothing on it is typed in by hand, and
nothing on it names a patient or reads what a message said.

1. Months are calendar months in the practice's time zone
   (PRACTICE_TIME_ZONE): from the first day's local midnight, up to and
   excluding the next month's.
2. Desk enrollments: the enrollments completed in the month, credited to
   whoever completed them, and the share that took under two minutes, as
   enrollment's staff report counts them (enrollment.selectors.reports):
   `duration_seconds` (first tick to completion) below TARGET_SECONDS, out
   of the enrollments with a recorded time. Exactly 2:00 is not under two
   minutes.
3. Messages answered: the messages whose first response (metrics.md, read
   through messaging.selectors.responses.with_first_response: a portal reply
   or a call, whichever came first) falls in the month, credited to whoever
   sent that first response from the queue (the reply's sender, the call's
   caller). Within the internal target: the first response at or before the
   message's `internal_due_at` (same business day), as the queue's SLA badge
   judges it. A first response the portal's own feed brought names nobody
   and is on nobody's row.
4. Everyone with at least one figure has a row; rows are in name order
   unless a manager sorts by a column.

Each column is one entry of COLUMNS: a label and a function
(first_day, last_day) -> {user_id: Tally}, one aggregate query or two,
never one per person. A column that only counts takes a
{user_id: int} function through `counted`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.selectors import phone_script_conversions_by_staff
from enrollment.selectors.reports import TARGET_SECONDS
from messaging.models import CallLog, Message, Reply
from messaging.selectors.responses import with_first_response
from portal_adoption.dates import local_midnight, practice_zone
from portal_adoption.models import User
from portal_adoption.roles import GROUP_NAMES
from program.models.recognition import PortalChampion

# --- Months ---------------------------------------------------------------------------


def this_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of the current month in the practice's time zone."""
    return timezone.localtime(now or timezone.now(), practice_zone()).date().replace(day=1)


def month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def month_last_day(month: dt.date) -> dt.date:
    return month_shift(month, 1) - dt.timedelta(days=1)


def month_shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _bounds(first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): local midnight of the first day to local midnight after the last."""
    return local_midnight(first_day), local_midnight(last_day + dt.timedelta(days=1))


# --- The figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """One person's figure in one column.

    count: the column's number (what a column sort orders by);
    met / judged: how many of the judged ones met the standard (under two
    minutes, within the internal target); None for a column without one.
    """

    count: int
    met: int | None = None
    judged: int | None = None

    @property
    def met_percent(self) -> float | None:
        if self.met is None or not self.judged:
            return None
        return self.met / self.judged * 100


TallySource = Callable[[dt.date, dt.date], dict[int, Tally]]


def enrollment_tallies(first_day: dt.date, last_day: dt.date) -> dict[int, Tally]:
    """Desk enrollments completed in the days, per person, and how many under two minutes."""
    start, end = _bounds(first_day, last_day)
    rows = (
        Enrollment.objects.filter(
            status=EnrollmentStatus.COMPLETED,
            completed_by__isnull=False,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .values("completed_by")
        .annotate(
            total=Count("pk"),
            timed=Count("pk", filter=Q(duration_seconds__isnull=False)),
            under=Count("pk", filter=Q(duration_seconds__lt=TARGET_SECONDS)),
        )
        .order_by()
    )
    return {
        row["completed_by"]: Tally(row["total"], met=row["under"], judged=row["timed"])
        for row in rows
    }


def _first_responses_sent(model, *, person: str, at: str, start, end):
    """Per person: the `model` rows (replies or calls) that were their message's first
    response in [start, end), and how many of those were within the internal target.

    A reply or a call becomes its response event at its own time
    (messaging.services: the event's occurred_at is the reply's sent_at, the
    call's called_at), so it is the first response when that time is the
    message's first response time.
    """
    first_response_at = Subquery(
        with_first_response(Message.objects.filter(pk=OuterRef("message"))).values(
            "first_response_at"
        )[:1]
    )
    return (
        model.objects.filter(**{f"{person}__isnull": False, f"{at}__gte": start, f"{at}__lt": end})
        .annotate(first_response_at=first_response_at)
        .filter(first_response_at=F(at))
        .values(person)
        .annotate(
            answered=Count("message", distinct=True),
            within=Count(
                "message",
                distinct=True,
                filter=Q(**{f"{at}__lte": F("message__internal_due_at")}),
            ),
        )
        .order_by()
    )


def message_tallies(first_day: dt.date, last_day: dt.date) -> dict[int, Tally]:
    """Messages whose first response, in the days, a person sent; and how many on time."""
    start, end = _bounds(first_day, last_day)
    answered: dict[int, int] = {}
    within: dict[int, int] = {}
    for model, person, at in ((Reply, "sent_by", "sent_at"), (CallLog, "called_by", "called_at")):
        for row in _first_responses_sent(model, person=person, at=at, start=start, end=end):
            answered[row[person]] = answered.get(row[person], 0) + row["answered"]
            within[row[person]] = within.get(row[person], 0) + row["within"]
    return {
        user_id: Tally(count, met=within[user_id], judged=count)
        for user_id, count in answered.items()
    }


def counted(source: Callable[[dt.date, dt.date], dict[int, int]]) -> TallySource:
    """A column from a function that only counts: {user_id: n} -> {user_id: Tally(n)}."""

    def tallies(first_day: dt.date, last_day: dt.date) -> dict[int, Tally]:
        return {user_id: Tally(n) for user_id, n in source(first_day, last_day).items() if n}

    return tallies


@dataclass(frozen=True)
class Column:
    key: str  # also the ?sort= value
    label: str | Promise
    standard: str | Promise  # what "met" means: "" for a column that only counts
    tallies: TallySource


# The board's columns, left to right. A new figure is one more entry here.
COLUMNS: tuple[Column, ...] = (
    Column(
        "enrollments",
        _("Desk enrollments completed"),
        _("under two minutes"),
        enrollment_tallies,
    ),
    Column(
        "messages",
        _("Messages answered first"),
        _("within the internal target"),
        message_tallies,
    ),
    Column(
        "phone_conversions",
        _("Phone-script conversions"),
        "",
        counted(phone_script_conversions_by_staff),
    ),
)

SORT_BY_NAME = "name"


def sort_choices() -> list[tuple[str, str]]:
    return [(SORT_BY_NAME, gettext("Name")), *((c.key, str(c.label)) for c in COLUMNS)]


@dataclass(frozen=True)
class BoardRow:
    user_id: int
    name: str
    cells: list[Tally | None]  # one per column, in the board's column order


@dataclass(frozen=True)
class Board:
    month: dt.date
    first_day: dt.date
    last_day: dt.date
    columns: tuple[Column, ...]
    rows: list[BoardRow]
    sort: str
    in_progress: bool

    @property
    def previous_month(self) -> dt.date:
        return month_shift(self.month, -1)

    @property
    def next_month(self) -> dt.date:
        return month_shift(self.month, 1)


def staff_name(user) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.username


def recognition_board(
    month: dt.date,
    *,
    sort: str = SORT_BY_NAME,
    columns: tuple[Column, ...] = COLUMNS,
    now: dt.datetime | None = None,
) -> Board:
    """The month's board: one row per person with at least one figure.

    In name order by default (this is not a leaderboard); sorted by a
    column's count, highest first, when `sort` names one (then by name).
    """
    first_day = month.replace(day=1)
    last_day = month_last_day(first_day)
    figures = [column.tallies(first_day, last_day) for column in columns]
    user_ids = set().union(*figures) if figures else set()
    people = User.objects.filter(pk__in=user_ids).only("username", "first_name", "last_name")
    rows = [
        BoardRow(
            user_id=user.pk,
            name=staff_name(user),
            cells=[by_user.get(user.pk) for by_user in figures],
        )
        for user in people
    ]
    rows.sort(key=lambda r: (r.name.casefold(), r.user_id))
    keys = [column.key for column in columns]
    if sort in keys:
        index = keys.index(sort)
        rows.sort(key=lambda r: -(r.cells[index].count if r.cells[index] else 0))
    else:
        sort = SORT_BY_NAME
    return Board(
        month=first_day,
        first_day=first_day,
        last_day=last_day,
        columns=columns,
        rows=rows,
        sort=sort,
        in_progress=first_day == this_month(now),
    )


# --- The champion ---------------------------------------------------------------------


def champion_of(month: dt.date) -> PortalChampion | None:
    return (
        PortalChampion.objects.filter(month=month.replace(day=1))
        .select_related("user", "named_by")
        .first()
    )


def current_champion(*, now: dt.datetime | None = None) -> PortalChampion | None:
    """This month's portal champion (practice time zone), if a manager named one."""
    return champion_of(this_month(now))


def champion_candidates():
    """Whom a manager may name: active members of staff with a role (no service accounts)."""
    return (
        User.objects.filter(is_active=True, groups__name__in=list(GROUP_NAMES.values()))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
