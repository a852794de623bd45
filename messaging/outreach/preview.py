"""Tonight's preview on the managers' nightly page, counted at most once every few minutes.

Counting who each rule would reach reads the whole roster (outreach_preview):
about half a second at 100,000 patients, on every load of the page. The page
keeps the count instead, in the cache (portal_adoption.cache: a cache that is
down only makes the page slower), for settings.OUTREACH_PREVIEW_MINUTES:

- per rule, the total and the ids of the first `shown` patients, and when it
  was counted. Ids only: the names are read fresh by id when the page renders
  (one query), never kept in the cache;
- keyed by the practice day and by a fingerprint of what else changes the
  answer, read in one small query on every load: each rule's setting (on or
  off, its numbers), the month's feature and the latest nightly run (which
  claims the patients it reaches). A change to any of them counts again at once;
- "Count again" (recount=True) counts now and replaces the kept count.

Only the page reads the kept count. The nightly run (outreach_run) and its
rules always count afresh from the roster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import CharField, F, Subquery, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from messaging import outreach
from messaging.models import FeatureOfMonth, NightlyRun, OutreachSetting
from messaging.outreach import RulePreview
from patients.models import Patient
from portal_adoption.cache import cached


@dataclass(frozen=True)
class CountedPreview:
    """Tonight's preview per rule (outreach.RulePreview), and when it was counted."""

    counted_at: datetime
    rules: dict[str, RulePreview]


def tonights_preview(*, today: date, shown: int, recount: bool = False) -> CountedPreview:
    """Who tonight's rules would reach, as counted within the last few minutes (or now,
    with `recount`); the shown patients are read by id, in the order counted."""
    kept = cached(
        preview_cache_key(today=today, shown=shown),
        lambda: _count(today, shown),
        timeout=settings.OUTREACH_PREVIEW_MINUTES * 60,
        refresh=recount,
    )
    ids = {pk for _total, rule_ids in kept["rules"].values() for pk in rule_ids}
    patients = Patient.objects.in_bulk(ids)
    rules = {
        key: RulePreview(total, [patients[pk] for pk in rule_ids if pk in patients])
        for key, (total, rule_ids) in kept["rules"].items()
    }
    return CountedPreview(counted_at=kept["counted_at"], rules=rules)


def preview_cache_key(*, today: date, shown: int) -> str:
    return f"outreach:preview:{today.isoformat()}:{shown}:{_fingerprint(today)}"


def _count(today: date, shown: int) -> dict:
    """The preview as kept in the cache: totals and patients' ids, nothing else of theirs."""
    counted_at = timezone.now()
    preview = outreach.outreach_preview(today=today, shown=shown)
    return {
        "counted_at": counted_at,
        "rules": {
            str(key): (rule_preview.total, [patient.pk for patient in rule_preview.patients])
            for key, rule_preview in preview.items()
        },
    }


def _fingerprint(today: date) -> str:
    """What tonight's answer depends on besides the roster and the claims, in one query:
    each rule's setting (on or off, its numbers), the month's feature, the latest
    nightly run (started or finished since: it has claimed patients)."""

    def row(queryset, kind, first, second):
        return (
            queryset.order_by()
            .annotate(
                fp_kind=Cast(kind, CharField()),
                fp_first=Cast(first, CharField()),
                fp_second=Cast(second, TextField()),
            )
            .values_list("fp_kind", "fp_first", "fp_second")
        )

    month = today.replace(day=1)
    latest_run = NightlyRun.objects.order_by("-started_at", "-pk").values("pk")[:1]
    rows = row(OutreachSetting.objects.all(), F("rule"), "enabled", "options").union(
        row(FeatureOfMonth.objects.filter(month=month), Value("feature"), "feature", "pk"),
        row(NightlyRun.objects.filter(pk=Subquery(latest_run)), Value("run"), "pk", "finished_at"),
        all=True,
    )
    text = repr(sorted(tuple(str(column) for column in columns) for columns in rows))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
