"""The rollout plan (issue 12, part 1): Maria lays out the playbook's 20 weeks, each
person ticks their own tasks, and tasks the application can see done tick themselves."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Enrollment, EnrollmentMethod, EnrollmentStatus
from messaging.models import Communication, CommunicationStatus, OutreachRule, ReplyTemplate
from metrics.models import MonthlyRollup, Target
from portal_adoption.program_hooks import Evidence
from portal_adoption.roles import Role
from program.models import PlanTask, RolloutPlan, TaskCompletion
from program.models.training import TrainingModule
from program.selectors import plan as selectors
from program.selectors.plan import TaskStatus, plan_overview, task_row
from program.services.plan import PLAYBOOK, PlanError, plan_start, task_tick
from program.services.recognition import champion_name
from program.services.training import training_complete_self
from tests.factories import PatientFactory, staff

TODAY = timezone.localdate()
WEEK_9_START = TODAY - dt.timedelta(days=7 * 8)  # a plan started so that today is in week 9


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def task(plan, key) -> PlanTask:
    return plan.tasks.get(playbook_key=key)


def status_of(plan, key, today=TODAY) -> selectors.TaskRow:
    return task_row(task(plan, key), today)


@pytest.fixture
def plan(manager):
    return plan_start(start_date=WEEK_9_START, by=manager)


# --- Laying out the plan --------------------------------------------------------------


def test_maria_picks_a_start_date_and_gets_the_playbooks_plan_with_dates(client, manager):
    client.force_login(manager)
    start = dt.date(2027, 1, 4)
    response = client.post(reverse("program:plan_start"), {"start_date": start.isoformat()})
    assert response.status_code == 302
    plan = RolloutPlan.objects.get(current=True)
    assert plan.start_date == start
    tasks = list(plan.tasks.order_by("order"))
    assert [t.title for t in tasks] == [str(item.title) for item in PLAYBOOK]
    by_phase = {}
    for t in tasks:
        by_phase.setdefault(t.phase, []).append(t.title)
    assert by_phase["enrollment"] == [
        "Train staff on the enrollment process",
        "Set enrollment-rate targets",
        "Start the in-visit enrollment workflow",
        "Start tracking enrollment figures",
    ]
    assert len(by_phase["messaging"]) == 4
    assert len(by_phase["scheduling"]) == 4
    assert len(by_phase["bill_pay"]) == 4
    assert len(by_phase["every_feature"]) == 4
    assert len(by_phase["ongoing"]) == 4
    # Week N starts on start + 7(N-1) days; a task is due on its week's last day.
    targets = plan.tasks.get(playbook_key="set_enrollment_targets")
    assert (targets.due_week, targets.owner_role) == (1, Role.MANAGER)
    assert selectors.task_due_date(targets, start) == dt.date(2027, 1, 10)
    usability = plan.tasks.get(playbook_key="fix_usability_problems")
    assert selectors.task_due_date(usability, start) == dt.date(2027, 5, 23)  # week 20's Sunday
    assert selectors.week_start(plan, 9) == dt.date(2027, 3, 1)
    for t in tasks:
        assert t.owner_role and t.owner_user is None
        if t.phase == "ongoing":
            assert t.due_week is None
        else:
            assert 1 <= t.due_week <= 20


def test_every_phase_names_the_figures_it_is_judged_by():
    from program.models.plan import PHASES

    assert {p.key: p.figures for p in PHASES} == {
        "enrollment": ("enrollment_rate", "new_enrollments"),
        "messaging": ("messages_received", "avg_response_hours"),
        "scheduling": ("self_scheduled_share", "annual_exam_self_scheduled_share"),
        "bill_pay": ("portal_payment_share",),
        "every_feature": ("multi_feature_share", "satisfaction"),
        "ongoing": (),
    }
    assert [(p.first_week, p.last_week) for p in PHASES] == [
        (1, 4), (5, 8), (9, 12), (13, 16), (17, 20), (None, None)
    ]  # fmt: skip


@pytest.mark.parametrize("value", ["0001-01-01", "2200-01-01", "someday", ""])
def test_a_start_date_outside_the_date_window_is_refused_with_a_message(client, manager, value):
    client.force_login(manager)
    response = client.post(reverse("program:plan_start"), {"start_date": value})
    assert response.status_code == 400
    assert not RolloutPlan.objects.exists()


def test_restarting_keeps_the_old_plan_and_its_ticks_as_history(plan, manager):
    tick = task_tick(task=task(plan, "promote_messaging"), by=manager, note="posters up")
    again = plan_start(start_date=TODAY, by=manager)
    plan.refresh_from_db()
    assert not plan.current and again.current
    assert RolloutPlan.objects.filter(current=True).get() == again
    assert TaskCompletion.objects.filter(pk=tick.pk).exists()
    assert not TaskCompletion.objects.filter(task__plan=again).exists()
    assert selectors.current_plan() == again


def test_the_current_week_and_phase_follow_the_start_date(plan):
    assert selectors.plan_week(plan, WEEK_9_START - dt.timedelta(days=1)) == 0
    assert selectors.plan_week(plan, WEEK_9_START) == 1
    assert selectors.plan_week(plan, WEEK_9_START + dt.timedelta(days=6)) == 1
    assert selectors.plan_week(plan, TODAY) == 9
    assert selectors.phase_of_week(9).key == "scheduling"
    assert selectors.plan_week(plan, WEEK_9_START + dt.timedelta(days=7 * 20 - 1)) == 20
    assert selectors.plan_week(plan, WEEK_9_START + dt.timedelta(days=7 * 20)) is None
    assert selectors.phase_of_week(None).key == "ongoing"


# --- Due and overdue ------------------------------------------------------------------


def test_a_task_due_today_is_not_overdue_and_one_due_yesterday_is(plan):
    promote = task(plan, "promote_messaging")  # week 8: due on start + 55 days
    due = WEEK_9_START + dt.timedelta(days=55)
    assert selectors.task_due_date(promote, TODAY) == due
    assert task_row(promote, due).status == TaskStatus.DUE
    assert task_row(promote, due + dt.timedelta(days=1)).status == TaskStatus.OVERDUE
    assert task_row(promote, selectors.week_start(plan, 8) - dt.timedelta(days=1)).status == (
        TaskStatus.UPCOMING
    )


def test_an_ongoing_task_missed_last_month_is_overdue_until_ticked(manager):
    today = dt.date(2027, 3, 10)
    plan = plan_start(start_date=dt.date(2027, 1, 4), by=manager)
    recognize = task(plan, "recognize_staff")
    assert selectors.task_due_date(recognize, today) == dt.date(2027, 3, 31)
    missed = task_row(recognize, today)
    assert (missed.status, missed.due_date) == (TaskStatus.OVERDUE, dt.date(2027, 2, 28))
    TaskCompletion.objects.create(task=recognize, period="2027-02", by=manager, at=at(today))
    assert task_row(recognize, today).status == TaskStatus.DUE
    task_tick(task=recognize, by=manager, today=today)
    assert task_row(recognize, today).status == TaskStatus.DONE
    # Next month the tick of March does not count for April.
    assert task_row(recognize, dt.date(2027, 4, 2)).status == TaskStatus.DUE


def test_an_ongoing_task_in_the_plans_first_month_is_due_not_overdue(manager):
    plan = plan_start(start_date=dt.date(2027, 1, 4), by=manager)
    assert status_of(plan, "recognize_staff", dt.date(2027, 1, 20)).status == TaskStatus.DUE


# --- Ticking by hand -------------------------------------------------------------------


def test_fatima_ticks_a_front_desk_task_with_a_note_and_twice_is_harmless(
    client, plan, front_desk_clerk
):
    promote = task(plan, "promote_messaging")
    client.force_login(front_desk_clerk)
    url = reverse("program:task_tick", args=[promote.pk])
    assert client.post(url, {"note": "Cards at the desk"}).status_code == 302
    assert client.post(url, {"note": "again"}).status_code == 302
    tick = TaskCompletion.objects.get(task=promote)
    assert (tick.by, tick.note, tick.period) == (front_desk_clerk, "Cards at the desk", "")
    page = client.get(reverse("program:plan")).content.decode()
    assert "Promote secure messaging" in page and "Cards at the desk" in page


def test_nora_may_not_tick_a_front_desk_task(client, plan, nurse):
    client.force_login(nurse)
    promote = task(plan, "promote_messaging")
    response = client.post(reverse("program:task_tick", args=[promote.pk]), {"note": ""})
    assert response.status_code == 403
    assert not TaskCompletion.objects.exists()


def test_a_task_given_to_a_person_is_theirs_not_their_roles(plan, front_desk_clerk, manager):
    colleague = staff("greta", Role.FRONT_DESK)
    promote = task(plan, "promote_messaging")
    promote.owner_user, promote.owner_role = front_desk_clerk, ""
    promote.save()
    assert selectors.user_may_tick(front_desk_clerk, promote)
    assert not selectors.user_may_tick(colleague, promote)
    assert selectors.user_may_tick(manager, promote)
    with pytest.raises(PermissionDenied):
        task_tick(task=promote, by=colleague)


def test_maria_may_tick_any_task_even_one_with_evidence(plan, manager):
    templates = task(plan, "write_reply_templates")
    task_tick(task=templates, by=manager, note="Written on paper first")
    row = status_of(plan, "write_reply_templates")
    assert row.status == TaskStatus.DONE and row.evidence is None
    assert row.completion.note == "Written on paper first"


def test_a_note_longer_than_500_characters_is_refused(plan, manager):
    with pytest.raises(PlanError):
        task_tick(task=task(plan, "promote_messaging"), by=manager, note="x" * 501)


def test_the_nurse_sees_only_her_tasks_and_the_billing_clerk_his(
    client, plan, nurse, billing_clerk
):
    client.force_login(billing_clerk)
    page = client.get(reverse("program:plan")).content.decode()
    assert "My tasks" in page
    assert "Promote payments to enrolled patients" in page
    assert "Promote secure messaging" not in page
    client.force_login(nurse)
    page = client.get(reverse("program:plan")).content.decode()
    assert "No tasks of the rollout plan are yours." in page


def test_without_a_plan_maria_gets_the_start_form_and_others_a_note(client, manager, nurse):
    client.force_login(manager)
    page = client.get(reverse("program:plan")).content.decode()
    assert "Lay out the plan" in page
    client.force_login(nurse)
    page = client.get(reverse("program:plan")).content.decode()
    assert "The practice manager sets up the rollout plan." in page
    assert "Lay out the plan" not in page


# --- Add, move, drop, restore ------------------------------------------------------------


def test_maria_adds_a_task_for_a_person(client, plan, manager, nurse):
    client.force_login(manager)
    response = client.post(
        reverse("program:task_add"),
        {"title": "Portal poster in every room", "phase": "scheduling", "due_week": "11",
         "owner": f"user:{nurse.pk}"},
    )  # fmt: skip
    assert response.status_code == 302
    added = plan.tasks.get(title="Portal poster in every room")
    assert (added.owner_user, added.due_week, added.playbook_key) == (nurse, 11, "")
    client.force_login(nurse)
    assert "Portal poster in every room" in client.get(reverse("program:plan")).content.decode()


def test_a_task_without_a_due_week_outside_ongoing_is_refused(client, plan, manager):
    client.force_login(manager)
    response = client.post(
        reverse("program:task_add"),
        {"title": "Something", "phase": "scheduling", "due_week": "", "owner": "role:nurse"},
    )
    assert response.status_code == 400
    assert not plan.tasks.filter(title="Something").exists()


def test_maria_moves_a_task_to_another_week_and_owner(client, plan, manager):
    promote = task(plan, "promote_messaging")
    client.force_login(manager)
    client.post(
        reverse("program:task_move", args=[promote.pk]),
        {"phase": "scheduling", "due_week": "10", "owner": "role:nurse"},
    )
    promote.refresh_from_db()
    assert (promote.phase, promote.due_week, promote.owner_role) == ("scheduling", 10, "nurse")


def test_maria_drops_a_task_and_restores_it_with_its_history(client, plan, manager):
    promote = task(plan, "promote_messaging")
    task_tick(task=promote, by=manager)
    client.force_login(manager)
    client.post(reverse("program:task_drop", args=[promote.pk]))
    promote.refresh_from_db()
    assert promote.dropped_at is not None and promote.dropped_by == manager
    assert status_of(plan, "promote_messaging").status == TaskStatus.DROPPED
    assert TaskCompletion.objects.filter(task=promote).exists()
    client.post(reverse("program:task_restore", args=[promote.pk]))
    promote.refresh_from_db()
    assert promote.dropped_at is None
    assert status_of(plan, "promote_messaging").status == TaskStatus.DONE


def test_a_dropped_task_is_not_overdue_on_the_home_page(client, plan, front_desk_clerk, manager):
    client.force_login(front_desk_clerk)
    home = client.get(reverse("home")).content.decode()
    assert "Promote secure messaging" in home  # week 8, overdue in week 9
    client.force_login(manager)
    client.post(reverse("program:task_drop", args=[task(plan, "promote_messaging").pk]))
    client.force_login(front_desk_clerk)
    assert "Promote secure messaging" not in client.get(reverse("home")).content.decode()


# --- Evidence ------------------------------------------------------------------------------


def test_reply_templates_tick_when_every_queue_has_an_active_one(plan):
    ReplyTemplate.objects.create(category="clinical", name="Refill", body="Hi")
    ReplyTemplate.objects.create(category="administrative", name="Hours", body="Hi")
    ReplyTemplate.objects.create(category="billing", name="Bill", body="Hi", active=False)
    assert status_of(plan, "write_reply_templates").status == TaskStatus.OVERDUE
    ReplyTemplate.objects.create(category="billing", name="Balance", body="Hi")
    row = status_of(plan, "write_reply_templates")
    assert row.status == TaskStatus.DONE
    assert row.evidence.url == reverse("messaging:templates")
    assert row.completion is None


def test_the_in_visit_workflow_ticks_with_a_desk_enrollment_after_the_start(plan, front_desk_clerk):
    def enrollment(when, method=EnrollmentMethod.DESK):
        return Enrollment.objects.create(
            patient=PatientFactory(), started_by=front_desk_clerk, method=method,
            status=EnrollmentStatus.COMPLETED, completed_by=front_desk_clerk, completed_at=when,
        )  # fmt: skip

    enrollment(at(WEEK_9_START - dt.timedelta(days=1), 16))
    enrollment(at(WEEK_9_START, 10), method=EnrollmentMethod.QR)
    assert status_of(plan, "start_in_visit_enrollment").evidence is None
    enrollment(at(WEEK_9_START, 0))
    row = status_of(plan, "start_in_visit_enrollment")
    assert row.status == TaskStatus.DONE
    assert row.evidence.at == at(WEEK_9_START, 0)
    assert row.evidence.url == reverse("enrollment:report_staff")


def target(figure, value, when):
    return Target.objects.create(figure=figure, value=Decimal(value), updated_at=when)


def test_enrollment_targets_tick_when_a_target_is_saved_after_the_start(plan):
    target("enrollment_rate", "0.65", at(WEEK_9_START - dt.timedelta(days=1), 23))
    target("satisfaction", "4.6", at(WEEK_9_START, 9))
    assert status_of(plan, "set_enrollment_targets").evidence is None
    from metrics.target_services import target_set

    target_set(figure="enrollment_rate", value="0.75")
    row = status_of(plan, "set_enrollment_targets")
    assert row.status == TaskStatus.DONE
    assert row.evidence.url == reverse("metrics:targets")


def test_response_time_standards_tick_when_a_response_time_target_is_saved(plan):
    target("enrollment_rate", "0.65", at(WEEK_9_START, 9))
    assert status_of(plan, "set_response_standards").evidence is None
    target("avg_response_hours", "6", at(WEEK_9_START, 9))
    assert status_of(plan, "set_response_standards").status == TaskStatus.DONE


def test_tracking_ticks_when_the_rollup_has_run_since_the_start(plan):
    MonthlyRollup.objects.create(
        month=dt.date(2026, 1, 1), scope_kind="practice", figures={},
        computed_at=at(WEEK_9_START - dt.timedelta(days=1)),
    )  # fmt: skip
    assert status_of(plan, "track_enrollment").evidence is None
    MonthlyRollup.objects.create(
        month=dt.date(2026, 1, 1), scope_kind="location", scope_id=1, figures={},
        computed_at=at(WEEK_9_START + dt.timedelta(days=1)),
    )  # fmt: skip
    assert status_of(plan, "track_enrollment").evidence is None  # not the practice's
    MonthlyRollup.objects.create(
        month=dt.date(2026, 2, 1), scope_kind="practice", figures={},
        computed_at=at(WEEK_9_START + dt.timedelta(days=1)),
    )  # fmt: skip
    row = status_of(plan, "track_enrollment")
    assert row.status == TaskStatus.DONE and row.evidence.url == reverse("metrics:dashboard")


def sent(rule, when, status=CommunicationStatus.SENT):
    return Communication.objects.create(
        patient=PatientFactory(), rule=rule, period=f"{when:%Y-%m-%d-%H}", channel="email",
        status=status, body="Try the portal", sent_at=when if status == "sent" else None,
    )  # fmt: skip


def test_the_monthly_feature_message_ticks_for_the_month_it_was_sent(manager):
    plan = plan_start(start_date=dt.date(2027, 1, 4), by=manager)
    sent(OutreachRule.FEATURE_OF_MONTH, at(dt.date(2027, 2, 20)))
    sent(OutreachRule.FEATURE_OF_MONTH, at(dt.date(2027, 3, 2)), CommunicationStatus.QUEUED)
    assert status_of(plan, "monthly_feature_message", dt.date(2027, 2, 25)).status == "done"
    march = status_of(plan, "monthly_feature_message", dt.date(2027, 3, 10))
    assert march.status == TaskStatus.DUE  # February's counts for February only
    sent(OutreachRule.FEATURE_OF_MONTH, at(dt.date(2027, 3, 9)))
    assert status_of(plan, "monthly_feature_message", dt.date(2027, 3, 10)).status == "done"
    # Campaigns of the "every feature" phase: any feature message since the start.
    assert status_of(plan, "run_feature_campaigns", dt.date(2027, 3, 10)).status == "done"


def test_feedback_ticks_with_a_survey_sent_since_the_start(plan):
    sent(OutreachRule.SATISFACTION_SURVEY, at(WEEK_9_START - dt.timedelta(days=2)))
    assert status_of(plan, "collect_feedback").evidence is None
    sent(OutreachRule.SATISFACTION_SURVEY, at(TODAY))
    assert status_of(plan, "collect_feedback").status == TaskStatus.DONE


def test_recognizing_staff_ticks_for_the_month_a_champion_was_named(manager, nurse):
    plan = plan_start(start_date=dt.date(2027, 1, 4), by=manager)
    february, march = dt.date(2027, 2, 25), dt.date(2027, 3, 10)
    # Nobody named in January: February opens overdue.
    assert status_of(plan, "recognize_staff", february).status == TaskStatus.OVERDUE
    champion_name(month=dt.date(2027, 2, 1), user=nurse, reason="", by=manager)
    done = status_of(plan, "recognize_staff", february)
    assert done.status == TaskStatus.DONE
    assert done.evidence.url == reverse("program:recognition") + "?month=2027-02"
    # February's champion is not March's recognition (but March is not overdue for it).
    assert status_of(plan, "recognize_staff", march).status == TaskStatus.DUE


def test_message_management_ticks_once_the_desk_and_the_nurses_are_trained(
    plan, front_desk_clerk, nurse, billing_clerk
):
    """The playbook: "Train staff on message management" is done when the nursing and
    front-desk roles are trained; billing takes the module too but is not waited for."""
    triage = TrainingModule.objects.get(key="message_triage")
    training_complete_self(module=triage, user=front_desk_clerk)
    assert status_of(plan, "train_message_management").evidence is None
    training_complete_self(module=triage, user=nurse)
    row = status_of(plan, "train_message_management")
    assert row.status == TaskStatus.DONE
    assert row.evidence.summary == "Trained: 2 of 2 front desk and nurses"
    # The enrollment module is another matter: nobody has taken it.
    assert status_of(plan, "train_enrollment").evidence is None


def test_training_tasks_tick_from_the_training_records(plan, monkeypatch):
    asked = []

    def training_evidence(module_key, today=None, *, roles=None):
        asked.append(module_key)
        if module_key == "message_triage":
            return Evidence(at=timezone.now(), summary="All trained", url="/program/training/")
        return None

    monkeypatch.setattr(selectors, "training_evidence", training_evidence)
    assert status_of(plan, "train_message_management").status == TaskStatus.DONE
    assert status_of(plan, "train_enrollment").status == TaskStatus.OVERDUE
    assert status_of(plan, "train_promote_scheduling").evidence is None
    assert status_of(plan, "train_portal_payments").evidence is None
    status_of(plan, "refresher_training")
    assert list(dict.fromkeys(asked)) == [
        "message_triage",
        "enrollment_at_checkin",
        "promoting_scheduling_and_results",
        "portal_payments",
        "quarterly_refresher",
    ]


# --- Phase figures -----------------------------------------------------------------------


def test_an_ended_phase_shows_its_target_beside_the_value_of_the_month_it_mostly_ran(manager):
    """A phase is four weeks; it is judged by the calendar month holding most of it
    (its middle day), not the month its last day falls in: weeks 1-4 from Jan. 5
    end on Feb. 1, and February's figures would be almost all after the phase."""
    plan = plan_start(start_date=dt.date(2026, 1, 5), by=manager)  # weeks 1-4: Jan 5 - Feb 1
    MonthlyRollup.objects.create(
        month=dt.date(2026, 1, 1), scope_kind="practice",
        figures={"enrollment_rate": 0.64, "new_enrollments": 80},
    )  # fmt: skip
    MonthlyRollup.objects.create(
        month=dt.date(2026, 2, 1), scope_kind="practice",
        figures={"enrollment_rate": 0.50, "messages_received": 892, "avg_response_hours": 9.5},
    )  # fmt: skip
    target("enrollment_rate", "0.60", timezone.now())
    overview = plan_overview(plan, dt.date(2026, 6, 1))
    enrollment, messaging = overview["phases"][0], overview["phases"][1]
    assert enrollment.ended and not enrollment.figures_so_far
    rate, new = enrollment.figures
    assert (rate.key, rate.value, rate.target, rate.met) == ("enrollment_rate", "64%", "60%", True)
    assert rate.month == dt.date(2026, 1, 1)
    assert (new.value, new.target, new.met) == ("80", None, None)
    # Weeks 5-8 (Feb 2 - Mar 1) are February's: response time, lower is better, 9.5 h
    # against 8 h.
    received, hours = messaging.figures
    assert (received.value, hours.value, hours.target, hours.met) == (
        "892", "9.5 hours", "8.0 hours", False
    )  # fmt: skip
    assert hours.month == dt.date(2026, 2, 1)


def test_a_running_phase_shows_the_latest_month_so_far(client, plan, manager):
    last_month = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    MonthlyRollup.objects.create(
        month=last_month, scope_kind="practice", figures={"self_scheduled_share": 0.31}
    )
    overview = plan_overview(plan, TODAY)
    scheduling = overview["phases"][2]
    assert scheduling.current and scheduling.figures_so_far
    share = scheduling.figures[0]
    assert (share.value, share.target, share.met, share.month) == ("31%", "30%", True, last_month)
    client.force_login(manager)
    page = client.get(reverse("program:plan")).content.decode()
    assert "latest month so far" in page and "31%" in page


# --- Home page and dashboard ------------------------------------------------------------------


def test_the_home_page_shows_the_week_and_each_persons_overdue_tasks(
    client, plan, manager, billing_clerk, front_desk_clerk
):
    client.force_login(front_desk_clerk)
    home = client.get(reverse("home")).content.decode()
    assert "Week 9 of 20: Self-scheduling" in home
    assert "Promote secure messaging" in home  # the desk's, due in week 8
    assert "Set enrollment-rate targets" not in home  # the manager's
    client.force_login(billing_clerk)
    home = client.get(reverse("home")).content.decode()
    assert "Week 9 of 20" in home and "No overdue tasks." in home
    client.force_login(manager)
    home = client.get(reverse("home")).content.decode()
    overdue = selectors.plan_status(manager)["overdue"]
    assert f"{len(overdue)} tasks of the plan are overdue" in home
    assert overdue[0].task.title == "Set enrollment-rate targets"  # the oldest first
    assert "Set enrollment-rate targets" in home


def test_the_home_page_says_nothing_of_a_plan_that_does_not_exist(client, nurse):
    client.force_login(nurse)
    assert "Adoption program" not in client.get(reverse("home")).content.decode()


def test_the_dashboard_shows_the_week_and_the_overdue_count(client, plan, manager):
    client.force_login(manager)
    page = client.get(reverse("metrics:dashboard")).content.decode()
    overdue = len(selectors.plan_status(manager)["overdue"])
    assert overdue > 0
    assert "Week 9 of 20: Self-scheduling" in page
    assert f"{overdue} overdue tasks" in page


def test_the_dashboard_has_no_banner_without_a_plan(client, manager):
    client.force_login(manager)
    assert "program-banner" not in client.get(reverse("metrics:dashboard")).content.decode()


def test_every_role_finds_the_program_in_the_menu(client, personas):
    for person in personas.values():
        client.force_login(person)
        assert f'href="{reverse("program:plan")}"' in client.get(reverse("home")).content.decode()


# --- The demo --------------------------------------------------------------------------------


def test_the_demo_plan_is_in_week_9_with_ticks_and_overdue_tasks_and_runs_twice_the_same(db):
    from program.demo.plan import demo_plan

    manager = staff("manager", Role.MANAGER)
    staff("frontdesk", Role.FRONT_DESK)
    demo_plan(TODAY)
    demo_plan(TODAY)
    plan = RolloutPlan.objects.get(current=True)
    assert RolloutPlan.objects.count() == 1
    assert selectors.plan_week(plan, TODAY) == 9
    ticks = TaskCompletion.objects.filter(task__plan=plan)
    assert ticks.count() == 4 and all(tick.note for tick in ticks)
    assert selectors.plan_status(manager)["overdue"]
