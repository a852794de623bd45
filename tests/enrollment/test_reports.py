"""Maria's enrollment reports: who enrolls, why patients say no, and whether incentives last."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from enrollment.models import (
    Decline,
    DeclineReason,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    Incentive,
    IncentiveKind,
    QrInvitation,
    Remedy,
    SkipReason,
    Step,
)
from enrollment.selectors.reports import decline_reasons, enrollments_by_staff, incentive_cohorts
from enrollment.services import (
    decline_record,
    enrollment_complete,
    enrollment_open,
    enrollment_set_incentive,
    enrollment_tick,
)
from patients.models import EventType
from portal_adoption.models import AccessLogEntry
from portal_adoption.roles import Role
from tests.enrollment.test_checklist import answer_the_rest
from tests.factories import ActivityEventFactory, PatientFactory
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
REPORTS = ["enrollment:report_staff", "enrollment:report_declines", "enrollment:report_incentives"]


def local(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


def completed(clerk, when, *, seconds=None, incentive=None, patient=None, status=None):
    return Enrollment.objects.create(
        patient=patient or PatientFactory(),
        started_by=clerk,
        status=status or EnrollmentStatus.COMPLETED,
        completed_by=clerk if status is None else None,
        completed_at=when if status is None else None,
        duration_seconds=seconds,
        incentive=incentive,
    )


def login(patient, when):
    return ActivityEventFactory(patient=patient, type=EventType.LOGIN, occurred_at=when)


def activated(patient, when):
    return ActivityEventFactory(patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=when)


# --- Enrollments per member of staff ------------------------------------------------


@pytest.fixture
def staff_enrollments(front_desk_clerk, manager):
    fatima, maria = front_desk_clerk, manager
    completed(fatima, local(2026, 1, 10, 9, 0), seconds=100)
    completed(fatima, local(2026, 2, 2, 9, 0), seconds=150)
    completed(fatima, local(2026, 3, 1, 0, 30), seconds=90)
    completed(fatima, local(2026, 3, 14, 16, 0), seconds=200)
    # 23:30 on the last day of February in New York is already March in UTC.
    completed(maria, local(2026, 2, 28, 23, 30), seconds=60)
    completed(maria, local(2026, 2, 10, 11, 0), seconds=None)
    # Not counted: before the first month (local), after now, never completed.
    completed(fatima, local(2025, 12, 31, 23, 30), seconds=30)
    completed(fatima, local(2026, 3, 16, 9, 0), seconds=30)
    completed(fatima, None, status=EnrollmentStatus.IN_PROGRESS)
    completed(maria, None, status=EnrollmentStatus.ABANDONED)
    return fatima, maria


def test_enrollments_per_member_of_staff_per_local_month(staff_enrollments):
    report = enrollments_by_staff(months=3, now=local(2026, 3, 15, 12, 0))
    assert report.months == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    fatima, maria = report.rows
    assert fatima.name == staff_enrollments[0].get_full_name()
    assert (fatima.counts, fatima.total) == ([1, 1, 2], 4)
    assert maria.name == staff_enrollments[1].get_full_name()
    assert (maria.counts, maria.total) == ([0, 2, 0], 2)
    assert report.everyone.counts == [1, 3, 2]
    assert report.everyone.total == 6


def test_median_time_and_share_under_two_minutes_per_person(staff_enrollments):
    report = enrollments_by_staff(months=3, now=local(2026, 3, 15, 12, 0))
    fatima, maria = report.rows
    # Fatima: 90, 100, 150, 200 seconds; two of four under 120.
    assert fatima.median_seconds == 125
    assert fatima.median_clock == "2:05"
    assert (fatima.under_target, fatima.timed, fatima.under_target_percent) == (2, 4, 50)
    # Maria: one timed enrollment of 60 s; the untimed one is left out of both figures.
    assert (maria.median_seconds, maria.median_clock) == (60, "1:00")
    assert (maria.under_target, maria.timed, maria.under_target_percent) == (1, 1, 100)
    # Everyone: 60, 90, 100, 150, 200.
    assert report.everyone.median_seconds == 100
    assert (report.everyone.under_target, report.everyone.timed) == (3, 5)


def test_six_months_by_default_and_nothing_is_no_data(db):
    report = enrollments_by_staff(now=local(2026, 3, 15, 12, 0))
    assert report.months[0] == dt.date(2025, 10, 1)
    assert len(report.months) == 6
    assert report.rows == []
    assert report.everyone.median_seconds is None
    assert report.everyone.under_target_percent is None


def test_an_enrollment_completed_at_the_desk_is_credited_and_timed(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    for step in (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.FIRST_LOGIN):
        enrollment_tick(enrollment=enrollment, step=step, by=front_desk_clerk)
    answer_the_rest(enrollment, front_desk_clerk)
    enrollment_complete(enrollment=enrollment, by=front_desk_clerk)
    (row,) = enrollments_by_staff(months=1).rows
    assert row.name == front_desk_clerk.get_full_name()
    assert (row.counts, row.timed, row.under_target) == ([1], 1, 1)


# --- How the checklist is used ------------------------------------------------------


def answered(enrollment, clerk, step, reason="", note=""):
    return EnrollmentStep.objects.create(
        enrollment=enrollment, step=step, ticked_by=clerk, skip_reason=reason, skip_note=note
    )


def test_the_staff_report_shows_each_step_done_skipped_and_why(front_desk_clerk):
    """Three enrollments completed this month, one last year (outside), one still open."""
    clerk = front_desk_clerk
    now = local(2026, 3, 15, 12, 0)
    whole = completed(clerk, local(2026, 3, 2, 9, 0), seconds=100)
    hurried = completed(clerk, local(2026, 3, 3, 9, 0), seconds=80)
    # Completed before every step needed an answer: steps 1 to 3 only.
    older = completed(clerk, local(2026, 2, 3, 9, 0), seconds=80)
    outside = completed(clerk, local(2025, 1, 3, 9, 0), seconds=80)
    still_open = completed(clerk, None, status=EnrollmentStatus.IN_PROGRESS)
    for step in Step:
        answered(whole, clerk, step)
    for step in (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.SHOW_FEATURE):
        answered(hurried, clerk, step)
    answered(hurried, clerk, Step.FIRST_LOGIN, SkipReason.ON_OWN_PHONE)
    answered(hurried, clerk, Step.INSTALL_APP, SkipReason.NO_SMARTPHONE)
    answered(hurried, clerk, Step.CONFIRM_ACCESS, SkipReason.IN_A_HURRY)
    answered(hurried, clerk, Step.REFERENCE_CARD, SkipReason.IN_A_HURRY)
    answered(hurried, clerk, Step.RECORD_IN_EHR, SkipReason.OTHER, "EHR down")
    answered(hurried, clerk, Step.SET_FOLLOW_UP)
    for step in (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.FIRST_LOGIN):
        answered(older, clerk, step)
    for enrollment in (outside, still_open):
        answered(enrollment, clerk, Step.INSTALL_APP, SkipReason.DECLINED)

    steps = {row.step: row for row in enrollments_by_staff(months=3, now=now).steps}

    assert list(steps) == list(Step.values)
    figures = {step: (row.done, row.skipped, row.not_recorded) for step, row in steps.items()}
    assert figures == {
        Step.COLLECT_CONTACT: (3, 0, 0),
        Step.SEND_INVITATION: (3, 0, 0),
        Step.FIRST_LOGIN: (2, 1, 0),
        Step.SHOW_FEATURE: (2, 0, 1),
        Step.INSTALL_APP: (1, 1, 1),
        Step.CONFIRM_ACCESS: (1, 1, 1),
        Step.REFERENCE_CARD: (1, 1, 1),
        Step.RECORD_IN_EHR: (1, 1, 1),
        Step.SET_FOLLOW_UP: (2, 0, 1),
    }
    assert steps[Step.INSTALL_APP].reasons == [("Patient has no smartphone", 1)]
    assert steps[Step.FIRST_LOGIN].reasons == [("Left to the patient's own phone (QR code)", 1)]
    assert steps[Step.RECORD_IN_EHR].reasons == [("Other reason", 1)]
    assert round(steps[Step.INSTALL_APP].done_percent) == 33


def test_the_staff_page_shows_how_often_each_step_was_skipped_and_why(
    client, manager, front_desk_clerk
):
    enrollment = completed(front_desk_clerk, timezone.now() - dt.timedelta(minutes=5), seconds=95)
    answered(enrollment, front_desk_clerk, Step.INSTALL_APP, SkipReason.NO_SMARTPHONE)
    client.force_login(manager)

    html = client.get(reverse("enrollment:report_staff")).content.decode()

    row = html.split('id="step-use-install_app"')[1].split("</tr>")[0]
    assert "5. Help install the mobile app" in row
    assert "Patient has no smartphone: 1" in row
    assert "How the checklist is used" in html


# --- QR self-enrollment: 90 seconds from the code shown to consent -------------------


def qr_shown(enrollment, clerk, shown, seconds_to_consent=None):
    return QrInvitation.objects.create(
        enrollment=enrollment,
        created_by=clerk,
        created_at=shown,
        expires_at=shown + dt.timedelta(minutes=15),
        used_at=None
        if seconds_to_consent is None
        else shown + dt.timedelta(seconds=seconds_to_consent),
    )


def test_qr_codes_median_time_to_consent_and_how_many_under_90_seconds(front_desk_clerk, manager):
    fatima, maria = front_desk_clerk, manager
    enrollment = completed(fatima, None, status=EnrollmentStatus.IN_PROGRESS)
    march = local(2026, 3, 10, 9, 0)
    for seconds in (60, 85, 90, 150):  # exactly 90 s is not under 90 s
        qr_shown(enrollment, fatima, march, seconds)
    qr_shown(enrollment, fatima, march)  # expired unused: shown, no time
    qr_shown(enrollment, maria, local(2026, 1, 1, 0, 30), 45)
    # Outside the three months (local time), and after now.
    qr_shown(enrollment, fatima, local(2025, 12, 31, 23, 30), 10)
    qr_shown(enrollment, fatima, local(2026, 3, 16, 9, 0), 10)

    qr = enrollments_by_staff(months=3, now=local(2026, 3, 15, 12, 0)).qr

    assert qr.target_seconds == 90
    fatima_row, maria_row = qr.rows
    assert (fatima_row.name, fatima_row.shown, fatima_row.consented) == (
        fatima.get_full_name(),
        5,
        4,
    )
    assert (fatima_row.median_seconds, fatima_row.median_clock) == (87.5, "1:28")
    assert (fatima_row.under_target, fatima_row.under_target_percent) == (2, 50)
    assert (maria_row.shown, maria_row.consented, maria_row.median_seconds) == (1, 1, 45)
    everyone = qr.everyone
    assert (everyone.shown, everyone.consented, everyone.under_target) == (6, 5, 3)
    assert everyone.median_seconds == 85


def test_the_staff_page_shows_the_qr_median_and_the_count_under_90_seconds(
    client, manager, front_desk_clerk
):
    enrollment = completed(front_desk_clerk, None, status=EnrollmentStatus.IN_PROGRESS)
    shown = timezone.now() - dt.timedelta(hours=1)
    qr_shown(enrollment, front_desk_clerk, shown, 70)
    qr_shown(enrollment, front_desk_clerk, shown, 130)
    client.force_login(manager)

    html = client.get(reverse("enrollment:report_staff")).content.decode()

    table = html.split('id="qr-times"')[1].split("</table>")[0]
    assert front_desk_clerk.get_full_name() in table
    assert "1:40" in table  # the median of 70 and 130 seconds
    assert "1/2" in table and "(50%)" in table
    assert "Under 90 seconds" in table


# --- Decline reasons ----------------------------------------------------------------


def declined(patient, reason, when, by):
    decline = decline_record(
        patient=patient,
        reason=reason,
        remedies=[Remedy.NONE],
        by=by,
        reason_text="Too busy" if reason == DeclineReason.OTHER else "",
    )
    Decline.objects.filter(pk=decline.pk).update(recorded_at=when)


@pytest.fixture
def declines(front_desk_clerk):
    clerk = front_desk_clerk
    p1, p2, p3, p4, p5, p6 = (PatientFactory() for _ in range(6))
    declined(p1, DeclineReason.NO_EMAIL, local(2026, 1, 5, 10, 0), clerk)
    activated(p1, local(2026, 1, 20, 10, 0))
    declined(p2, DeclineReason.NO_EMAIL, local(2026, 1, 1, 0, 30), clerk)
    declined(p2, DeclineReason.NO_EMAIL, local(2026, 2, 6, 10, 0), clerk)
    declined(p3, DeclineReason.PRIVACY, local(2026, 1, 10, 10, 0), clerk)
    activated(p3, local(2026, 1, 1, 10, 0))  # before the decline: not "later"
    declined(p4, DeclineReason.PRIVACY, local(2026, 2, 1, 10, 0), clerk)
    declined(p4, DeclineReason.NO_BENEFIT, local(2026, 3, 1, 10, 0), clerk)
    activated(p4, local(2026, 3, 5, 10, 0))
    # Outside the period: the evening before (local) and after now.
    declined(p5, DeclineReason.NOT_COMFORTABLE, local(2025, 12, 31, 23, 30), clerk)
    activated(p5, local(2026, 1, 3, 10, 0))
    declined(p6, DeclineReason.OTHER, local(2026, 3, 16, 10, 0), clerk)


def test_decline_reasons_by_count_and_who_enrolled_later(declines):
    report = decline_reasons(dt.date(2026, 1, 1), now=local(2026, 3, 15, 12, 0))
    rows = [(r.reason, r.declines, r.patients, r.enrolled_later) for r in report.rows]
    assert rows == [
        (DeclineReason.NO_EMAIL, 3, 2, 1),
        (DeclineReason.PRIVACY, 2, 2, 1),
        (DeclineReason.NO_BENEFIT, 1, 1, 1),
    ]
    assert report.rows[0].enrolled_later_percent == 50
    assert str(report.rows[0].label) == str(DeclineReason.NO_EMAIL.label)
    total = report.total
    # Four patients, each once; two of them (p1, p4) activated after a decline.
    assert (total.declines, total.patients, total.enrolled_later) == (6, 4, 2)


def test_no_declines_is_an_empty_report(db):
    report = decline_reasons(dt.date(2026, 1, 1))
    assert report.rows == []
    assert report.total.enrolled_later_percent is None


# --- Incentive cohorts --------------------------------------------------------------


@pytest.fixture
def cohorts(front_desk_clerk):
    clerk = front_desk_clerk
    copay = Incentive.objects.create(kind=IncentiveKind.COPAY_DISCOUNT, name="$5 off", value=5)
    gift = Incentive.objects.create(kind=IncentiveKind.GIFT_CARD, name="Gift card", value=10)
    Incentive.objects.create(kind=IncentiveKind.MONTHLY_DRAW, name="Draw")

    def enrolled(when, incentive=None):
        return completed(clerk, when, seconds=100, incentive=incentive).patient

    # E1 copay: a login in the first 30 days, and one on day 69.
    e1 = enrolled(local(2026, 1, 10, 10, 0), copay)
    login(e1, local(2026, 1, 25, 10, 0))
    login(e1, local(2026, 3, 20, 10, 0))
    # E2 copay: only the first login helped at the desk, a minute before completion,
    # and one a second after day 30.
    at = local(2026, 2, 1, 10, 0)
    e2 = enrolled(at, copay)
    login(e2, at - dt.timedelta(minutes=1))
    login(e2, at.astimezone(UTC) + dt.timedelta(days=30, seconds=1))
    # E3 gift card: a login exactly on day 30 (30 x 24 h, across the DST change)
    # and on day 45, which is in neither window.
    at = local(2026, 3, 1, 10, 0)
    e3 = enrolled(at, gift)
    login(e3, at.astimezone(UTC) + dt.timedelta(days=30))
    login(e3, local(2026, 4, 15, 10, 0))
    # E4 gift card: active at 30 days; day 90 not reached by now.
    e4 = enrolled(local(2026, 5, 1, 10, 0), gift)
    login(e4, local(2026, 5, 5, 10, 0))
    # E5 without: no login until day 85.
    e5 = enrolled(local(2026, 1, 15, 10, 0))
    login(e5, local(2026, 4, 10, 10, 0))
    # E6 without: too recent for either figure.
    e6 = enrolled(local(2026, 6, 1, 10, 0))
    login(e6, local(2026, 6, 2, 10, 0))
    # E7 without: active the next day, then never again.
    e7 = enrolled(local(2026, 2, 10, 10, 0))
    login(e7, local(2026, 2, 11, 10, 0))
    # Not in the period: the evening before (local), still in progress, someone else's login.
    late = enrolled(local(2025, 12, 31, 23, 30), copay)
    login(late, local(2026, 1, 2, 10, 0))
    completed(clerk, None, incentive=copay, status=EnrollmentStatus.IN_PROGRESS)
    login(PatientFactory(), local(2026, 2, 5, 10, 0))


def cohort_figures(row):
    return (row.enrolled, row.due_30, row.active_30, row.due_90, row.active_90)


def test_incentive_cohorts_active_at_30_and_90_days(cohorts):
    report = incentive_cohorts(dt.date(2026, 1, 1), now=local(2026, 6, 15, 12, 0))
    by_kind = {row.key: cohort_figures(row) for row in report.by_kind}
    assert by_kind == {
        IncentiveKind.COPAY_DISCOUNT: (2, 2, 1, 2, 1),
        IncentiveKind.GIFT_CARD: (2, 2, 2, 1, 0),
    }
    assert cohort_figures(report.incentivised) == (4, 4, 3, 3, 1)
    assert cohort_figures(report.others) == (3, 2, 1, 2, 1)
    assert report.incentivised.active_30_percent == 75
    assert report.others.active_90_percent == 50


def test_a_cohort_too_young_to_judge_is_no_data(cohorts):
    report = incentive_cohorts(dt.date(2026, 6, 1), now=local(2026, 6, 15, 12, 0))
    assert report.by_kind == []
    assert cohort_figures(report.others) == (1, 0, 0, 0, 0)
    assert report.others.active_30_percent is None
    assert report.others.active_90_percent is None


def test_the_incentive_recorded_on_the_checklist_counts(front_desk_clerk, patient):
    gift = Incentive.objects.create(kind=IncentiveKind.GIFT_CARD, name="Gift card", value=10)
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    enrollment_set_incentive(enrollment=enrollment, incentive=gift)
    for step in (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.FIRST_LOGIN):
        enrollment_tick(enrollment=enrollment, step=step, by=front_desk_clerk)
    answer_the_rest(enrollment, front_desk_clerk)
    enrollment_complete(enrollment=enrollment, by=front_desk_clerk)
    report = incentive_cohorts(timezone.localdate())
    assert [(row.key, row.enrolled, row.due_30) for row in report.by_kind] == [
        (IncentiveKind.GIFT_CARD, 1, 0)
    ]


# --- The pages ------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_only_managers_and_administrators_see_the_reports(client, personas, name):
    for role, user in personas.items():
        client.force_login(user)
        response = client.get(reverse(name))
        expected = 200 if role in {Role.MANAGER, Role.ADMINISTRATOR} else 403
        assert response.status_code == expected, (role, name)


@pytest.mark.parametrize("name", REPORTS)
def test_an_empty_report_says_what_to_do_and_is_safe_under_the_csp(client, manager, name):
    client.force_login(manager)
    html = client.get(reverse(name)).content.decode()
    assert 'class="empty-state"' in html
    assert "/static/css/reports.css" in html
    assert "data-print-page" in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert not EVENT_HANDLER.search(html)


def test_the_staff_page_shows_each_clerk_by_month(client, manager, front_desk_clerk):
    now = timezone.localtime()
    completed(front_desk_clerk, now - dt.timedelta(minutes=5), seconds=95)
    completed(front_desk_clerk, now - dt.timedelta(minutes=3), seconds=130)
    client.force_login(manager)
    response = client.get(reverse("enrollment:report_staff"), {"months": 3})
    assert response.status_code == 200
    (row,) = response.context["report"].rows
    assert (row.name, row.total, row.median_clock) == (front_desk_clerk.get_full_name(), 2, "1:52")
    html = response.content.decode()
    assert front_desk_clerk.get_full_name() in html
    assert "50%" in html
    assert len(response.context["report"].months) == 3


def test_the_decline_page_names_reasons_never_patients(client, manager, front_desk_clerk):
    rosa = PatientFactory(given_name="Rosa", family_name="Delgado")
    declined(rosa, DeclineReason.PRIVACY, timezone.now() - dt.timedelta(days=3), front_desk_clerk)
    activated(rosa, timezone.now() - dt.timedelta(days=1))
    client.force_login(manager)
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    response = client.get(reverse("enrollment:report_declines"), {"since": since})
    html = response.content.decode()
    assert response.status_code == 200
    assert "worried about privacy" in html
    assert "100%" in html
    assert "Delgado" not in html and "Rosa" not in html
    assert AccessLogEntry.objects.count() == 0


def test_the_incentive_page_compares_the_cohorts(client, manager, front_desk_clerk):
    gift = Incentive.objects.create(kind=IncentiveKind.GIFT_CARD, name="Gift card", value=10)
    enrollee = completed(
        front_desk_clerk, timezone.now() - dt.timedelta(days=40), incentive=gift
    ).patient
    login(enrollee, timezone.now() - dt.timedelta(days=35))
    completed(front_desk_clerk, timezone.now() - dt.timedelta(days=45))
    call_command("rollup_metrics", "--all", stdout=io.StringIO())  # the page reads the rollup
    client.force_login(manager)
    response = client.get(reverse("enrollment:report_incentives"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "With an incentive" in html and "Without an incentive" in html
    assert "100% <span" in html and "(1/1)" in html
    assert "0% <span" in html and "(0/1)" in html


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("enrollment:report_staff", {"months": "5"}),
        ("enrollment:report_declines", {"since": "not-a-date"}),
        ("enrollment:report_incentives", {"since": "2999-01-01"}),
    ],
)
def test_a_wrong_period_says_what_to_correct(client, manager, name, query):
    client.force_login(manager)
    response = client.get(reverse(name), query)
    assert response.status_code == 400
    assert "Correct the period above" in response.content.decode()
