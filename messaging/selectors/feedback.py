"""Reads for closing the feedback loop: survey comments, their tags, the counts by tag
per month, and the published "what we changed" notes (for the satisfaction chart).

The comments are patient-written free text: they are shown escaped on the
managers' page only, never logged, never put in a URL.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, DateField, Exists, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from messaging.models import FeedbackChange, FeedbackTag, SurveyCommentTag, SurveyInvitation
from patients.models import EventType
from patients.selectors import plausible_events
from portal_adoption.feedback_hooks import ChangeMarker

UNTAGGED = "untagged"
COUNT_MONTHS = 12


def month_shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    """The first moment of `month` in practice time."""
    return timezone.make_aware(datetime.combine(month.replace(day=1), time.min))


def feedback_comments(*, month: date | None = None, tag: str = "") -> QuerySet[SurveyInvitation]:
    """Every answered survey with a comment, newest first, each with `activated_at`
    (the patient's first portal activation) and its tags.

    `month` keeps the comments written in that month (practice time); `tag` those
    with that tag, or UNTAGGED those with none.
    """
    activations = plausible_events().filter(
        patient=OuterRef("patient"), type=EventType.PORTAL_ACTIVATED
    )
    comments = (
        SurveyInvitation.objects.filter(answered_at__isnull=False)
        .exclude(comment="")
        .select_related("patient")
        .prefetch_related("tags")
        .annotate(
            activated_at=Subquery(
                activations.values("patient").annotate(first=Min("occurred_at")).values("first")
            )
        )
        .order_by("-answered_at", "-pk")
    )
    if month:
        comments = comments.filter(
            answered_at__gte=month_start(month), answered_at__lt=month_start(month_shift(month, 1))
        )
    if tag == UNTAGGED:
        comments = comments.exclude(
            Exists(SurveyCommentTag.objects.filter(invitation=OuterRef("pk")))
        )
    elif tag:
        comments = comments.filter(tags__tag=tag)
    return comments


def enrollment_age(activated_at: datetime | None, at: datetime) -> str:
    """How long the patient had been enrolled at `at`: "4 months", "12 days", or "" when
    they were not enrolled then. Whole calendar months, counted in practice time."""
    if activated_at is None or activated_at > at:
        return ""
    start, end = timezone.localdate(activated_at), timezone.localdate(at)
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    if months >= 1:
        return ngettext("%(n)d month", "%(n)d months", months) % {"n": months}
    days = (end - start).days
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


@dataclass(frozen=True)
class TagCounts:
    month: date
    counts: list[int]  # in FeedbackTag order
    total: int  # comments tagged in the month (a comment with two tags counts once)


def tag_counts_by_month(today: date, months: int = COUNT_MONTHS) -> list[TagCounts]:
    """Comments per tag in each of the `months` months ending with today's, newest first.

    A month is the month the comment was written, in practice time.
    """
    last = today.replace(day=1)
    first = month_shift(last, -(months - 1))
    tagged = SurveyCommentTag.objects.filter(
        invitation__answered_at__gte=month_start(first),
        invitation__answered_at__lt=month_start(month_shift(last, 1)),
    ).annotate(month=TruncMonth("invitation__answered_at", output_field=DateField()))
    by_tag = {
        (row["month"], row["tag"]): row["n"]
        for row in tagged.values("month", "tag").annotate(n=Count("id")).order_by()
    }
    totals = {
        row["month"]: row["n"]
        for row in tagged.values("month").annotate(n=Count("invitation", distinct=True)).order_by()
    }
    rows = []
    for i in range(months):
        month = month_shift(last, -i)
        counts = [by_tag.get((month, tag.value), 0) for tag in FeedbackTag]
        rows.append(TagCounts(month, counts, totals.get(month, 0)))
    return rows


def feedback_changes_recent(limit: int = 20) -> list[FeedbackChange]:
    return list(FeedbackChange.objects.select_related("written_by")[:limit])


def published_change_markers(first_month: date, last_month: date) -> list[ChangeMarker]:
    """The months from `first_month` to `last_month` with a published note, one marker
    per (month, tag); registered in portal_adoption.feedback_hooks for the charts."""
    changes = FeedbackChange.objects.filter(
        published_at__gte=month_start(first_month),
        published_at__lt=month_start(month_shift(last_month, 1)),
    ).order_by("published_at", "pk")
    markers: list[ChangeMarker] = []
    for published_at, tag in changes.values_list("published_at", "tag"):
        marker = ChangeMarker(
            timezone.localdate(published_at).replace(day=1), str(FeedbackTag(tag).label)
        )
        if marker not in markers:
            markers.append(marker)
    return markers


def month_label(month: date) -> str:
    return formats.date_format(month, "F Y")


def month_choices(today: date, months: int = COUNT_MONTHS) -> list[tuple[str, str]]:
    last = today.replace(day=1)
    return [("", _("All months"))] + [
        (f"{m:%Y-%m}", month_label(m)) for m in (month_shift(last, -i) for i in range(months))
    ]
