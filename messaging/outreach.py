"""The nightly workers' rules, and sending each message exactly once.

How a night runs (outreach_run):

1. Each rule is a query over the event log for `today` (practice time):
   who is due a no-login reminder, an app nudge, the feature of the month,
   or the satisfaction survey.
2. For each patient a Communication row is CLAIMED first: (patient, rule,
   period) is unique, so a second run, a concurrent run or a restart after
   a crash finds the claim and sends nothing.
3. Opt-outs and missing contact details make the row "suppressed" with the
   reason; a text due in quiet hours (21:00-08:00) waits until 08:00.
4. Sending happens after commit, one task per row. A row is marked
   "sending" before the provider is called and "sent" after; a provider
   error puts it back to "queued" for a retry with backoff. A row left in
   "sending" by a crash is never sent again automatically: the manager's
   view shows it, since nobody can know whether the patient got it.
5. Each rule's query, each patient's claim and each send is a guarded step
   (portal_adoption.nightly): one that fails (a bad row, a bug) is recorded
   for the managers' nightly page, and the night goes on with the rest.
   The rules read only events inside the event window (`_events`), so a row
   stored with a time like year 0001 is no evidence and breaks nothing.
"""

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging import channels
from messaging.models import (
    Communication,
    CommunicationStatus,
    FeatureOfMonth,
    NightlyRun,
    OptOut,
    OutreachChannel,
    OutreachRule,
    OutreachSetting,
    SurveyInvitation,
)
from messaging.outreach_texts import (
    FEATURE_ROTATION,
    FEATURE_SUBJECT,
    FEATURE_TEXTS,
    fill,
    language_of,
    rule_wording,
    unknown_placeholders,
)
from patients.models import EventType, NotificationChannel, Patient
from patients.selectors import plausible_events
from portal_adoption.models import NightlyJob
from portal_adoption.nightly import NightlyFailures

log = logging.getLogger(__name__)

REMINDER_AFTER = timedelta(days=7)
APP_NUDGE_AFTER = timedelta(days=14)
QUIET_STARTS, QUIET_ENDS = time(21, 0), time(8, 0)
SURVEY_LIFETIME = timedelta(days=14)
SURVEY_SALT = "messaging.survey"
UNSUBSCRIBE_SALT = "messaging.unsubscribe"
STALE_SENDING = timedelta(hours=1)


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


def _active_panel() -> QuerySet[Patient]:
    return Patient.objects.filter(deactivated_on__isnull=True)


def _first(event_type: str):
    events = plausible_events().filter(patient=OuterRef("pk"), type=event_type)
    return Subquery(events.values("patient").annotate(first=Min("occurred_at")).values("first"))


# --- The rules ----------------------------------------------------------------------


def due_no_login_reminder(today: date) -> QuerySet[Patient]:
    """Invited or enrolled at least 7 days ago (day 7, not day 6), no login since.

    The period is the day of that latest invitation or activation, so a new
    invitation can earn a new reminder but the same one never two.
    """
    offers = (
        plausible_events()
        .filter(
            patient=OuterRef("pk"),
            type__in=[EventType.PORTAL_INVITED, EventType.PORTAL_ACTIVATED],
        )
        .order_by("-occurred_at")
    )
    logged_in = plausible_events().filter(
        patient=OuterRef("pk"), type=EventType.LOGIN, occurred_at__gte=OuterRef("offered_at")
    )
    return (
        _active_panel()
        .annotate(offered_at=Subquery(offers.values("occurred_at")[:1]))
        .filter(offered_at__lte=_end_of(today - REMINDER_AFTER))
        .exclude(Exists(logged_in))
    )


def due_app_nudge(today: date) -> QuerySet[Patient]:
    """Enrolled at least 14 days ago and no app installed."""
    app = plausible_events().filter(patient=OuterRef("pk"), type=EventType.APP_INSTALLED)
    return (
        _active_panel()
        .annotate(enrolled_at=_first(EventType.PORTAL_ACTIVATED))
        .filter(enrolled_at__lte=_end_of(today - APP_NUDGE_AFTER))
        .exclude(Exists(app))
    )


def due_feature_of_month(today: date) -> QuerySet[Patient]:
    """Every enrolled patient on the panel, once a month."""
    activated = plausible_events().filter(
        patient=OuterRef("pk"), type=EventType.PORTAL_ACTIVATED, occurred_at__lte=_end_of(today)
    )
    return _active_panel().filter(Exists(activated))


def due_survey(today: date) -> list[Patient]:
    """A random sample of this month's active users (a login in the last 30 days).

    The sample is drawn with the month as the seed, so a second run that
    night (or a restart) draws the same patients, who are claimed already.
    """
    since = _end_of(today) - timedelta(days=30)
    logged_in = plausible_events().filter(
        patient=OuterRef("pk"), type=EventType.LOGIN, occurred_at__gte=since
    )
    ids = sorted(_active_panel().filter(Exists(logged_in)).values_list("pk", flat=True))
    chosen = random.Random(f"survey-{today:%Y-%m}").sample(
        ids, min(len(ids), settings.SURVEY_SAMPLE_SIZE)
    )
    return list(Patient.objects.filter(pk__in=chosen).order_by("pk"))


# --- The practice's choices per rule --------------------------------------------

# The numbers (and extra wording) a manager may set per rule, with their defaults.
RULE_OPTIONS: dict[str, dict[str, object]] = {
    OutreachRule.RESULTS_EDUCATION: {"wait_hours": 4},
    OutreachRule.BILL_REMINDER: {"days_after": 7, "discount_text_en": "", "discount_text_es": ""},
    OutreachRule.ANNUAL_EXAM_RECALL: {"per_week": 50},
}


def outreach_setting(rule: str) -> OutreachSetting:
    """The practice's choices for `rule`; an unsaved default (on, shipped wording) if none."""
    return OutreachSetting.objects.filter(rule=rule).first() or OutreachSetting(rule=rule)


def rule_enabled(rule: str) -> bool:
    return not OutreachSetting.objects.filter(rule=rule, enabled=False).exists()


def rule_option(rule: str, name: str, setting: OutreachSetting | None = None):
    """One of the rule's numbers: the manager's value, else the default of RULE_OPTIONS."""
    setting = setting or outreach_setting(rule)
    return setting.options.get(name, RULE_OPTIONS[rule][name])


@dataclass(frozen=True)
class Rule:
    key: str
    due: object
    period: object


RULES = [
    Rule(
        OutreachRule.NO_LOGIN_REMINDER,
        due_no_login_reminder,
        lambda p, today: f"{timezone.localdate(p.offered_at):%Y-%m-%d}",
    ),
    Rule(OutreachRule.APP_NUDGE, due_app_nudge, lambda p, today: "once"),
    Rule(OutreachRule.FEATURE_OF_MONTH, due_feature_of_month, lambda p, today: f"{today:%Y-%m}"),
    Rule(OutreachRule.SATISFACTION_SURVEY, due_survey, lambda p, today: f"{today:%Y-%m}"),
]


# --- Claiming -------------------------------------------------------------------


def channel_for(patient: Patient) -> str:
    """Text if the patient asked for texts and one can go; else email if there is an address."""
    texts_possible = bool(patient.mobile_phone) and channels.sms_available()
    if patient.notification_channel == NotificationChannel.SMS and texts_possible:
        return OutreachChannel.SMS
    if patient.email:
        return OutreachChannel.EMAIL
    return OutreachChannel.SMS if patient.mobile_phone else OutreachChannel.EMAIL


def quiet_hours_end(moment: datetime) -> datetime:
    """When a text may go out: now, or 08:00 local after a night in quiet hours."""
    local = timezone.localtime(moment)
    if QUIET_ENDS <= local.time() < QUIET_STARTS:
        return moment
    day = local.date() if local.time() < QUIET_ENDS else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, QUIET_ENDS))


def _suppression(patient: Patient, channel: str) -> str:
    if OptOut.objects.filter(patient=patient, channel=channel).exists():
        return "opted out"
    if channel == OutreachChannel.SMS and not patient.mobile_phone:
        return "no mobile number"
    if channel == OutreachChannel.SMS and not channels.sms_available():
        return channels.NO_SMS_PROVIDER
    if channel == OutreachChannel.EMAIL and not patient.email:
        return "no email address"
    return ""


def outreach_claim(
    *,
    patient: Patient,
    rule: str,
    period: str,
    today: date,
    job: str,
    fill_values: dict | None = None,
):
    """The claim row for (patient, rule, period), or None if it was claimed before.

    `fill_values` fills a rule's own placeholders (feedback_change's {change}).
    """
    channel = channel_for(patient)
    subject, body = _compose(patient, rule, today, fill_values)
    reason = _suppression(patient, channel)
    try:
        with transaction.atomic():
            communication = Communication.objects.create(
                patient=patient,
                rule=rule,
                period=period,
                channel=channel,
                subject=subject,
                body=body,
                job=job,
                status=CommunicationStatus.SUPPRESSED if reason else CommunicationStatus.QUEUED,
                reason=reason,
                not_before=quiet_hours_end(timezone.now())
                if channel == OutreachChannel.SMS
                else timezone.now(),
            )
            if rule == OutreachRule.SATISFACTION_SURVEY and not reason:
                _attach_survey(communication)
    except IntegrityError:
        return None
    return communication


def _compose(
    patient: Patient, rule: str, today: date, fill_values: dict | None = None
) -> tuple[str, str]:
    language = language_of(patient.preferred_language)
    if rule == OutreachRule.FEATURE_OF_MONTH:
        chosen = FeatureOfMonth.objects.filter(month=today.replace(day=1)).first()
        if chosen:
            text = chosen.text_es if language == "es" and chosen.text_es else chosen.text_en
        else:
            feature = FEATURE_ROTATION[(today.month - 1) % len(FEATURE_ROTATION)]
            text = FEATURE_TEXTS[feature][language]
        return str(FEATURE_SUBJECT[language]), fill(text, patient)
    subject, body = rule_wording(rule, language, outreach_setting(rule))
    return subject, fill(body, patient, **(fill_values or {}))


def _attach_survey(communication: Communication) -> None:
    invitation = SurveyInvitation.objects.create(
        communication=communication,
        patient=communication.patient,
        expires_at=timezone.now() + SURVEY_LIFETIME,
    )
    token = signing.dumps(invitation.pk, salt=SURVEY_SALT)
    url = f"{settings.SITE_URL.rstrip('/')}/survey/{token}/"
    communication.body = fill(communication.body, communication.patient, survey_url=url)
    communication.save(update_fields=["body"])


# --- Sending --------------------------------------------------------------------


def communication_send(communication_id: int) -> str:
    """Send one claimed message; safe to call twice (the second call does nothing).

    Lock, check and mark "sending" inside a short transaction; call the
    provider outside it; then mark the outcome.
    """
    with transaction.atomic():
        communication = (
            Communication.objects.select_for_update()
            .select_related("patient")
            .get(pk=communication_id)
        )
        if communication.status != CommunicationStatus.QUEUED:
            return communication.status
        if communication.not_before > timezone.now():
            return communication.status
        reason = _suppression(communication.patient, communication.channel)
        if reason:
            _mark(communication, CommunicationStatus.SUPPRESSED, reason=reason)
            return CommunicationStatus.SUPPRESSED
        communication.status = CommunicationStatus.SENDING
        communication.attempts += 1
        communication.save(update_fields=["status", "attempts"])
    try:
        _deliver(communication)
    except channels.DeliveryError as error:
        _mark(communication, CommunicationStatus.QUEUED, error=str(error))
        raise
    _mark(communication, CommunicationStatus.SENT)
    return CommunicationStatus.SENT


def _deliver(communication: Communication) -> None:
    patient = communication.patient
    if communication.channel == OutreachChannel.SMS:
        channels.send_sms(
            to=patient.mobile_phone, text=communication.body + " Reply STOP to opt out."
        )
        return
    token = signing.dumps(patient.pk, salt=UNSUBSCRIBE_SALT)
    unsubscribe = f"{settings.SITE_URL.rstrip('/')}/unsubscribe/{token}/"
    channels.send_email(
        to=patient.email,
        subject=communication.subject,
        text=f"{communication.body}\n\n{unsubscribe}",
        unsubscribe_url=unsubscribe,
    )


def _mark(communication: Communication, status: str, *, reason: str = "", error: str = "") -> None:
    fields = {"status": status}
    if status == CommunicationStatus.SENT:
        fields["sent_at"] = timezone.now()
    if reason:
        fields["reason"] = reason
    if error:
        fields["last_error"] = error[:300]
    Communication.objects.filter(pk=communication.pk).update(**fields)


def communications_due() -> list[int]:
    """Queued messages whose time has come (texts held over quiet hours, failed enqueues)."""
    return list(
        Communication.objects.filter(
            status=CommunicationStatus.QUEUED, not_before__lte=timezone.now()
        ).values_list("pk", flat=True)
    )


def enqueue_send(communication_id: int) -> None:
    """Hand the row to a worker after commit; if the broker is down, the next run sends it."""
    from messaging.tasks import send_communication

    def enqueue():
        try:
            send_communication.delay(communication_id)
        except Exception as error:  # broker unreachable: the row stays queued
            log.warning(
                "could not enqueue communication %s: %s", communication_id, type(error).__name__
            )

    transaction.on_commit(enqueue)


# --- The night ------------------------------------------------------------------


def outreach_run(
    *, today: date | None = None, job: str = "nightly", synchronous: bool = False
) -> NightlyRun:
    """Apply every rule for `today`, claim, then send (here, or by the workers).

    Every rule's query, patient's claim and (synchronously) send is a guarded
    step: a failure is recorded (portal_adoption.NightlyFailure) and counted
    in `failed`, and the night goes on with the rest.
    """
    today = today or timezone.localdate()
    run = NightlyRun.objects.create(day=today)
    failures = NightlyFailures(job=NightlyJob.OUTREACH, night=today)
    counts = {rule.key: _apply(rule, today, job, failures) for rule in RULES}
    due = communications_due()
    if synchronous:
        _send_all(due, failures)
    else:
        for communication_id in due:
            enqueue_send(communication_id)
    NightlyRun.objects.filter(pk=run.pk).update(
        counts=counts, failed=len(failures), finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def _apply(rule: Rule, today: date, job: str, failures: NightlyFailures) -> dict[str, int]:
    tally = {"claimed": 0, "already": 0, "suppressed": 0, "failed": 0}
    if not rule_enabled(rule.key):
        # Switched off by a manager: nobody is found, nothing is claimed.
        return {**tally, "switched_off": 1}
    due: list[Patient] = []
    with failures.guard(_("finding who is due"), rule=rule.key) as step:
        due = list(rule.due(today))
    tally["failed"] += step.failed
    for patient in due:
        with failures.guard(
            _("claiming and writing the message"), rule=rule.key, patient_id=patient.pk
        ) as step:
            communication = outreach_claim(
                patient=patient,
                rule=rule.key,
                period=rule.period(patient, today),
                today=today,
                job=job,
            )
            if communication is None:
                tally["already"] += 1
            elif communication.status == CommunicationStatus.SUPPRESSED:
                tally["suppressed"] += 1
            else:
                tally["claimed"] += 1
        tally["failed"] += step.failed
    return tally


def _send_all(communication_ids: list[int], failures: NightlyFailures) -> None:
    """Send each one here and now (`manage.py nightly`); one failure stops no other."""
    due = (
        Communication.objects.filter(pk__in=communication_ids)
        .order_by("pk")
        .values_list("pk", "patient_id", "rule")
    )
    for communication_id, patient_id, rule in due:
        # Not atomic: communication_send locks in a short transaction and calls
        # the provider outside it.
        with failures.guard(
            _("sending communication #%(id)d") % {"id": communication_id},
            rule=rule,
            patient_id=patient_id,
            atomic=False,
        ):
            communication_send(communication_id)


def outreach_preview(*, today: date | None = None) -> dict[str, list[Patient]]:
    """Who tonight's rules would reach, without claiming anything.

    A rule or a patient whose preview fails is left out and logged (the
    rule, the patient's id and the error's class): the page that shows the
    night's failures must not fail with them.
    """
    today = today or timezone.localdate()
    preview: dict[str, list[Patient]] = {}
    for rule in RULES:
        preview[rule.key] = []
        if not rule_enabled(rule.key):
            continue
        try:
            with transaction.atomic():
                due = list(rule.due(today))
                claimed = set(
                    Communication.objects.filter(rule=rule.key, patient__in=due).values_list(
                        "patient_id", "period"
                    )
                )
        except Exception as error:
            log.warning("outreach preview of %s failed: %s", rule.key, type(error).__name__)
            continue
        for patient in due:
            try:
                period = rule.period(patient, today)
            except Exception as error:
                log.warning(
                    "outreach preview of %s failed for patient id %s: %s",
                    rule.key,
                    patient.pk,
                    type(error).__name__,
                )
                continue
            if (patient.pk, period) not in claimed:
                preview[rule.key].append(patient)
    return preview


def opt_out(*, patient: Patient, channel: str, source: str) -> None:
    OptOut.objects.get_or_create(patient=patient, channel=channel, defaults={"source": source})


# --- The patient's side: survey answers and opting out ----------------------------


class LinkUnusable(ValueError):
    """A survey or unsubscribe link that is unknown, used or expired."""


def survey_for_token(token: str) -> SurveyInvitation:
    try:
        invitation_id = signing.loads(token, salt=SURVEY_SALT)
    except signing.BadSignature:
        raise LinkUnusable from None
    invitation = SurveyInvitation.objects.select_related("patient").filter(pk=invitation_id).first()
    if invitation is None or invitation.answered_at or invitation.expires_at <= timezone.now():
        raise LinkUnusable
    return invitation


def survey_answer(*, token: str, score: int, comment: str = "") -> SurveyInvitation:
    """Record the answer once, as a survey_response event in the feed's log."""
    from patients.rules import EventData
    from patients.services import event_record

    invitation = survey_for_token(token)
    if not 1 <= score <= 5:
        raise ValueError("score must be from 1 to 5")
    with transaction.atomic():
        answered = SurveyInvitation.objects.filter(
            pk=invitation.pk, answered_at__isnull=True
        ).update(answered_at=timezone.now(), score=score, comment=comment.strip()[:2000])
        if not answered:
            raise LinkUnusable
        patient = invitation.patient
        event_record(
            patient=patient,
            data=EventData(
                event_id=f"survey-{invitation.pk}",
                patient_external_id=patient.external_id,
                type=EventType.SURVEY_RESPONSE,
                occurred_at=timezone.now(),
                channel="portal",
                object_id=f"survey-{invitation.communication.period}",
                score=score,
            ),
        )
    return invitation


def patient_for_unsubscribe(token: str) -> Patient:
    try:
        patient_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise LinkUnusable from None
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise LinkUnusable
    return patient


STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "alto", "parar"}


def sms_inbound(*, from_number: str, body: str) -> int:
    """An SMS reply: STOP (and its synonyms) opts every patient with that number out."""
    if body.strip().lower() not in STOP_WORDS:
        return 0
    patients = list(Patient.objects.filter(mobile_phone=from_number))
    for patient in patients:
        opt_out(patient=patient, channel=OutreachChannel.SMS, source="sms STOP")
    return len(patients)


def feature_of_month_set(*, month: date, feature: str, text_en: str, text_es: str = ""):
    """A manager's pick for the month; the text may use {first_name} and {portal_url}."""
    if feature not in FEATURE_TEXTS:
        raise ValueError("feature")
    if unknown_placeholders(text_en) or unknown_placeholders(text_es):
        raise ValueError("text")
    return FeatureOfMonth.objects.update_or_create(
        month=month.replace(day=1),
        defaults={"feature": feature, "text_en": text_en.strip(), "text_es": text_es.strip()},
    )[0]
