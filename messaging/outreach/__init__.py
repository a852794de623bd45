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

import calendar
import copy
import logging
import random
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

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
    OutreachWeekBatch,
    SurveyInvitation,
)
from messaging.outreach.texts import (
    FEATURE_ROTATION,
    FEATURE_SUBJECT,
    FEATURE_TEXTS,
    PLACEHOLDERS,
    TEXTS,
    fill,
    language_of,
    rule_wording,
    shipped_text,
    unknown_placeholders,
)
from messaging.services.manage import SettingsError
from patients.models import AppointmentType, EventType, NotificationChannel, Patient
from patients.selectors import logged_in_since, plausible_events, with_latest_offer
from portal_adoption.dates import event_window
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


def _first_by(column: str, moment: datetime) -> Q:
    """Patients whose first event of a PatientFirsts column is inside the event window
    and at or before `moment`: one row per patient, where the earliest of the log's
    events would be looked up in every month's partition for every patient."""
    window_end = event_window().utc_bounds()[1]
    return Q(**{f"firsts__{column}__lte": moment, f"firsts__{column}__lt": window_end})


# --- The rules ----------------------------------------------------------------------


def due_no_login_reminder(today: date) -> QuerySet[Patient]:
    """Invited or enrolled at least 7 days ago (day 7, not day 6), no login since.

    The period is the day of that latest invitation or activation, so a new
    invitation can earn a new reminder but the same one never two.
    """
    return with_latest_offer(_active_panel()).filter(
        offered_at__lte=_end_of(today - REMINDER_AFTER), logged_in_since=False
    )


def due_app_nudge(today: date) -> QuerySet[Patient]:
    """Enrolled at least 14 days ago and no app installed."""
    window_end = event_window().utc_bounds()[1]
    return (
        _active_panel()
        .filter(_first_by("activated_at", _end_of(today - APP_NUDGE_AFTER)))
        .exclude(firsts__app_installed_at__lt=window_end)
        .annotate(enrolled_at=F("firsts__activated_at"))
    )


def due_feature_of_month(today: date) -> QuerySet[Patient]:
    """Every enrolled patient on the panel, once a month."""
    return _active_panel().filter(_first_by("activated_at", _end_of(today)))


def due_survey(today: date) -> list[Patient]:
    """A random sample of this month's active users (a login in the last 30 days).

    The sample is drawn with the month as the seed, so a second run that
    night (or a restart) draws the same patients, who are claimed already.
    """
    since = _end_of(today) - timedelta(days=30)
    ids = sorted(_active_panel().filter(logged_in_since(since)).values_list("pk", flat=True))
    chosen = random.Random(f"survey-{today:%Y-%m}").sample(
        ids, min(len(ids), settings.SURVEY_SAMPLE_SIZE)
    )
    return list(Patient.objects.filter(pk__in=chosen).order_by("pk"))


# --- Bill-pay reminders ----------------------------------------------------------
#
# A statement is a `statement_issued` event (object_id: the statement id). The
# same statement sent twice by the feed is one statement: its first recorded
# event (lowest id) stands for it, with that event's time and due date. A
# statement without an object_id is skipped: no payment could ever be matched.
#
# - "first" reminder: from N days after the statement's day (practice time; N =
#   rule_option(BILL_REMINDER, "days_after"), default 7: day 7, not day 6).
# - "due" reminder: on the due date. None when the statement has no due date or
#   when the due date is on or before the first reminder's day (one reminder is
#   enough then). Then it stops: there is no third.
# - A night the workers missed is caught up for BILL_CATCH_UP days, no longer:
#   switching the rule on does not remind anyone of last year's statements.
# - Any `payment` event of the same patient with the statement's object_id
#   (partial or whole) means paid: nothing more is claimed, and a claimed row
#   not yet sent becomes "suppressed" with reason "paid" at send time
#   (communication_send checks again, under its lock).
# - Enrolled patients only (a portal_activated event): the reminder is about
#   paying in the portal.
# - The claim's period is "<event id>:first" or "<event id>:due", the id of the
#   statement's first event: short, unique per statement whatever its object_id
#   (long or odd ids never reach the period), and it leads back to the
#   statement (and so to its payments) when the row is sent.

BILL_CATCH_UP = timedelta(days=7)
BILL_FIRST, BILL_DUE = "first", "due"
PAID = "paid"


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def statements() -> QuerySet:
    """The statement_issued events that stand for their statement (the first recorded)."""
    earlier = plausible_events().filter(
        type=EventType.STATEMENT_ISSUED,
        patient=OuterRef("patient"),
        object_id=OuterRef("object_id"),
        pk__lt=OuterRef("pk"),
    )
    return (
        plausible_events()
        .filter(type=EventType.STATEMENT_ISSUED)
        .exclude(object_id="")
        .exclude(Exists(earlier))
    )


def _payments_of_statement() -> QuerySet:
    """Payments of the outer statement's patient for its object_id (use inside Exists)."""
    return plausible_events().filter(
        type=EventType.PAYMENT, patient=OuterRef("patient"), object_id=OuterRef("object_id")
    )


def bill_period(statement_event_id: int, which: str) -> str:
    return f"{statement_event_id}:{which}"


def due_bill_reminder(today: date) -> list[Patient]:
    """Enrolled patients with an unpaid statement whose first or due-date reminder is due.

    A patient appears once per reminder due (two statements: twice), each copy
    carrying `bill_statement_id` (the statement's event id) and `bill_which`.
    """
    days_after = int(rule_option(OutreachRule.BILL_REMINDER, "days_after"))
    enrolled = plausible_events().filter(
        patient=OuterRef("patient"),
        type=EventType.PORTAL_ACTIVATED,
        occurred_at__lte=_end_of(today),
    )
    first_from = _start_of(today - timedelta(days=days_after) - BILL_CATCH_UP)
    rows = (
        statements()
        .filter(patient__deactivated_on__isnull=True)
        .filter(Exists(enrolled))
        .exclude(Exists(_payments_of_statement()))
        .filter(
            Q(
                occurred_at__gte=first_from,
                occurred_at__lte=_end_of(today - timedelta(days=days_after)),
            )
            | Q(due_date__gte=today - BILL_CATCH_UP, due_date__lte=today)
        )
        .order_by("patient_id", "pk")
        .values_list("pk", "patient_id", "occurred_at", "due_date")
    )
    due: list[tuple[int, int, str]] = []
    for statement_id, patient_id, issued_at, due_date in rows:
        first_day = timezone.localdate(issued_at) + timedelta(days=days_after)
        if first_day <= today < first_day + BILL_CATCH_UP + timedelta(days=1):
            due.append((statement_id, patient_id, BILL_FIRST))
        if due_date and due_date > first_day and due_date <= today:
            due.append((statement_id, patient_id, BILL_DUE))
    patients = Patient.objects.in_bulk({patient_id for _s, patient_id, _w in due})
    found = []
    for statement_id, patient_id, which in due:
        patient = copy.copy(patients[patient_id])
        patient.bill_statement_id, patient.bill_which = statement_id, which
        found.append(patient)
    return found


def bill_paid(communication: Communication) -> bool:
    """Whether the statement a bill reminder is about has a payment (same patient, same id)."""
    statement_id = communication.period.split(":", 1)[0]
    if not (statement_id.isascii() and statement_id.isdigit()):
        return False
    statement = statements().filter(pk=int(statement_id), patient=communication.patient_id)
    return statement.filter(Exists(_payments_of_statement())).exists()


def months_before(day: date, months: int) -> date:
    """`day` minus whole months; a day past the end of the target month becomes its last day
    (2027-01-31 minus 11 months is 2026-02-28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


# Annual-exam recall: who counts as due, and how often.
ANNUAL_EXAM_WITHIN_MONTHS = 11
RECALL_AGAIN_AFTER_MONTHS = 12


def week_of(today: date) -> date:
    """The Monday of `today`'s ISO week (practice time): the batch's week."""
    return today - timedelta(days=today.weekday())


def annual_recall_batch_left(today: date) -> int:
    """How many recalls this week's batch still allows (per_week minus those claimed)."""
    per_week = rule_option(OutreachRule.ANNUAL_EXAM_RECALL, "per_week")
    batch = OutreachWeekBatch.objects.filter(
        rule=OutreachRule.ANNUAL_EXAM_RECALL, week=week_of(today)
    ).first()
    return max(0, per_week - (batch.claimed if batch else 0))


def due_annual_exam_recall(today: date) -> list[Patient]:
    """Enrolled patients on the panel with no annual exam booked in the last 11 months,
    recalled at most once in 12 months, this week's batch at a time.

    "The last 11 months" is pinned to practice days: on 2026-03-18 an annual exam
    booked on 2025-04-19 or later counts; one booked on 2025-04-18 (11 months ago
    to the day) no longer does, so the patient is due, like day 7 of the reminder.
    Only `appointment_booked` with `appointment_type` `annual_exam` counts; a
    follow-up or an untyped booking does not.

    The longest without an annual exam come first (never booked before any
    booking), then by id, so the batch is the same on every run and nobody is
    starved. Only as many as the week's batch has left are returned; the claim
    (annual_recall_claim) takes a place in the batch, so two workers at once
    never exceed it.
    """
    left = annual_recall_batch_left(today)
    if left <= 0:
        return []
    exams = plausible_events().filter(
        patient=OuterRef("pk"),
        type=EventType.APPOINTMENT_BOOKED,
        appointment_type=AppointmentType.ANNUAL_EXAM,
    )
    recent_exam = exams.filter(
        occurred_at__gt=_end_of(months_before(today, ANNUAL_EXAM_WITHIN_MONTHS))
    )
    recent_recall = Communication.objects.filter(
        patient=OuterRef("pk"),
        rule=OutreachRule.ANNUAL_EXAM_RECALL,
        created_at__gt=_end_of(months_before(today, RECALL_AGAIN_AFTER_MONTHS)),
    )
    due = (
        _active_panel()
        .filter(_first_by("activated_at", _end_of(today)))
        .exclude(Exists(recent_exam))
        .exclude(Exists(recent_recall))
        .annotate(
            last_exam_at=Subquery(exams.order_by("-occurred_at").values("occurred_at")[:1]),
            previous_recall=Subquery(_recalls_of(OuterRef("pk")).values("created_at")[:1]),
        )
    )
    # The order is (last exam, nulls first; id). Those never booked come first, by
    # id, and usually fill the batch: found without anyone's last exam, where sorting
    # every enrolled patient by it (a look-up in every month's partition each) took
    # most of the nightly page's time. Only a batch they leave short asks for the
    # others, by last exam (a second query).
    never_booked = list(due.exclude(Exists(exams)).order_by("pk")[:left])
    if len(never_booked) == left:
        return never_booked
    booked_before = due.filter(Exists(exams)).order_by("last_exam_at", "pk")
    return never_booked + list(booked_before[: left - len(never_booked)])


def _recalls_of(patient) -> QuerySet[Communication]:
    return Communication.objects.filter(
        patient=patient, rule=OutreachRule.ANNUAL_EXAM_RECALL
    ).order_by("-created_at", "-pk")


def annual_recall_period(patient: Patient, today: date) -> str:
    """The recall's place in the patient's chain of recalls: "first", then "after
    YYYY-MM-DD" (the day, practice time, of the recall before it).

    (patient, rule, period) is unique, so each recall has its own predecessor:
    two workers that both see the same last recall (or none) write the same
    period and only one claim stands. The due query lets the next one come only
    12 months after the last, so the claim itself keeps "once in 12 months" true.
    """
    previous = getattr(patient, "previous_recall", None)
    if previous is None:
        return "first"
    return f"after {timezone.localdate(previous):%Y-%m-%d}"


class _BatchFull(Exception):
    pass


BATCH_FULL = object()


def annual_recall_claim(*, patient: Patient, rule: str, period: str, today: date, job: str):
    """Claim the recall and a place in this week's batch together, or neither.

    The place is a compare-and-set on the week's counter row (claimed < per_week),
    so concurrent workers are serialized by that row and never claim more than
    the batch. A suppressed claim (opted out, no contact) sends nothing and takes
    no place. Returns the claim, None if claimed before, or BATCH_FULL.
    """
    per_week = rule_option(rule, "per_week")
    try:
        with transaction.atomic():
            communication = outreach_claim(
                patient=patient, rule=rule, period=period, today=today, job=job
            )
            if communication is None or communication.status == CommunicationStatus.SUPPRESSED:
                return communication
            OutreachWeekBatch.objects.get_or_create(rule=rule, week=week_of(today))
            taken = OutreachWeekBatch.objects.filter(
                rule=rule, week=week_of(today), claimed__lt=per_week
            ).update(claimed=F("claimed") + 1)
            if not taken:
                raise _BatchFull
    except _BatchFull:
        return BATCH_FULL
    return communication


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


# The bounds of each number a manager may set (inclusive), and the longest extra text.
OPTION_BOUNDS: dict[str, tuple[int, int]] = {
    "wait_hours": (1, 72),
    "days_after": (1, 60),
    "per_week": (1, 10000),
}
OPTION_TEXT_MAX = 200
SUBJECT_MAX = 200
BODY_MAX = 1000
WORDING_FIELDS = ("subject_en", "body_en", "subject_es", "body_es")


def option_label(name: str) -> str:
    labels = {
        "wait_hours": _("Hours to wait"),
        "days_after": _("Days after the statement"),
        "per_week": _("Messages per week"),
        "discount_text_en": _("Portal payment discount (English)"),
        "discount_text_es": _("Portal payment discount (Spanish)"),
    }
    return str(labels.get(name, name.replace("_", " ").capitalize()))


def rule_has_wording(rule: str) -> bool:
    """Whether the rule's wording is edited here (the feature of the month has its own form)."""
    return rule in TEXTS


def rule_placeholders(rule: str) -> set[str]:
    """What the rule's wording may use: the common placeholders and those of its shipped
    text (the survey's {survey_url}, say)."""
    shipped = [shipped_text(text, "en") for text in TEXTS[rule].values()]
    return PLACEHOLDERS.union(*(_placeholder_names(text) for text in shipped))


def _placeholder_names(text: str) -> set[str]:
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        return set()


def outreach_setting_save(
    *, rule: str, enabled: bool, user, options: dict | None = None, **wording: str
) -> OutreachSetting:
    """A manager's choices for one rule: on or off, its wording, its numbers.

    Blank wording keeps the shipped text for that language; an option not given
    keeps its current value. Refuses with
    services.manage.SettingsError naming the field: an unknown rule, a
    placeholder the rule cannot fill (named), a text too long, a number out of
    its bounds or an option the rule does not have.
    """
    if rule not in OutreachRule.values:
        raise SettingsError("rule", _("Choose one of the rules."))
    texts = {name: str(wording.pop(name, "") or "").strip() for name in WORDING_FIELDS}
    if wording:
        raise SettingsError(None, _("Unknown setting."))
    if not rule_has_wording(rule) and any(texts.values()):
        raise SettingsError(None, _("This rule's wording is set elsewhere."))
    if rule_has_wording(rule):
        allowed = rule_placeholders(rule)
        for name, text in texts.items():
            limit = SUBJECT_MAX if name.startswith("subject") else BODY_MAX
            if len(text) > limit:
                raise SettingsError(
                    name, _("Keep it to %(max)d characters or fewer.") % {"max": limit}
                )
            unknown = unknown_placeholders(text) - allowed
            if unknown == {"{"}:
                raise SettingsError(
                    name, _("A brace is not closed: write placeholders like {first_name}.")
                )
            if unknown:
                raise SettingsError(
                    name,
                    _("Unknown placeholder: %(names)s. Use only %(allowed)s.")
                    % {
                        "names": ", ".join("{" + n + "}" for n in sorted(unknown)),
                        "allowed": ", ".join("{" + n + "}" for n in sorted(allowed)),
                    },
                )
            # A link only this rule fills (the survey's) must stay in a text of one's own.
            links = sorted(n for n in allowed - PLACEHOLDERS if n.endswith("_url"))
            missing = [
                n for n in links if name.startswith("body") and text and "{" + n + "}" not in text
            ]
            if missing:
                raise SettingsError(
                    name,
                    _("Keep %(names)s in the text: it is the patient's link.")
                    % {"names": ", ".join("{" + n + "}" for n in missing)},
                )
    values = dict(options or {})
    known = RULE_OPTIONS.get(rule, {})
    for name in values:
        if name not in known:
            raise SettingsError(name, _("This rule has no such setting."))
    current = outreach_setting(rule).options
    cleaned: dict[str, object] = {}
    for name, default in known.items():
        value = values.get(name, current.get(name, default))
        if isinstance(default, int):
            low, high = OPTION_BOUNDS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SettingsError(
                    name,
                    _("%(label)s must be a whole number from %(low)d to %(high)d.")
                    % {"label": option_label(name), "low": low, "high": high},
                )
        else:
            value = str(value or "").strip()
            if len(value) > OPTION_TEXT_MAX:
                raise SettingsError(
                    name,
                    _("%(label)s: keep it to %(max)d characters or fewer.")
                    % {"label": option_label(name), "max": OPTION_TEXT_MAX},
                )
            if unknown_placeholders(value):
                raise SettingsError(
                    name, _("%(label)s cannot use braces.") % {"label": option_label(name)}
                )
        cleaned[name] = value
    setting, _created = OutreachSetting.objects.update_or_create(
        rule=rule, defaults={"enabled": enabled, "options": cleaned, "updated_by": user, **texts}
    )
    return setting


def outreach_setting_restore_wording(*, rule: str, user) -> OutreachSetting:
    """Back to the shipped wording in both languages; on/off and the numbers stay."""
    if rule not in OutreachRule.values:
        raise SettingsError("rule", _("Choose one of the rules."))
    setting, _created = OutreachSetting.objects.update_or_create(
        rule=rule, defaults={"updated_by": user, **dict.fromkeys(WORDING_FIELDS, "")}
    )
    return setting


@dataclass(frozen=True)
class Rule:
    key: str
    due: object
    period: object
    # How a patient is claimed; outreach_claim unless the rule needs more (a batch).
    claim: object = None
    # The period as an SQL expression over the due query's rows (same value as
    # `period`), so the preview counts who is still unclaimed without loading them.
    period_sql: object = None


def _offer_day_sql(today: date):
    """no_login_reminder's period in SQL: the practice day of `offered_at`, YYYY-MM-DD."""
    return Cast(TruncDate("offered_at", tzinfo=timezone.get_current_timezone()), CharField())


RULES = [
    Rule(
        OutreachRule.NO_LOGIN_REMINDER,
        due_no_login_reminder,
        lambda p, today: f"{timezone.localdate(p.offered_at):%Y-%m-%d}",
        period_sql=_offer_day_sql,
    ),
    Rule(
        OutreachRule.APP_NUDGE,
        due_app_nudge,
        lambda p, today: "once",
        period_sql=lambda today: Value("once"),
    ),
    Rule(
        OutreachRule.FEATURE_OF_MONTH,
        due_feature_of_month,
        lambda p, today: f"{today:%Y-%m}",
        period_sql=lambda today: Value(f"{today:%Y-%m}"),
    ),
    Rule(OutreachRule.SATISFACTION_SURVEY, due_survey, lambda p, today: f"{today:%Y-%m}"),
    Rule(
        OutreachRule.ANNUAL_EXAM_RECALL,
        due_annual_exam_recall,
        annual_recall_period,
        claim=annual_recall_claim,
    ),
    Rule(
        OutreachRule.BILL_REMINDER,
        due_bill_reminder,
        lambda p, today: bill_period(p.bill_statement_id, p.bill_which),
    ),
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
    channel: str | None = None,
    now: datetime | None = None,
    fill_values: dict | None = None,
):
    """The claim row for (patient, rule, period), or None if it was claimed before.

    `channel` forces one (activity alerts are texts or nothing); `now` is the
    moment of the claim (the frequent rules pass theirs); `fill_values` fills a
    rule's own placeholders (feedback_change's {change}).
    """
    channel = channel or channel_for(patient)
    now = now or timezone.now()
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
                created_at=now,
                not_before=quiet_hours_end(now) if channel == OutreachChannel.SMS else now,
            )
            if rule == OutreachRule.SATISFACTION_SURVEY and not reason:
                _attach_survey(communication)
    except IntegrityError:
        return None
    return communication


def _compose(
    patient: Patient,
    rule: str,
    today: date,
    fill_values: dict | None = None,
    setting: OutreachSetting | None = None,
) -> tuple[str, str]:
    language = language_of(patient.preferred_language)
    if rule == OutreachRule.FEATURE_OF_MONTH:
        chosen = FeatureOfMonth.objects.filter(month=today.replace(day=1)).first()
        if chosen:
            text = chosen.text_es if language == "es" and chosen.text_es else chosen.text_en
        else:
            feature = FEATURE_ROTATION[(today.month - 1) % len(FEATURE_ROTATION)]
            text = shipped_text(FEATURE_TEXTS[feature], language)
        return shipped_text(FEATURE_SUBJECT, language), fill(text, patient)
    setting = setting or outreach_setting(rule)
    subject, body = rule_wording(rule, language, setting)
    body = fill(body, patient, **(fill_values or {}))
    if rule == OutreachRule.BILL_REMINDER:
        # The manager's discount offer, in the patient's language (else the English one),
        # added as written: it is the practice's text, not a template. Managers write it
        # in English and Spanish only (RULE_OPTIONS): other patients read the English one.
        own = f"discount_text_{language}"
        discount = (
            rule_option(rule, own, setting) if own in RULE_OPTIONS[rule] else ""
        ) or rule_option(rule, "discount_text_en", setting)
        if str(discount).strip():
            body = f"{body} {str(discount).strip()}"
    return subject, body


def outreach_compose(
    patient: Patient, rule: str, today: date, *, setting: OutreachSetting | None = None
) -> tuple[str, str]:
    """(subject, text) a rule's message to `patient` would have (the demo writes past ones).

    `setting`: the rule's outreach_setting, read once for many messages.
    """
    return _compose(patient, rule, today, setting=setting)


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
        if not reason and communication.rule == OutreachRule.BILL_REMINDER:
            # A payment that arrived after the claim (a text held over quiet hours,
            # a slow queue) cancels the reminder.
            reason = PAID if bill_paid(communication) else ""
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


REPLY_STOP = pgettext_lazy("patient", "Reply STOP to opt out.")


def _deliver(communication: Communication) -> None:
    patient = communication.patient
    if communication.channel == OutreachChannel.SMS:
        # STOP stays STOP in every language: carriers and sms_inbound (STOP_WORDS) know it.
        stop = shipped_text(REPLY_STOP, patient.preferred_language)
        channels.send_sms(to=patient.mobile_phone, text=f"{communication.body} {stop}")
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
    # The frequent rules (results education, activity alerts) run here too, so
    # a first run without the beat still sends them (outreach.frequent).
    from messaging.outreach.frequent import frequent_apply

    counts.update(frequent_apply(now=timezone.now(), job=job, failures=failures))
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
            communication = (rule.claim or outreach_claim)(
                patient=patient,
                rule=rule.key,
                period=rule.period(patient, today),
                today=today,
                job=job,
            )
            if communication is BATCH_FULL:
                tally["batch_full"] = tally.get("batch_full", 0) + 1
            elif communication is None:
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


@dataclass(frozen=True)
class RulePreview:
    """Who a rule would reach: how many, and the first of them (all, unless limited)."""

    total: int
    patients: list[Patient]


def outreach_preview(
    *, today: date | None = None, shown: int | None = None
) -> dict[str, RulePreview]:
    """Who tonight's rules would reach, without claiming anything: per rule, how
    many, and the first `shown` patients (every one when `shown` is None).

    A rule whose period is known in SQL (period_sql) is counted by the database:
    the page must not load every enrolled patient to say "feature of the month:
    60,000". A rule or a patient whose preview fails is left out and logged (the
    rule, the patient's id and the error's class): the page that shows the
    night's failures must not fail with them.
    """
    today = today or timezone.localdate()
    preview: dict[str, RulePreview] = {}
    for rule in RULES:
        preview[rule.key] = RulePreview(0, [])
        if not rule_enabled(rule.key):
            continue
        try:
            with transaction.atomic():
                preview[rule.key] = _rule_preview(rule, today, shown)
        except Exception as error:
            log.warning("outreach preview of %s failed: %s", rule.key, type(error).__name__)
    from messaging.outreach.frequent import frequent_preview

    for key, patients in frequent_preview(now=timezone.now()).items():
        preview[key] = RulePreview(len(patients), patients[:shown])
    return preview


def _rule_preview(rule: Rule, today: date, shown: int | None) -> RulePreview:
    due = rule.due(today)
    if rule.period_sql is not None and isinstance(due, QuerySet):
        claimed = Communication.objects.filter(
            rule=rule.key, patient=OuterRef("pk"), period=OuterRef("_period")
        )
        unclaimed = due.annotate(_period=rule.period_sql(today)).exclude(Exists(claimed))
        patients = list(unclaimed[:shown] if shown is not None else unclaimed)
        total = len(patients) if shown is None else unclaimed.count()
        return RulePreview(total, patients)
    unclaimed = _unclaimed(rule, today, list(due))
    return RulePreview(len(unclaimed), unclaimed[:shown])


def _unclaimed(rule: Rule, today: date, due: list[Patient]) -> list[Patient]:
    """The due patients with no claim for their period yet (the period from Python)."""
    claimed = set(
        Communication.objects.filter(rule=rule.key, patient__in=due).values_list(
            "patient_id", "period"
        )
    )
    unclaimed = []
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
            unclaimed.append(patient)
    return unclaimed


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
