"""The demo practice's portal conversations: visit mentions and phone-script outcomes.

Called from the program demo (program/demo) after the demo practice, its
staff and its events exist. Idempotent: each conversation carries a one-time
key derived from its place in the demo, so running twice adds nothing.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from enrollment.models import (
    ConversationOutcome,
    Decline,
    DeclineReason,
    FeatureShown,
    Incentive,
    IncentiveKind,
    Remedy,
    ScriptKey,
    SkipReason,
    Step,
)
from enrollment.selectors import PortalState, portal_statuses
from enrollment.selectors.reports import month_starts
from enrollment.services import (
    ContactDetails,
    conversation_record,
    decline_record,
    enrollment_collect_contact,
    enrollment_complete,
    enrollment_open,
    enrollment_set_feature,
    enrollment_set_incentive,
    enrollment_skip,
    enrollment_tick,
    incentive_create,
    scripts_ensure,
)
from patients.demo import DeskSignup
from patients.models import (
    ActivityEvent,
    EventType,
    NotificationChannel,
    Patient,
)
from portal_adoption.dates import local_midnight

DEMO_WEEKS = 4
# (days before today, staff username, script, outcome); the patient is picked
# by the outcome: enrolled patients for "already enrolled" and visit mentions,
# patients never offered the portal for the rest.
DEMO_CONVERSATIONS = (
    (1, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (2, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
    (3, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.ALREADY_ENROLLED),
    (4, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.DECLINED),
    (6, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (8, "frontdesk", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (9, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (11, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.ALREADY_ENROLLED),
    (13, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (15, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
    (18, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.DECLINED),
    (20, "frontdesk", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (23, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (26, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
)
DEMO_DECLINE_REASONS = (DeclineReason.NOT_COMFORTABLE, DeclineReason.PRIVACY)
CANDIDATES = 400


def demo_script_outcomes(today: date) -> int:
    """Record the demo's conversations through the real service; returns how many are new."""
    scripts_ensure()
    users = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=["frontdesk", "nurse"])
    }
    if len(users) < 2:
        return 0
    enrolled, never_offered = _demo_patients()
    created = 0
    for n, (days, username, script, outcome) in enumerate(DEMO_CONVERSATIONS):
        pool = (
            enrolled
            if outcome
            in (ConversationOutcome.ALREADY_ENROLLED, ConversationOutcome.MENTIONED_IN_VISIT)
            else never_offered
        )
        if not pool:
            continue
        patient = pool[n % len(pool)]
        at = timezone.make_aware(
            datetime.combine(today - timedelta(days=days), time(10 + n % 6, 5 * n % 60))
        )
        _conversation, new = conversation_record(
            patient=patient,
            script=script,
            outcome=outcome,
            by=users[username],
            language="es" if patient.preferred_language.startswith("es") else "en",
            idempotency_key=f"demo-script-{n}",
            decline_reason=DEMO_DECLINE_REASONS[n % len(DEMO_DECLINE_REASONS)]
            if outcome == ConversationOutcome.DECLINED
            else "",
            at=at,
        )
        created += new
    return created


def _demo_patients() -> tuple[list[Patient], list[Patient]]:
    patients = list(Patient.objects.filter(deactivated_on__isnull=True).order_by("pk")[:CANDIDATES])
    statuses = portal_statuses(patients)
    enrolled = [p for p in patients if statuses[p.pk].state == PortalState.ENROLLED]
    never_offered = [p for p in patients if statuses[p.pk].state == PortalState.NEVER_OFFERED]
    return enrolled[:20], never_offered[:20]


# --- A year of the desk's checklist, declines and incentives (issue 14) ------------------


DESK_SEED_OFFSET = 271_828
# (username, share of the desk's sign-ups, median seconds from first tick to completion)
DESK_CLERKS = (("frontdesk", 40, 95), ("jreed", 25, 108), ("pshah", 20, 125), ("lmoreno", 15, 150))
P_NO_SMARTPHONE = 0.15
P_STEP_SKIPPED = 0.06
P_INCENTIVE = 0.25
P_INCENTIVE_RARE_USER = 0.55
DEMO_INCENTIVES = (
    (IncentiveKind.COPAY_DISCOUNT, "$5 off the next copay", Decimal("5.00")),
    (IncentiveKind.MONTHLY_DRAW, "Monthly draw: a $50 gift card", None),
    (IncentiveKind.GIFT_CARD, "$10 pharmacy gift card", Decimal("10.00")),
)
# Declines per 100 patients over the year, and the share who enrolled later all the same.
DECLINES_PER_100_PATIENTS = 5
MAX_DECLINES = 400
SHARE_ENROLLED_LATER = 0.3
DECLINE_REASONS = (
    (DeclineReason.NOT_COMFORTABLE, 30),
    (DeclineReason.NO_EMAIL, 25),
    (DeclineReason.PRIVACY, 20),
    (DeclineReason.NO_BENEFIT, 18),
    (DeclineReason.OTHER, 7),
)
OTHER_REASONS = (
    "My daughter handles my appointments.",
    "Wants to think about it and ask at the next visit.",
    "Already has too many passwords.",
    "Only here for a one-time visit.",
)
BENEFITS = (
    "Results the same day, without waiting for a call.",
    "Messages to the nurse at 10 pm, answered the next morning.",
    "Booking at midnight, without holding on the phone.",
)


@dataclass(frozen=True)
class DeskHistory:
    enrollments: int
    declines: int


def demo_desk_history(signups: list[DeskSignup], *, seed: int = 42) -> DeskHistory:
    """Replay the desk's year through the enrollment services.

    1. The generator (patients/demo.py) decides who signed up at the desk in
       the demo's window, and when; it writes neither the invitation nor the
       activation (DeskSignup). Each is replayed here as the clerk's
       checklist through the real services, timed so that step 3 is the
       generated moment: open, steps 1 to 8 ticked or skipped, complete. The
       services write portal_invited at step 2 and portal_activated at step 3,
       so the dashboard counts each sign-up once, and the staff report and
       the "Enrollments by staff" cards count the same ones.
    2. Some clerks help install the app (step 5, DeskSignup.app_at_desk): the
       service writes app_installed, and the generator wrote none.
    3. About a third of the desk enrollments get an incentive; patients who
       would rarely use the portal get one more often, as the playbook warns.
    4. Declines, with the reason and what was offered: patients who never
       enrolled, and some who enrolled weeks or months after saying no.
    Deterministic for a seed. demo_data calls it once, when it loads the
    practice; the declines are added once.
    """
    users = get_user_model().objects
    clerks = {u.username: u for u in users.filter(username__in=[c[0] for c in DESK_CLERKS])}
    if "frontdesk" not in clerks:
        return DeskHistory(0, 0)  # demo_data makes the staff; without them nobody works the desk
    rng = random.Random(seed + DESK_SEED_OFFSET)
    today = timezone.localdate()
    since = local_midnight(month_starts(12)[0])
    with transaction.atomic():
        incentives = _demo_incentives()
        enrolled = _desk_enrollments(rng, signups, clerks, incentives)
        declined = _desk_declines(rng, since, today, clerks)
    return DeskHistory(enrolled, declined)


def _demo_incentives() -> list[Incentive]:
    found = {
        i.name: i for i in Incentive.objects.filter(name__in=[n for _k, n, _v in DEMO_INCENTIVES])
    }
    return [
        found.get(name) or incentive_create(kind=kind, name=name, value=value)
        for kind, name, value in DEMO_INCENTIVES
    ]


def _pick_clerk(rng: random.Random, clerks: dict) -> tuple:
    present = [c for c in DESK_CLERKS if c[0] in clerks]
    username, _share, median = rng.choices(present, weights=[c[1] for c in present])[0]
    return clerks[username], median


def _desk_enrollments(rng: random.Random, signups, clerks: dict, incentives: list) -> int:
    patients = Patient.objects.in_bulk(
        [s.patient_external_id for s in signups], field_name="external_id"
    )
    logins = dict(
        ActivityEvent.objects.filter(patient__in=list(patients.values()), type=EventType.LOGIN)
        .values("patient_id")
        .annotate(n=Count("pk"))
        .values_list("patient_id", "n")
    )
    for signup in signups:
        patient = patients[signup.patient_external_id]
        clerk, median = _pick_clerk(rng, clerks)
        # Rare users (a few logins all year) are the ones an incentive talks into it.
        rare = logins.get(patient.pk, 0) <= 3
        p_incentive = P_INCENTIVE_RARE_USER if rare else P_INCENTIVE
        incentive = rng.choice(incentives) if rng.random() < p_incentive else None
        _replay_checklist(rng, patient, signup, clerk, median, incentive)
    return len(signups)


def _replay_checklist(rng, patient, signup: DeskSignup, clerk, median: int, incentive) -> None:
    """One checklist, timed so that step 3 (the first login) is the generated moment."""
    at = signup.at
    # Seconds from the first tick to completion: around the clerk's pace, some over two minutes.
    total = max(55, round(rng.lognormvariate(math.log(median), 0.28)))
    start = at - timedelta(seconds=round(total * 0.3))
    ticks = sorted(rng.sample(range(1, total), 8))
    times = [start] + [start + timedelta(seconds=s) for s in ticks[1:]]
    times[2] = at  # step 3: the first login, seen at the desk
    times = [max(t, times[i - 1] + timedelta(seconds=1)) if i else t for i, t in enumerate(times)]
    finish = max(start + timedelta(seconds=total), times[-1] + timedelta(seconds=5))
    enrollment = enrollment_open(patient=patient, by=clerk, now=start)
    if patient.email or patient.mobile_phone:
        details = ContactDetails(
            patient.email,
            patient.mobile_phone,
            NotificationChannel.EMAIL if patient.email else NotificationChannel.SMS,
        )
        enrollment_collect_contact(enrollment=enrollment, details=details, by=clerk, now=times[0])
    else:
        enrollment_tick(enrollment=enrollment, step=Step.COLLECT_CONTACT, by=clerk, now=times[0])
    enrollment_tick(enrollment=enrollment, step=Step.SEND_INVITATION, by=clerk, now=times[1])
    enrollment_tick(enrollment=enrollment, step=Step.FIRST_LOGIN, by=clerk, now=times[2])
    feature = FeatureShown.MESSAGING if rng.random() < 0.6 else FeatureShown.SCHEDULING
    enrollment_set_feature(enrollment=enrollment, feature=feature, by=clerk, now=times[3])
    if signup.app_at_desk:
        enrollment_tick(enrollment=enrollment, step=Step.INSTALL_APP, by=clerk, now=times[4])
    else:
        reason = SkipReason.NO_SMARTPHONE if rng.random() < P_NO_SMARTPHONE else None
        reason = reason or rng.choice((SkipReason.IN_A_HURRY, SkipReason.DECLINED))
        enrollment_skip(
            enrollment=enrollment, step=Step.INSTALL_APP, reason=reason, by=clerk, now=times[4]
        )
    for step, when in ((Step.CONFIRM_ACCESS, times[5]), (Step.REFERENCE_CARD, times[6])):
        if rng.random() < P_STEP_SKIPPED:
            enrollment_skip(
                enrollment=enrollment, step=step, reason=SkipReason.IN_A_HURRY, by=clerk, now=when
            )
        else:
            enrollment_tick(enrollment=enrollment, step=step, by=clerk, now=when)
    if incentive is not None:
        enrollment_set_incentive(enrollment=enrollment, incentive=incentive)
    enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=clerk, now=times[7])
    enrollment_complete(enrollment=enrollment, by=clerk, now=finish)


def _desk_declines(rng: random.Random, since, today: date, clerks: dict) -> int:
    """Patients who said no at the desk: most never enrolled, some did later."""
    demo = Patient.objects.filter(external_id__startswith="DEMO-", deactivated_on__isnull=True)
    # The scripts' declines (demo_script_outcomes) come with a conversation; these do not.
    if Decline.objects.filter(recorded_at__gte=since, conversation__isnull=True).exists():
        return 0
    activated = dict(
        ActivityEvent.objects.filter(patient__in=demo, type=EventType.PORTAL_ACTIVATED)
        .values("patient_id")
        .annotate(first=Min("occurred_at"))
        .values_list("patient_id", "first")
    )
    patients = list(demo.order_by("pk"))
    wanted = min(MAX_DECLINES, len(patients) * DECLINES_PER_100_PATIENTS // 100)
    later = [
        p for p in patients if p.pk in activated and activated[p.pk] > since + timedelta(days=30)
    ]
    never = [p for p in patients if p.pk not in activated and p.registered_on < today]
    chosen = rng.sample(later, min(len(later), round(wanted * SHARE_ENROLLED_LATER)))
    chosen += rng.sample(never, min(len(never), wanted - len(chosen)))
    reasons, weights = zip(*DECLINE_REASONS, strict=True)
    end = local_midnight(today)
    for patient in chosen:
        latest = activated[patient.pk] - timedelta(days=14) if patient.pk in activated else end
        earliest = max(since, local_midnight(patient.registered_on))
        if latest <= earliest:
            continue
        day = earliest + (latest - earliest) * rng.random()
        day = timezone.localtime(day).date()
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        at = local_midnight(day) + timedelta(minutes=rng.randrange(8 * 60, 17 * 60))
        if at < earliest:
            continue
        reason = rng.choices(reasons, weights=weights)[0]
        clerk, _median = _pick_clerk(rng, clerks)
        decline_record(
            patient=patient,
            reason=reason,
            remedies=_remedies(rng, reason, patient),
            by=clerk,
            reason_text=rng.choice(OTHER_REASONS) if reason == DeclineReason.OTHER else "",
            benefit_explained=rng.choice(BENEFITS) if reason == DeclineReason.NO_BENEFIT else "",
            now=at,
        )
    return len(chosen)


def _remedies(rng: random.Random, reason: str, patient: Patient) -> list[str]:
    accepted = rng.random() < 0.6
    if not accepted:
        return []
    if reason == DeclineReason.NO_EMAIL:
        return [Remedy.SMS_SWITCH] if patient.mobile_phone else []
    if reason == DeclineReason.NOT_COMFORTABLE:
        return [Remedy.ONE_TO_ONE_HELP]
    if reason == DeclineReason.PRIVACY:
        return [Remedy.PRIVACY_HANDOUT]
    if reason == DeclineReason.NO_BENEFIT:
        return [Remedy.BENEFIT_EXPLAINED]
    return []
