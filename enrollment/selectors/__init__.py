"""Reads for the front desk: where a patient stands, who to follow up, who gets credit."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerChoices,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.ehr_note import ehr_note_ready, ehr_note_text
from enrollment.models import (
    PHONE_SCRIPTS,
    CallOutcome,
    ConversationOutcome,
    Decline,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    FollowUpCall,
    PortalConversation,
    Script,
    ScriptKey,
    Step,
    TechHelpSession,
    desk_skip_choices,
)
from enrollment.playbook import (
    SHIPPED_LANGUAGES,
    decline_suggestion,
    playbook_wording,
    script_language,
)
from patients.models import ActivityEvent, EventType, Patient
from patients.selectors import event_time_in_window, with_latest_offer
from portal_adoption.dates import previous_month

FOLLOW_UP_AFTER = timedelta(days=7)


class PortalState:
    NEVER_OFFERED = "never_offered"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    INVITED = "invited"
    ENROLLED = "enrolled"


@dataclass(frozen=True)
class PortalStatus:
    """Where a patient stands with the portal: one answer, used on every screen."""

    state: str
    invited_at: datetime | None = None
    invited_channel: str = ""
    enrolled_at: datetime | None = None
    enrolled_channel: str = ""
    app_installed: bool = False
    last_login_at: datetime | None = None
    decline: Decline | None = None
    decline_suggestion: str = ""
    enrollment_in_progress: Enrollment | None = None
    # Events stored with a time outside the event window: left out of the status.
    events_out_of_range: int = 0

    @property
    def days_since_login(self) -> int | None:
        if self.last_login_at is None:
            return None
        return (timezone.now() - self.last_login_at).days


def portal_status(patient: Patient) -> PortalStatus:
    return portal_statuses([patient])[patient.pk]


def portal_statuses(patients: list[Patient]) -> dict[int, PortalStatus]:
    """The status of each patient, from the event log and the desk's records.

    1. Enrolled means a portal_activated event (activity-feed.md); invited, a
       portal_invited event without one.
    2. An enrollment being worked at the desk shows as in progress.
    3. Otherwise the latest decline, if any, with its suggested approach.
    """
    ids = [p.pk for p in patients]
    firsts = _first_events(ids)
    in_progress = {
        e.patient_id: e
        for e in Enrollment.objects.filter(patient_id__in=ids, status=EnrollmentStatus.IN_PROGRESS)
    }
    declines = _latest_declines(ids)
    out_of_range = _events_out_of_range(ids)
    return {
        pk: _status_of(
            firsts.get(pk, {}), in_progress.get(pk), declines.get(pk), out_of_range.get(pk, 0)
        )
        for pk in ids
    }


def _events_out_of_range(ids: list[int]) -> dict[int, int]:
    rows = (
        ActivityEvent.objects.filter(patient_id__in=ids)
        .exclude(event_time_in_window())
        .values("patient_id")
        .annotate(count=Count("id"))
    )
    return {row["patient_id"]: row["count"] for row in rows}


def _first_events(ids: list[int]) -> dict[int, dict]:
    # Only events with a readable, sane time: one stored in year 0001 or 9999
    # would be the first or the last, and cannot even be read.
    events = ActivityEvent.objects.filter(event_time_in_window(), patient_id__in=ids)
    wanted = [EventType.PORTAL_INVITED, EventType.PORTAL_ACTIVATED, EventType.APP_INSTALLED]
    rows = (
        events.filter(type__in=wanted)
        .values("patient_id", "type")
        .annotate(first=Min("occurred_at"))
    )
    found: dict[int, dict] = {}
    for row in rows:
        found.setdefault(row["patient_id"], {})[row["type"]] = row["first"]
    logins = (
        events.filter(type=EventType.LOGIN).values("patient_id").annotate(last=Max("occurred_at"))
    )
    for row in logins:
        found.setdefault(row["patient_id"], {})["last_login"] = row["last"]
    _add_channels(found)
    return found


def _add_channels(found: dict[int, dict]) -> None:
    """The channel of each patient's first invitation and activation."""
    for kind in (EventType.PORTAL_INVITED, EventType.PORTAL_ACTIVATED):
        moments = {pk: f[kind] for pk, f in found.items() if kind in f}
        if not moments:
            continue
        rows = ActivityEvent.objects.filter(
            event_time_in_window(), patient_id__in=list(moments), type=kind
        ).values_list("patient_id", "occurred_at", "channel")
        for pk, at, channel in rows:
            if at == moments[pk]:
                found[pk][f"{kind}_channel"] = channel


def _latest_declines(ids: list[int]) -> dict[int, Decline]:
    latest: dict[int, Decline] = {}
    for decline in Decline.objects.filter(patient_id__in=ids).order_by("recorded_at", "id"):
        latest[decline.patient_id] = decline
    return latest


def _status_of(
    firsts: dict, in_progress: Enrollment | None, decline: Decline | None, out_of_range: int = 0
):
    common = {
        "invited_at": firsts.get(EventType.PORTAL_INVITED),
        "invited_channel": firsts.get(f"{EventType.PORTAL_INVITED}_channel", ""),
        "enrolled_at": firsts.get(EventType.PORTAL_ACTIVATED),
        "enrolled_channel": firsts.get(f"{EventType.PORTAL_ACTIVATED}_channel", ""),
        "app_installed": EventType.APP_INSTALLED in firsts,
        "last_login_at": firsts.get("last_login"),
        "decline": decline,
        "decline_suggestion": decline_suggestion(decline.reason) if decline else "",
        "enrollment_in_progress": in_progress,
        "events_out_of_range": out_of_range,
    }
    if common["enrolled_at"]:
        state = PortalState.ENROLLED
    elif in_progress:
        state = PortalState.IN_PROGRESS
    elif decline and (not common["invited_at"] or decline.recorded_at > common["invited_at"]):
        state = PortalState.DECLINED
    elif common["invited_at"]:
        state = PortalState.INVITED
    else:
        state = PortalState.NEVER_OFFERED
    return PortalStatus(state=state, **common)


def enrollment_ticks(enrollment: Enrollment) -> dict[str, EnrollmentStep]:
    """step -> its EnrollmentStep, for the answered ones (done or skipped)."""
    return {tick.step: tick for tick in enrollment.steps.select_related("ticked_by")}


def enrollment_checklist(enrollment: Enrollment) -> list[dict]:
    ticks = enrollment_ticks(enrollment)
    return [
        {
            "step": value,
            "label": label,
            "number": n,
            "tick": ticks.get(value),
            "skip_choices": desk_skip_choices(value),
        }
        for n, (value, label) in enumerate(Step.choices, start=1)
    ]


def enrollment_note_to_paste(enrollment: Enrollment, by) -> str:
    """The EHR note step 8 asks the clerk to paste: "" until steps 1 to 7 are answered.

    Once step 8 is done, the note stored with it (the one that was pasted).
    """
    ticks = enrollment_ticks(enrollment)
    pasted = ticks.get(Step.RECORD_IN_EHR)
    if pasted is not None and pasted.done:
        return enrollment.ehr_note
    if not ehr_note_ready(ticks):
        return ""
    return ehr_note_text(enrollment, ticks, by, on=timezone.localdate())


def benefit_for(patient: Patient) -> str:
    """The benefit most likely to matter to this patient, from what they do by phone."""
    counts = dict(
        ActivityEvent.objects.filter(
            patient=patient,
            type__in=[
                EventType.RESULT_RELEASED,
                EventType.APPOINTMENT_BOOKED,
                EventType.PHONE_CALL,
            ],
        )
        .values_list("type")
        .annotate(n=Count("id"))
    )
    if counts.get(EventType.RESULT_RELEASED):
        return "results"
    if counts.get(EventType.APPOINTMENT_BOOKED, 0) >= counts.get(EventType.PHONE_CALL, 0):
        return "booking"
    return "messages"


class FollowUpKind:
    NO_LOGIN = "no_login"
    ASKED_BY_PHONE = "asked_by_phone"


FOLLOW_UP_RECENT = timedelta(days=30)
# Calls that left the patient to call again; the other outcomes settled something.
CALL_AGAIN = [CallOutcome.VOICEMAIL, CallOutcome.NO_ANSWER]


class FollowUpPriority(IntegerChoices):
    """The follow-up list's groups, in the order the desk works them (the page says so).

    An invitation is most likely to turn into a login in its first weeks,
    and a patient who asked for one is the warmest of all; an invitation
    months old, or a patient already reached, comes after everyone else.
    """

    ASKED = 0, _("Asked for an invitation by phone")
    DUE = 1, _("Invited in the last 30 days, not called yet")
    CALL_AGAIN = 2, _("Called, not reached: call again")
    OLDER = 3, _("Invited more than 30 days ago")
    SETTLED = 4, _("Reached already, or said no")


def follow_up_list(*, today: date | None = None) -> QuerySet[Patient]:
    """Who the front desk follows up, each with its `follow_up_kind`.

    - "asked_by_phone": the patient asked for an invitation on the phone
      (a phone script's "wants an invitation", latest at `asked_at`) and no
      invitation or activation has arrived since. Listed at once, first.
    - "no_login": invited or enrolled at least 7 days ago and not logged in
      since (`offered_at`, the latest invitation or activation). A patient
      drops off as soon as a login arrives after it.

    In the order to work them (`follow_up_priority`, FollowUpPriority), the
    newest first within each group: a list sorted by age alone put
    year-old invitations on top of last week's.
    """
    now = timezone.now()
    if today is not None:
        now = timezone.make_aware(datetime.combine(today, datetime.max.time()))
    cutoff = now - FOLLOW_UP_AFTER
    recent = now - FOLLOW_UP_RECENT
    wants_invitation = PortalConversation.objects.filter(
        outcome=ConversationOutcome.WANTS_INVITATION
    )
    asked = wants_invitation.filter(patient=OuterRef("pk")).order_by("-at")
    no_login = Q(offered_at__isnull=False, offered_at__lte=cutoff, logged_in_since=False)
    # The few who asked by phone first (a hashed IN), so that their latest request
    # is looked up for them only, not for every patient on the roster.
    asked_open = Q(pk__in=wants_invitation.values("patient")) & (
        Q(offered_at__isnull=True) | Q(offered_at__lt=Subquery(asked.values("at")[:1]))
    )
    last_call = FollowUpCall.objects.filter(patient=OuterRef("pk")).order_by("-called_at")
    return (
        with_latest_offer(Patient.objects.filter(deactivated_on__isnull=True))
        .filter(no_login | asked_open)
        .annotate(
            asked_at=Subquery(asked.values("at")[:1]),
            follow_up_kind=Case(
                When(asked_open, then=Value(FollowUpKind.ASKED_BY_PHONE)),
                default=Value(FollowUpKind.NO_LOGIN),
            ),
            last_call_at=Subquery(last_call.values("called_at")[:1]),
            last_call_outcome=Subquery(last_call.values("outcome")[:1]),
        )
        .annotate(
            follow_up_priority=Case(
                When(asked_open, then=Value(FollowUpPriority.ASKED)),
                When(
                    Q(last_call_outcome__isnull=False) & ~Q(last_call_outcome__in=CALL_AGAIN),
                    then=Value(FollowUpPriority.SETTLED),
                ),
                When(offered_at__lt=recent, then=Value(FollowUpPriority.OLDER)),
                When(last_call_outcome__isnull=True, then=Value(FollowUpPriority.DUE)),
                default=Value(FollowUpPriority.CALL_AGAIN),
            ),
        )
        .select_related("location")
        .order_by(
            "follow_up_priority",
            F("asked_at").desc(nulls_last=True),
            F("offered_at").desc(),
            "pk",
        )
    )


def follow_up_page(number, *, per_page: int) -> Page:
    """One page of the follow-up list, its patients annotated as follow_up_list() does.

    The list's order needs every candidate's latest invitation, login and
    call: Paginator's COUNT and then its OFFSET page would compute them all
    twice. Instead one query reads the order (ids only), and a second one
    annotates only the page's patients. A patient who logged in between the
    two drops off this page, as they would on the next.
    """
    page = Paginator(list(follow_up_list().values_list("pk", flat=True)), per_page).get_page(number)
    shown = {patient.pk: patient for patient in follow_up_list().filter(pk__in=page.object_list)}
    page.object_list = [shown[pk] for pk in page.object_list if pk in shown]
    return page


@dataclass(frozen=True)
class StaffCredit:
    name: str
    this_month: int
    last_month: int


def staff_credit(*, now: datetime | None = None) -> list[StaffCredit]:
    """Enrollments completed per member of staff, this month and last (practice time)."""
    local = timezone.localtime(now or timezone.now())
    this_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_start = previous_month(this_start)
    rows = (
        Enrollment.objects.filter(status=EnrollmentStatus.COMPLETED, completed_at__gte=last_start)
        .values("completed_by__username", "completed_by__first_name", "completed_by__last_name")
        .annotate(
            this_month=Count("id", filter=Q(completed_at__gte=this_start)),
            last_month=Count("id", filter=Q(completed_at__lt=this_start)),
        )
        .order_by("-this_month", "-last_month", "completed_by__username")
    )
    return [
        StaffCredit(
            name=" ".join(
                filter(None, [row["completed_by__first_name"], row["completed_by__last_name"]])
            )
            or row["completed_by__username"],
            this_month=row["this_month"],
            last_month=row["last_month"],
        )
        for row in rows
    ]


def tech_help_sessions_upcoming() -> QuerySet[TechHelpSession]:
    return (
        TechHelpSession.objects.filter(starts_at__gte=timezone.now())
        .annotate(booked=Count("bookings"))
        .select_related("location")
        .order_by("starts_at")
    )


# --- Scripts and the conversations they lead to -------------------------------------


@dataclass(frozen=True)
class ShownScript:
    """A script as shown: its words, the language they are in, and the other one on offer."""

    key: str
    language: str
    text: str
    preferred_language: str
    other_languages: tuple[str, ...]

    @property
    def label(self) -> str:
        return ScriptKey(self.key).label


def script_for(key: str, preferred_language: str, language: str = "") -> ShownScript:
    """The practice's wording of a script, in the patient's language or the one asked for.

    The patient's preferred language decides (English when it is not shipped),
    unless staff asked for another shipped language. A wording the practice
    never changed is the playbook's, read from the catalogues (so a better
    translation shows without a migration).
    """
    key = ScriptKey(key)
    preferred = script_language(preferred_language)
    shown = language if language in SHIPPED_LANGUAGES else preferred
    stored = (
        Script.objects.filter(key=key, language=shown, updated_at__isnull=False)
        .values_list("text", flat=True)
        .first()
    )
    return ShownScript(
        key=key,
        language=shown,
        text=stored or playbook_wording(key, shown),
        preferred_language=preferred,
        other_languages=tuple(code for code in SHIPPED_LANGUAGES if code != shown),
    )


def scripts_for_editing() -> list[Script]:
    """Every script in every shipped language, in the playbook's order.

    A script nobody changed shows the playbook's wording from the catalogues.
    """
    order = {key: n for n, key in enumerate(ScriptKey.values)}
    languages = {code: n for n, code in enumerate(SHIPPED_LANGUAGES)}
    rows = list(Script.objects.select_related("updated_by"))
    for row in rows:
        if row.updated_at is None and row.key in ScriptKey.values:
            row.text = playbook_wording(row.key, row.language)
    return sorted(rows, key=lambda row: (order.get(row.key, 99), languages.get(row.language, 99)))


def script_is_playbook_wording(script: Script) -> bool:
    if script.key not in ScriptKey.values:
        return False
    return script.updated_at is None or playbook_wording(script.key, script.language) == script.text


def conversations_of(patient: Patient, *, limit: int = 5) -> list[PortalConversation]:
    return list(
        PortalConversation.objects.filter(patient=patient)
        .select_related("staff", "decline")
        .order_by("-at", "-id")[:limit]
    )


def phone_script_conversions_by_staff(first_day: date, last_day: date) -> dict[int, int]:
    """Phone-script conversions per member of staff: user id -> count.

    A conversion is one PortalConversation from a phone script (calling to
    book, calling for results) whose outcome is "wants an invitation",
    recorded from the start of `first_day` to the end of `last_day` in the
    practice's time zone (both days included). Each use counts: a patient
    who asked twice counts twice. Staff with no conversion are left out.
    """
    zone = timezone.get_default_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    rows = (
        PortalConversation.objects.filter(
            script__in=list(PHONE_SCRIPTS),
            outcome=ConversationOutcome.WANTS_INVITATION,
            at__gte=start,
            at__lt=end,
        )
        .values("staff_id")
        .annotate(count=Count("id"))
        .order_by("staff_id")
    )
    return {row["staff_id"]: row["count"] for row in rows}
