"""The frequent rules: results education and activity alerts by text (issue 13).

They are not nightly: the sweep (messaging.tasks.frequent_outreach, every
five minutes in the beat schedule) applies them, and so does the nightly run
(outreach.outreach_run), so a first run without the beat sends them too.
Each is a query over the event log for the moment `now`, then a claim
through outreach.outreach_claim (the Communication row: the patient's
communications log, opt-outs, quiet hours, then communication_send), each
step guarded as the nightly ones are. Running it twice sends nothing twice.

Results education
    A `result_released` event of an enrolled patient (a `portal_activated`
    event at or before `now`, the app's one definition), released at least
    `wait_hours` ago (OutreachSetting option, default 4: 4h00 is due, 3h59
    is not) and at most RESULTS_LOOKBACK ago, that the patient has not
    viewed by `now`. "Viewed" is a `result_viewed` event of that patient
    with the same `object_id`; when the release has no object_id, any
    `result_viewed` of the patient at or after the release.
    The claim: one Communication per patient per practice-local day (period
    "YYYY-MM-DD", unique with the patient and the rule), and one
    ResultEducationItem per result it covers ((patient, result) unique), in
    one transaction: a second worker, a second run or the next day finds
    one or the other taken and claims nothing. Texts wait for the end of
    quiet hours (the claim's not_before). Never the result, its name or
    anything clinical: the wording is fixed (outreach.texts.TEXTS).

Activity alerts by text
    For enrolled patients whose notification channel is SMS: a reply put in
    the portal outbox (messaging.OutboxItem), or a `result_released` event,
    within the last ALERT_LOOKBACK and after the patient's last alert. The
    alert is a text or nothing (a patient without a mobile number, or with
    no SMS provider, gets a suppressed row saying why). At most one per
    patient per ALERT_GAP: an alert 59 minutes after the last one is not
    claimed, one 60 minutes after is. The claim locks the patient's row
    (select_for_update) and reads the last alert under that lock, so two
    workers at once claim one alert. In quiet hours no alert is claimed; the
    activity waits (ALERT_LOOKBACK covers the night) and goes at 08:00.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.models import (
    Communication,
    CommunicationStatus,
    OutboxItem,
    OutreachChannel,
    OutreachRule,
    ResultEducationItem,
)
from messaging.outreach import (
    communications_due,
    outreach_claim,
    quiet_hours_end,
    rule_enabled,
    rule_option,
)
from patients.models import EventType, NotificationChannel, Patient
from patients.selectors import plausible_events
from portal_adoption.models import NightlyJob
from portal_adoption.nightly import NightlyFailures

log = logging.getLogger(__name__)

# A release older than this is not news any more: a first run (or a patient
# newly enrolled) does not bring up old results.
RESULTS_LOOKBACK = timedelta(days=3)
# Longer than the quiet hours (21:00-08:00): what came in the night is alerted at 08:00.
ALERT_LOOKBACK = timedelta(hours=12)
ALERT_GAP = timedelta(hours=1)


def _enrolled_by(now: datetime):
    return Exists(
        plausible_events().filter(
            patient=OuterRef("patient"), type=EventType.PORTAL_ACTIVATED, occurred_at__lte=now
        )
    )


def result_key(object_id: str, event_pk: int) -> str:
    """How a ResultEducationItem names a result: its object_id, else its release event."""
    return object_id or f"event-{event_pk}"


# --- Results education --------------------------------------------------------


def due_results_education(now: datetime) -> list[Patient]:
    """Patients with results released `wait_hours` ago or more, not viewed, not covered.

    Each patient carries `result_keys`, the results the message will cover.
    """
    wait = timedelta(hours=int(rule_option(OutreachRule.RESULTS_EDUCATION, "wait_hours")))
    viewed_same = plausible_events().filter(
        patient=OuterRef("patient"),
        type=EventType.RESULT_VIEWED,
        object_id=OuterRef("object_id"),
        occurred_at__lte=now,
    )
    viewed_after = plausible_events().filter(
        patient=OuterRef("patient"),
        type=EventType.RESULT_VIEWED,
        occurred_at__gte=OuterRef("occurred_at"),
        occurred_at__lte=now,
    )
    releases = (
        plausible_events()
        .filter(
            type=EventType.RESULT_RELEASED,
            occurred_at__gt=now - RESULTS_LOOKBACK,
            occurred_at__lte=now - wait,
            patient__deactivated_on__isnull=True,
        )
        .filter(_enrolled_by(now))
        .annotate(viewed_same=Exists(viewed_same), viewed_after=Exists(viewed_after))
        .filter(Q(object_id="", viewed_after=False) | (~Q(object_id="") & Q(viewed_same=False)))
        .values_list("patient_id", "object_id", "pk")
    )
    keys: dict[int, set[str]] = defaultdict(set)
    for patient_id, object_id, pk in releases:
        keys[patient_id].add(result_key(object_id, pk))
    covered = set(
        ResultEducationItem.objects.filter(patient_id__in=keys).values_list(
            "patient_id", "result_key"
        )
    )
    patients = []
    for patient in Patient.objects.filter(pk__in=keys).order_by("pk"):
        patient.result_keys = sorted(k for k in keys[patient.pk] if (patient.pk, k) not in covered)
        if patient.result_keys:
            patients.append(patient)
    return patients


def claim_results_education(patient: Patient, now: datetime, job: str) -> Communication | None:
    """Today's message for the patient and its results, or None if either was taken."""
    today = timezone.localdate(now)
    try:
        with transaction.atomic():
            communication = outreach_claim(
                patient=patient,
                rule=OutreachRule.RESULTS_EDUCATION,
                period=f"{today:%Y-%m-%d}",
                today=today,
                job=job,
                now=now,
            )
            if communication is None:
                return None
            # A result another message covered already: the whole claim rolls back.
            ResultEducationItem.objects.bulk_create(
                ResultEducationItem(communication=communication, patient=patient, result_key=key)
                for key in patient.result_keys
            )
    except IntegrityError:
        return None
    return communication


# --- Activity alerts by text ----------------------------------------------------


def _last_alerts(patient_ids) -> dict[int, datetime]:
    return dict(
        Communication.objects.filter(rule=OutreachRule.ACTIVITY_ALERT, patient_id__in=patient_ids)
        .values("patient_id")
        .annotate(last=Max("created_at"))
        .values_list("patient_id", "last")
    )


def due_activity_alert(now: datetime) -> list[Patient]:
    """SMS patients with portal activity since their last alert, that last one an hour ago."""
    if quiet_hours_end(now) != now:
        return []
    since = now - ALERT_LOOKBACK
    texting = Patient.objects.filter(
        deactivated_on__isnull=True, notification_channel=NotificationChannel.SMS
    )
    latest: dict[int, datetime] = {}
    released = (
        plausible_events()
        .filter(
            type=EventType.RESULT_RELEASED,
            occurred_at__gt=since,
            occurred_at__lte=now,
            patient__in=texting,
        )
        .values("patient_id")
        .annotate(last=Max("occurred_at"))
        .values_list("patient_id", "last")
    )
    replied = (
        OutboxItem.objects.filter(
            created_at__gt=since, created_at__lte=now, reply__message__patient__in=texting
        )
        .values("reply__message__patient_id")
        .annotate(last=Max("created_at"))
        .values_list("reply__message__patient_id", "last")
    )
    for patient_id, moment in [*released, *replied]:
        latest[patient_id] = max(moment, latest.get(patient_id, moment))
    enrolled = set(
        plausible_events()
        .filter(patient_id__in=latest, type=EventType.PORTAL_ACTIVATED, occurred_at__lte=now)
        .values_list("patient_id", flat=True)
    )
    last_alerts = _last_alerts(latest)
    due_ids = [
        patient_id
        for patient_id, activity in latest.items()
        if patient_id in enrolled
        and (patient_id not in last_alerts or last_alerts[patient_id] < activity)
        and (patient_id not in last_alerts or last_alerts[patient_id] <= now - ALERT_GAP)
    ]
    return list(Patient.objects.filter(pk__in=due_ids).order_by("pk"))


def claim_activity_alert(patient: Patient, now: datetime, job: str) -> Communication | None:
    """An alert, unless one was claimed for the patient within the last hour.

    The patient's row is locked first, so of two workers the second reads
    the first one's alert (PostgreSQL; SQLite writes one at a time anyway).
    """
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()
        last = _last_alerts([patient.pk]).get(patient.pk)
        if last is not None and last > now - ALERT_GAP:
            return None
        return outreach_claim(
            patient=patient,
            rule=OutreachRule.ACTIVITY_ALERT,
            period=timezone.localtime(now).isoformat(timespec="microseconds"),
            today=timezone.localdate(now),
            job=job,
            channel=OutreachChannel.SMS,
            now=now,
        )


# --- Applying them ------------------------------------------------------------------


@dataclass(frozen=True)
class FrequentRule:
    key: str
    due: Callable[[datetime], list[Patient]]
    claim: Callable[[Patient, datetime, str], Communication | None]


FREQUENT_RULES = [
    FrequentRule(OutreachRule.RESULTS_EDUCATION, due_results_education, claim_results_education),
    FrequentRule(OutreachRule.ACTIVITY_ALERT, due_activity_alert, claim_activity_alert),
]
FREQUENT_RULE_KEYS = [rule.key for rule in FREQUENT_RULES]


def frequent_apply(
    *, now: datetime, job: str, failures: NightlyFailures
) -> dict[str, dict[str, int]]:
    """Claim what the frequent rules find due at `now`; the tallies, per rule."""
    return {rule.key: _apply(rule, now, job, failures) for rule in FREQUENT_RULES}


def _apply(
    rule: FrequentRule, now: datetime, job: str, failures: NightlyFailures
) -> dict[str, int]:
    tally = {"claimed": 0, "already": 0, "suppressed": 0, "failed": 0}
    if not rule_enabled(rule.key):
        return {**tally, "switched_off": 1}
    due: list[Patient] = []
    with failures.guard(_("finding who is due"), rule=rule.key) as step:
        due = rule.due(now)
    tally["failed"] += step.failed
    for patient in due:
        with failures.guard(
            _("claiming and writing the message"), rule=rule.key, patient_id=patient.pk
        ) as step:
            communication = rule.claim(patient, now, job)
            if communication is None:
                tally["already"] += 1
            elif communication.status == CommunicationStatus.SUPPRESSED:
                tally["suppressed"] += 1
            else:
                tally["claimed"] += 1
        tally["failed"] += step.failed
    return tally


def frequent_run(
    *, now: datetime | None = None, job: str = "frequent", synchronous: bool = False
) -> tuple[dict[str, dict[str, int]], int]:
    """The sweep: apply the frequent rules, then send their due messages.

    Returns the tallies and the number of failed steps (recorded for the
    managers' nightly page, as the night's are).
    """
    from messaging.outreach import _send_all, enqueue_send

    now = now or timezone.now()
    failures = NightlyFailures(job=NightlyJob.OUTREACH, night=timezone.localdate(now))
    counts = frequent_apply(now=now, job=job, failures=failures)
    due = list(
        Communication.objects.filter(
            pk__in=communications_due(), rule__in=FREQUENT_RULE_KEYS
        ).values_list("pk", flat=True)
    )
    if synchronous:
        _send_all(due, failures)
    else:
        for communication_id in due:
            enqueue_send(communication_id)
    return counts, len(failures)


def frequent_preview(*, now: datetime) -> dict[str, list[Patient]]:
    """Who the frequent rules would reach now, claiming nothing (switched off: nobody)."""
    preview: dict[str, list[Patient]] = {}
    for rule in FREQUENT_RULES:
        preview[rule.key] = []
        if not rule_enabled(rule.key):
            continue
        try:
            with transaction.atomic():
                preview[rule.key] = rule.due(now)
        except Exception as error:
            log.warning("outreach preview of %s failed: %s", rule.key, type(error).__name__)
    return preview


def frequent_counts_today(today=None) -> dict[str, dict[str, int]]:
    """Today's frequent messages per rule: claimed to be sent, and not sent (suppressed)."""
    today = today or timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    rows = Communication.objects.filter(
        rule__in=FREQUENT_RULE_KEYS, created_at__gte=start, created_at__lt=start + timedelta(days=1)
    ).values_list("rule", "status")
    counts = {key: {"claimed": 0, "suppressed": 0} for key in FREQUENT_RULE_KEYS}
    for rule, status in rows:
        kind = "suppressed" if status == CommunicationStatus.SUPPRESSED else "claimed"
        counts[rule][kind] += 1
    return counts
