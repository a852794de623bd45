"""The enrollment funnel (issue 16, item 1): where adoption leaks, cohort by cohort.

A cohort is the patients first offered the portal in one month (metrics.offers,
the one definition of "offered"). Each step counts the cohort's patients who
reached it AND every step before it, so each step is a subset of the one before
and step-to-step conversion is at most 100%:

1. offered: the cohort;
2. invited: a `portal_invited` event (at any time up to now);
3. activated: a first `portal_activated` event;
4. first login within 7 days: the first `login` on or before the 7th local
   calendar day after the activation's day (activated on the 1st: a first login
   on the 8th counts, on the 9th does not). The 7-day reminder's days
   (messaging.outreach): a patient it reminds has missed this step;
5. app installed: an `app_installed` event;
6. multi-feature use: a calendar month, from the activation on, in which the
   patient logged in and used at least two of the five features: the dashboard's
   multi-feature users (metrics.compute.multi_feature_uses), in any month;
7. still active at 90 days: the dashboard's active user (a `login` in the month)
   asked of the 30 days ending on day 90 after activation: a login after day 60
   and at or before day 90, day N being N x 24 hours after the first activation
   (the incentive cohorts' "active at 90 days", enrollment.selectors.reports).
   Judged only once day 90 has passed: its conversion is over the multi-feature
   users whose day 90 had passed when the cohort was computed (`due_90`).

Everything is counted for the practice and per group: the patient's current
location and primary provider (as on the dashboard), and the staff member who
made the first offer. The counts are computed by `cohort_counts` (reads only),
stored by the nightly rollup (metrics.funnel.services, FunnelRollup), and read
back by `funnel` for the page, the API and the PDF.

The biggest drop is the lowest step-to-step conversion whose base (the step
before, or `due_90`) holds at least MIN_BASE patients; ties go to the earlier
step. It comes with the playbook's action for that step (ACTIONS).

Aggregates only, never a patient's name: nothing is written to the access log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from django.contrib.auth import get_user_model
from django.db.models import DateTimeField as DateTimeOutput
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from metrics.compute import FEATURE_TYPES, month_bounds, month_of, multi_feature_uses
from metrics.models import FunnelBy, FunnelRollup
from metrics.offers import with_first_offer
from metrics.selectors import month_shift
from patients.feed_import import batched
from patients.models import EventType, Location, Provider
from patients.selectors import plausible_events
from portal_adoption.dates import event_window, months_between, practice_zone

FIRST_LOGIN_DAYS = 7  # day 7 after the activation's day counts, day 8 does not
ACTIVE_DAY = 90
ACTIVE_WINDOW_DAYS = 30  # the window ending on day 90: the length of a month
MIN_BASE = 30  # the smallest base a drop is judged on (the equity page's smallest group)
COHORTS_KEPT = 13  # the nightly rollup's cohorts: this month and the twelve before
CHUNK = 500  # patient ids per IN list (SQLite's limit on variables)

STEPS = (
    ("offered", _("Offered")),
    ("invited", _("Invited")),
    ("activated", _("Activated")),
    ("first_login_7_days", _("First login within 7 days")),
    ("app_installed", _("App installed")),
    ("multi_feature", _("Used 2+ features in a month")),
    ("active_90_days", _("Still active at 90 days")),
)
STEP_KEYS = [key for key, _label in STEPS]
STEP_LABELS = dict(STEPS)
DUE_90 = "due_90"

# The playbook's action for the patients lost on the way to each step (workflows.md,
# metrics.md): what to do when that step is the biggest drop.
ACTIONS = {
    "invited": _(
        "Offer the portal at every check-in with the script, a statement rather than a "
        "yes/no question, and send the invitation while the patient is at the desk; when a "
        "patient declines, offer the remedy for the reason given."
    ),
    "activated": _(
        "Help invited patients finish the first login before they leave the desk, or show "
        "the QR code so they finish on their own phone."
    ),
    "first_login_7_days": _(
        "Activated but never logged in: make sure the 7-day reminder goes out on the "
        "channel each patient prefers, and work the front desk's follow-up list of "
        "patients who have not logged in within a week."
    ),
    "app_installed": _(
        "Help patients install the app during enrollment; send the app link to enrolled "
        "patients without it."
    ),
    "multi_feature": _(
        "Show one key feature, messaging or scheduling, at enrollment, and send the "
        "month's feature-awareness message."
    ),
    "active_90_days": _(
        "Keep patients coming back: send the month's feature-awareness message and the "
        "satisfaction survey, release results to the portal, and answer portal messages "
        "the same business day."
    ),
}

DEFINITION = _(
    "Cohorts are the patients first offered the portal in a month: the first of a desk "
    "enrollment started, a decline recorded or a portal_invited event. Each step counts "
    "the cohort's patients who reached it and every step before it: invited (a "
    "portal_invited event); activated (a portal_activated event); first login within 7 "
    "days (the first login on or before the 7th calendar day after the day of activation: "
    "day 7 counts, day 8 does not); app installed (an app_installed event); used two or "
    "more features in one month (a month, from the activation on, in which the patient "
    "logged in and used two of the five features: the dashboard's multi-feature users); "
    "still active at 90 days (the dashboard's active user, a login, asked of the 30 days "
    "ending on day 90 after activation: a login after day 60 and at or before day 90, "
    "judged only for patients whose day 90 has passed). Conversion is each step over the "
    "step before (the last step over the multi-feature users whose day 90 has passed). "
    "Locations and providers are the patient's current ones; the staff member is the one "
    "who started the enrollment or recorded the decline that was the first offer. The "
    "biggest drop is the lowest conversion over at least 30 patients."
)


# --- Counting (the nightly rollup's reads) --------------------------------------------


@dataclass
class _Member:
    cohort: dt.date
    groups: tuple[tuple[str, int], ...]
    reached: list[str]


def cohort_counts(
    months: list[dt.date], *, now: dt.datetime | None = None
) -> dict[dt.date, dict[tuple[str, int], dict[str, int]]]:
    """Each cohort's counts per (breakdown, group id), the practice's as
    ("practice", 0), judged at `now`. Reads only.

    1. The cohorts' patients: one query over the roster with the first offer
       (metrics.offers) and the patient's firsts (PatientFirsts).
    2. The steps up to the app install from those times, in Python (local days).
    3. Multi-feature months and the logins around day 90: queries over the
       events of the patients who got that far, CHUNK patients at a time,
       through the (patient, occurred_at) index.
    """
    now = now or timezone.now()
    wanted = sorted({month.replace(day=1) for month in months})
    counts: dict[dt.date, dict] = {month: defaultdict(_no_patients) for month in wanted}
    if not wanted:
        return {}
    zone = practice_zone()
    window_end = event_window().utc_bounds()[1]

    def seen(moment):
        return moment if moment is not None and moment < window_end else None

    start, end = month_bounds(wanted[0])[0], month_bounds(wanted[-1])[1]
    rows = (
        with_first_offer()
        .filter(first_offer_at__gte=start, first_offer_at__lt=end)
        .values_list(
            "pk",
            "first_offer_at",
            "offered_by_id",
            "location_id",
            "primary_provider_id",
            "firsts__invited_at",
            "firsts__activated_at",
            "firsts__login_at",
            "firsts__app_installed_at",
        )
    )
    members: dict[int, _Member] = {}
    app_users: dict[int, dt.datetime] = {}
    for pk, offered_at, by, location, provider, invited, activated, login, app in rows:
        cohort = month_of(offered_at)
        if cohort not in counts:
            continue
        reached = ["offered"]
        invited, activated, login, app = seen(invited), seen(activated), seen(login), seen(app)
        if invited is not None:
            reached.append("invited")
            if activated is not None:
                reached.append("activated")
                last_day = activated.astimezone(zone).date() + dt.timedelta(FIRST_LOGIN_DAYS)
                if login is not None and login.astimezone(zone).date() <= last_day:
                    reached.append("first_login_7_days")
                    if app is not None:
                        reached.append("app_installed")
                        app_users[pk] = activated
        groups = (
            (FunnelBy.PRACTICE.value, 0),
            (FunnelBy.LOCATION.value, location or 0),
            (FunnelBy.PROVIDER.value, provider or 0),
            (FunnelBy.STAFF.value, by or 0),
        )
        members[pk] = _Member(cohort, groups, reached)

    multi = _multi_feature_ids(list(app_users))
    for pk in multi:
        members[pk].reached.append("multi_feature")
        if app_users[pk] + dt.timedelta(days=ACTIVE_DAY) <= now:
            members[pk].reached.append(DUE_90)
    due = [pk for pk in multi if DUE_90 in members[pk].reached]
    for pk in _active_at_90_ids(due):
        members[pk].reached.append("active_90_days")

    for member in members.values():
        for group in member.groups:
            tally = counts[member.cohort][group]
            for step in member.reached:
                tally[step] += 1
    # An empty cohort still has the practice's row: computed, nobody offered.
    practice = (FunnelBy.PRACTICE.value, 0)
    return {month: {practice: _no_patients()} | dict(groups) for month, groups in counts.items()}


def _no_patients() -> dict[str, int]:
    return dict.fromkeys([*STEP_KEYS, DUE_90], 0)


def _multi_feature_ids(ids: list[int]) -> set[int]:
    """Of `ids`, the patients with a multi-feature month at or after their activation."""
    found: set[int] = set()
    logged_in = Q(type=EventType.LOGIN)
    features_used = Q(type__in=FEATURE_TYPES)
    for chunk in batched(sorted(ids), CHUNK):
        events = plausible_events().filter(
            patient_id__in=chunk, occurred_at__gte=F("patient__firsts__activated_at")
        )
        uses = multi_feature_uses(
            events,
            logged_in=logged_in,
            features_used=features_used,
            month=TruncMonth("occurred_at", tzinfo=practice_zone()),
        )
        found.update(row["patient_key"] for row in uses)
    return found


def _day(n: int) -> ExpressionWrapper:
    """Day n after the patient's first activation: n x 24 hours after it."""
    return ExpressionWrapper(
        F("patient__firsts__activated_at") + dt.timedelta(days=n), output_field=DateTimeOutput()
    )


def _active_at_90_ids(ids: list[int]) -> set[int]:
    """Of `ids`, the patients with a login after day 60 and at or before day 90."""
    found: set[int] = set()
    for chunk in batched(sorted(ids), CHUNK):
        logins = (
            plausible_events()
            .filter(patient_id__in=chunk, type=EventType.LOGIN)
            .alias(after=_day(ACTIVE_DAY - ACTIVE_WINDOW_DAYS), until=_day(ACTIVE_DAY))
            .filter(occurred_at__gt=F("after"), occurred_at__lte=F("until"))
        )
        found.update(logins.values_list("patient_id", flat=True).distinct())
    return found


def kept_cohorts(today: dt.date) -> list[dt.date]:
    """The nightly rollup's cohorts: `today`'s month and the twelve before it."""
    current = today.replace(day=1)
    return months_between(month_shift(current, -(COHORTS_KEPT - 1)), current)


# --- Reading the stored funnel ----------------------------------------------------------


def cohorts_available() -> list[dt.date]:
    """Cohort months with at least one patient offered, newest first."""
    return [
        row.cohort
        for row in FunnelRollup.objects.filter(by=FunnelBy.PRACTICE, group_id=0).order_by("-cohort")
        if row.counts.get("offered")
    ]


def default_cohort(today: dt.date | None = None) -> dt.date | None:
    """The last finished month that has a cohort (the newest in progress if none has)."""
    today = today or timezone.localdate()
    available = cohorts_available()
    finished = [month for month in available if month < today.replace(day=1)]
    if finished:
        return finished[0]
    return available[0] if available else None


def percent(rate: float | None) -> str | None:
    """A conversion as the page and the PDF write it: 62%."""
    return None if rate is None else f"{rate * 100:.0f}%"


def conversions(counts: dict) -> dict[str, Fraction | None]:
    """Each step (after the first) over its base; None over an empty base."""
    found: dict[str, Fraction | None] = {}
    for before, step in pairwise(STEP_KEYS):
        base = counts.get(DUE_90 if step == "active_90_days" else before) or 0
        found[step] = Fraction(counts.get(step) or 0, base) if base else None
    return found


def base_of(step: str, counts: dict) -> int:
    index = STEP_KEYS.index(step)
    return counts.get(DUE_90 if step == "active_90_days" else STEP_KEYS[index - 1]) or 0


def biggest_drop(counts: dict) -> str | None:
    """The step with the lowest conversion over a base of at least MIN_BASE patients
    (the earlier on a tie), or None when no step has such a base."""
    found = None
    for step, rate in conversions(counts).items():
        if rate is None or base_of(step, counts) < MIN_BASE:
            continue
        if found is None or rate < found[1]:
            found = (step, rate)
    return found[0] if found else None


def _row(key: str, label: str, counts: dict) -> dict:
    rates = conversions(counts)
    drop = biggest_drop(counts)
    return {
        "key": key,
        "label": label,
        "counts": {step: counts.get(step) or 0 for step in STEP_KEYS},
        "due_90": counts.get(DUE_90) or 0,
        "conversions": {
            step: float(rate) if rate is not None else None for step, rate in rates.items()
        },
        "biggest_drop": drop,
    }


def _group_names(by: str, ids: set[int]) -> dict[int, str]:
    if by == FunnelBy.LOCATION:
        names = dict(Location.objects.filter(pk__in=ids).values_list("pk", "name"))
        return names | {0: str(_("No location"))}
    if by == FunnelBy.PROVIDER:
        names = dict(Provider.objects.filter(pk__in=ids).values_list("pk", "name"))
        return names | {0: str(_("No primary provider"))}
    names = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in=ids)
    }
    return names | {0: str(_("Nobody recorded (an invitation from the portal)"))}


def funnel(month: dt.date, by: str = FunnelBy.PRACTICE) -> dict:
    """The stored funnel of `month`'s cohort: the practice's row, the biggest drop and its
    action, and (unless `by` is the practice) one row per group. `computed_at` is None
    when the cohort has not been rolled up."""
    month = month.replace(day=1)
    stored = {
        (row.by, row.group_id): row
        for row in FunnelRollup.objects.filter(cohort=month, by__in={FunnelBy.PRACTICE, by})
    }
    practice = stored.get((FunnelBy.PRACTICE.value, 0))
    practice_row = _row(
        "practice", str(FunnelBy.PRACTICE.label), practice.counts if practice else {}
    )
    groups = []
    if by != FunnelBy.PRACTICE:
        ids = {group_id for kind, group_id in stored if kind == by}
        names = _group_names(by, ids)
        groups = sorted(
            (
                _row(str(group_id), names.get(group_id, str(group_id)), row.counts)
                for (kind, group_id), row in stored.items()
                if kind == by
            ),
            key=lambda row: (row["key"] == "0", -row["counts"]["offered"], row["label"]),
        )
    drop = practice_row["biggest_drop"]
    return {
        "month": month,
        "by": by,
        "computed_at": practice.computed_at if practice else None,
        "in_progress": month == timezone.localdate().replace(day=1),
        "day_90_pending": practice_row["counts"]["multi_feature"] - practice_row["due_90"],
        "steps": [{"key": key, "label": str(label)} for key, label in STEPS],
        "practice": practice_row,
        "groups": groups,
        "biggest_drop": (
            {
                "step": drop,
                "label": str(STEP_LABELS[drop]),
                "after": str(STEP_LABELS[STEP_KEYS[STEP_KEYS.index(drop) - 1]]),
                "conversion": practice_row["conversions"][drop],
                "base": base_of(drop, practice_row["counts"] | {DUE_90: practice_row["due_90"]}),
                "action": str(ACTIONS[drop]),
            }
            if drop
            else None
        ),
        "min_base": MIN_BASE,
    }
