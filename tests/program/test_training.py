"""Staff training: modules marked done, sessions, the matrix, the home page, the plan's evidence."""

import datetime as dt
import threading

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from portal_adoption.roles import INTEGRATION_GROUP, Role
from program.models.training import TrainingCompletion, TrainingModule, TrainingSession
from program.selectors.training import (
    Standing,
    add_months,
    my_training,
    training_evidence,
    training_matrix,
    training_owed,
)
from program.services.training import (
    TrainingError,
    training_module_set_active,
    training_module_update,
    training_session_record,
)
from tests.conftest import requires_postgres
from tests.factories import staff

TODAY = timezone.localdate


def module(key) -> TrainingModule:
    return TrainingModule.objects.get(key=key)


def done(person, key, on=None, by=None):
    return TrainingCompletion.objects.create(
        staff=person, module=module(key), completed_on=on or TODAY(), recorded_by=by or person
    )


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def joined(person, days_ago):
    person.date_joined = timezone.now() - dt.timedelta(days=days_ago)
    person.save(update_fields=["date_joined"])
    return person


# --- The playbook's modules -------------------------------------------------------------


@pytest.mark.django_db
def test_the_playbook_modules_are_there_by_key_with_their_roles_and_refreshers():
    modules = {m.key: m for m in TrainingModule.objects.all()}
    expected = {
        "enrollment_at_checkin": (["front_desk"], 12),
        "message_triage": (["nurse", "front_desk", "billing"], 12),
        "portal_documentation": (["nurse", "provider"], 12),
        "promoting_scheduling_and_results": (["front_desk", "nurse"], 12),
        "portal_payments": (["billing"], 12),
        "quarterly_refresher": (["front_desk", "nurse", "provider", "billing"], 3),
    }
    assert {k: (m.required_roles, m.refresher_months) for k, m in modules.items()} == expected
    checkin = modules["enrollment_at_checkin"].text
    assert "Let's set up your patient portal access today." in checkin
    assert "What's the best email to use?" in checkin
    assert all(f"\n{n}. " in checkin for n in range(1, 10))
    assert "Refresher: every 12 months." in modules["portal_payments"].text


@pytest.mark.django_db
def test_installing_the_default_modules_again_adds_nothing_and_keeps_the_practice_edits():
    from importlib import import_module

    migration = import_module("program.migrations.0005_training_default_modules")
    TrainingModule.objects.filter(key="portal_payments").update(text="Our own words")
    migration.create_default_modules(apps, None)
    assert TrainingModule.objects.count() == 6
    assert module("portal_payments").text == "Our own words"


# --- Staff mark a module done -----------------------------------------------------------


@pytest.mark.django_db
def test_nurse_marks_the_triage_module_done(client, nurse):
    client.force_login(nurse)
    triage = module("message_triage")
    response = client.post(reverse("program:training_done", args=[triage.pk]))
    assert response.status_code == 302
    assert flashes(response) == [
        "“Message triage and response standards” marked done today. Thank you."
    ]
    completion = TrainingCompletion.objects.get(staff=nurse, module=triage)
    assert (completion.completed_on, completion.recorded_by) == (TODAY(), nurse)
    statuses = {s.module.key: s.standing for s in my_training(nurse)}
    assert statuses["message_triage"] == Standing.TRAINED


@pytest.mark.django_db
def test_marking_a_module_done_twice_the_same_day_keeps_one_completion(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    url = reverse("program:training_done", args=[module("enrollment_at_checkin").pk])
    client.post(url)
    response = client.post(url)
    assert "was already marked done today" in flashes(response)[-1]
    assert TrainingCompletion.objects.filter(staff=front_desk_clerk).count() == 1


@pytest.mark.django_db
def test_a_later_completion_renews_the_module(front_desk_clerk):
    done(front_desk_clerk, "quarterly_refresher", on=TODAY() - dt.timedelta(days=200))
    before = {s.module.key: s for s in my_training(front_desk_clerk)}["quarterly_refresher"]
    assert before.standing == Standing.OVERDUE
    done(front_desk_clerk, "quarterly_refresher")
    after = {s.module.key: s for s in my_training(front_desk_clerk)}["quarterly_refresher"]
    assert (after.standing, after.completed_on) == (Standing.TRAINED, TODAY())


@pytest.mark.django_db
def test_a_deactivated_module_cannot_be_marked_done(client, nurse):
    triage = module("message_triage")
    training_module_set_active(module=triage, active=False)
    client.force_login(nurse)
    response = client.post(reverse("program:training_done", args=[triage.pk]))
    assert "no longer taught" in flashes(response)[0]
    assert not TrainingCompletion.objects.exists()


# --- The training page ---------------------------------------------------------------


@pytest.mark.django_db
def test_billing_sees_its_own_modules_with_text_status_and_button(client, billing_clerk):
    client.force_login(billing_clerk)
    page = client.get(reverse("program:training")).content.decode()
    assert "Portal payments" in page
    assert "Message triage and response standards" in page
    assert "Enrolling patients at check-in" not in page  # front desk only
    assert "Never completed; due by" in page
    assert "Mark done today" in page
    assert "Who is trained, by role" not in page  # the matrix is for managers


@pytest.mark.django_db
def test_a_manager_with_no_module_required_sees_what_to_do_instead(client, manager):
    client.force_login(manager)
    page = client.get(reverse("program:training")).content.decode()
    assert "No training module is required for your role." in page


@pytest.mark.django_db
def test_the_manager_sees_the_matrix_by_role_with_dates(client, manager, nurse, front_desk_clerk):
    nurse_done_on = TODAY() - dt.timedelta(days=5)
    done(nurse, "message_triage", on=nurse_done_on)
    # Required of the front desk for a year; Fatima joined 40 days ago and never took it.
    TrainingModule.objects.filter(key="message_triage").update(
        role_required_since={"front_desk": "2020-01-01", "nurse": "2020-01-01"}
    )
    joined(front_desk_clerk, 40)
    client.force_login(manager)
    response = client.get(reverse("program:training"), {"module": "message_triage"})
    assert response.status_code == 200
    matrix = response.context["matrix"]
    assert [c.module.key for c in matrix.columns] == ["message_triage"]
    assert (matrix.columns[0].current, matrix.columns[0].required) == (1, 2)
    by_role = {
        g.role: {row.person.username: row.cells[0].standing for row in g.rows}
        for g in matrix.groups
    }
    assert by_role[Role.NURSE] == {"nora": Standing.TRAINED}
    assert by_role[Role.FRONT_DESK] == {"fatima": Standing.OVERDUE}
    assert by_role[Role.MANAGER] == {"maria": Standing.NOT_REQUIRED}
    page = response.content.decode()
    assert 'id="module-message_triage"' in page
    assert "Never completed; was due by" in page
    refresher = add_months(nurse_done_on, 12)
    assert f"refresher due on {date_format(refresher, 'DATE_FORMAT')}" in page


@pytest.mark.django_db
def test_the_matrix_refuses_an_unknown_module_with_a_message(client, manager):
    client.force_login(manager)
    response = client.get(reverse("program:training"), {"module": "no_such_module"})
    assert response.status_code == 400
    assert b"no active training module" in response.content


@pytest.mark.django_db
def test_inactive_staff_and_integration_accounts_never_count(nurse):
    leaver = staff("leaver", Role.NURSE, is_active=False)
    robot = staff("ehr-feed", Role.NURSE)
    robot.groups.add(Group.objects.get_or_create(name=INTEGRATION_GROUP)[0])
    matrix = training_matrix()
    people = {row.person.username for g in matrix.groups for row in g.rows}
    assert people == {"nora"}
    assert my_training(robot) == []
    assert leaver.username not in people


# --- Sessions held ---------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_records_a_session_for_several_people_at_once(
    client, manager, nurse, front_desk_clerk
):
    client.force_login(manager)
    held_on = TODAY() - dt.timedelta(days=2)
    response = client.post(
        reverse("program:training_session"),
        {
            "module": module("promoting_scheduling_and_results").pk,
            "held_on": held_on.isoformat(),
            "led_by": manager.pk,
            "attendees": [nurse.pk, front_desk_clerk.pk],
        },
    )
    assert response.status_code == 302
    assert "done for 2 people" in flashes(response)[0]
    session = TrainingSession.objects.get()
    assert (session.held_on, session.led_by, session.recorded_by) == (held_on, manager, manager)
    completions = TrainingCompletion.objects.filter(session=session)
    assert {c.staff for c in completions} == {nurse, front_desk_clerk}
    assert {c.completed_on for c in completions} == {held_on}
    assert training_evidence("promoting_scheduling_and_results") is not None


@pytest.mark.django_db
def test_a_session_with_one_ineligible_attendee_writes_nothing(manager, nurse):
    leaver = staff("leaver", Role.NURSE, is_active=False)
    with pytest.raises(TrainingError):
        training_session_record(
            module=module("message_triage"), held_on=TODAY(), attendees=[nurse, leaver], by=manager
        )
    assert not TrainingSession.objects.exists()
    assert not TrainingCompletion.objects.exists()


@pytest.mark.django_db
def test_a_session_keeps_an_attendee_who_already_marked_it_done_that_day(manager, nurse):
    done(nurse, "message_triage")
    _session, created = training_session_record(
        module=module("message_triage"), held_on=TODAY(), attendees=[nurse], by=manager
    )
    assert created == 0
    assert TrainingCompletion.objects.filter(staff=nurse).count() == 1


@pytest.mark.django_db
def test_a_session_in_the_future_is_refused_with_the_form_again(client, manager, nurse):
    client.force_login(manager)
    response = client.post(
        reverse("program:training_session"),
        {
            "module": module("message_triage").pk,
            "held_on": (TODAY() + dt.timedelta(days=1)).isoformat(),
            "attendees": [nurse.pk],
        },
    )
    assert response.status_code == 400
    assert "once it has been held" in response.content.decode()
    assert not TrainingCompletion.objects.exists()


@pytest.mark.django_db
def test_manager_undoes_a_wrong_completion(client, manager, nurse):
    wrong = done(nurse, "portal_documentation", by=manager)
    client.force_login(manager)
    response = client.post(reverse("program:training_completion_undo", args=[wrong.pk]))
    assert response.status_code == 302
    assert flashes(response)[0].startswith("Removed: “Documentation rules")
    assert not TrainingCompletion.objects.exists()
    again = client.post(reverse("program:training_completion_undo", args=[wrong.pk]))
    assert flashes(again)[-1] == "That completion was already removed."


# --- Modules ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_adds_a_module_and_the_billing_clerk_owes_it(client, manager, billing_clerk):
    client.force_login(manager)
    response = client.post(
        reverse("program:training_module_new"),
        {
            "title": "Payment plans",
            "text": "How to offer a payment plan.",
            "required_roles": ["billing"],
            "refresher_months": "",
            "order": 70,
        },
    )
    assert response.status_code == 302
    added = module("payment_plans")
    assert (added.required_roles, added.refresher_months) == (["billing"], None)
    assert added.role_required_since == {"billing": TODAY().isoformat()}
    assert "Payment plans" in [s.module.title for s in training_owed(billing_clerk)]


@pytest.mark.django_db
def test_manager_edits_a_module_text_roles_and_refresher(client, manager):
    payments = module("portal_payments")
    client.force_login(manager)
    response = client.post(
        reverse("program:training_module_edit", args=[payments.pk]),
        {
            "title": "Portal payments",
            "text": "Show the Pay button.",
            "required_roles": ["billing", "front_desk"],
            "refresher_months": 6,
            "order": 50,
        },
    )
    assert response.status_code == 302
    payments.refresh_from_db()
    assert payments.key == "portal_payments"  # the plan finds it by key
    assert (payments.text, payments.refresher_months) == ("Show the Pay button.", 6)
    assert payments.required_roles == ["front_desk", "billing"]


@pytest.mark.django_db
def test_requiring_a_module_of_another_role_does_not_forgive_those_already_overdue(billing_clerk):
    payments = module("portal_payments")
    long_ago = (TODAY() - dt.timedelta(days=90)).isoformat()
    payments.role_required_since = {"billing": long_ago}
    payments.save()
    joined(billing_clerk, 400)
    training_module_update(
        module=payments,
        title=payments.title,
        text=payments.text,
        required_roles=["billing", "front_desk"],
        refresher_months=12,
        order=50,
    )
    payments.refresh_from_db()
    assert payments.role_required_since == {"billing": long_ago, "front_desk": TODAY().isoformat()}
    owed = {s.module.key: s.standing for s in training_owed(billing_clerk)}
    assert owed["portal_payments"] == Standing.OVERDUE


@pytest.mark.django_db
def test_a_deactivated_module_is_no_longer_owed_and_comes_back_with_fresh_grace(
    client, manager, billing_clerk
):
    joined(billing_clerk, 400)
    payments = module("portal_payments")
    payments.role_required_since = {"billing": "2020-01-01"}
    payments.save()
    assert "portal_payments" in {s.module.key for s in training_owed(billing_clerk)}
    client.force_login(manager)
    client.post(reverse("program:training_module_active", args=[payments.pk]))
    assert "portal_payments" not in {s.module.key for s in training_owed(billing_clerk)}
    client.post(reverse("program:training_module_active", args=[payments.pk]))
    owed = {s.module.key: s.standing for s in training_owed(billing_clerk)}
    assert owed["portal_payments"] == Standing.DUE


# --- The home page, for every role -------------------------------------------------------

OWED_BY_ROLE = {
    Role.FRONT_DESK: {
        "enrollment_at_checkin",
        "message_triage",
        "promoting_scheduling_and_results",
        "quarterly_refresher",
    },
    Role.NURSE: {
        "message_triage",
        "portal_documentation",
        "promoting_scheduling_and_results",
        "quarterly_refresher",
    },
    Role.PROVIDER: {"portal_documentation", "quarterly_refresher"},
    Role.BILLING: {"message_triage", "portal_payments", "quarterly_refresher"},
    Role.MANAGER: set(),
    Role.ADMINISTRATOR: set(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_home_page_tells_each_role_what_it_owes(client, personas, role):
    person = personas[role]
    client.force_login(person)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    owed = {s.module.key for s in response.context["program"]["training"]}
    assert owed == OWED_BY_ROLE[role]
    page = response.content.decode()
    if owed:
        assert "You owe training" in page
        for key in owed:
            assert reverse("program:training_done", args=[module(key).pk]) in page
    else:
        assert "You owe training" not in page


@pytest.mark.django_db
def test_the_home_page_says_nothing_once_the_provider_is_current(client, provider_user):
    done(provider_user, "portal_documentation")
    done(provider_user, "quarterly_refresher")
    client.force_login(provider_user)
    assert "You owe training" not in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_mark_done_from_the_home_page_goes_back_home(client, provider_user):
    client.force_login(provider_user)
    response = client.post(
        reverse("program:training_done", args=[module("portal_documentation").pk]),
        {"from": "home"},
    )
    assert response.url == reverse("home")
    assert [s.module.key for s in training_owed(provider_user)] == ["quarterly_refresher"]


@pytest.mark.django_db
def test_overdue_modules_come_first_on_the_home_page(nurse):
    joined(nurse, 10)
    done(nurse, "quarterly_refresher", on=TODAY() - dt.timedelta(days=120))
    owed = training_owed(nurse)
    assert owed[0].module.key == "quarterly_refresher"
    assert owed[0].standing == Standing.OVERDUE
    assert all(s.standing == Standing.DUE for s in owed[1:])


# --- The rollout plan's evidence ----------------------------------------------------------


@pytest.mark.django_db
def test_training_evidence_waits_for_everyone_who_must_take_the_module(front_desk_clerk, nurse):
    assert training_evidence("promoting_scheduling_and_results") is None
    first = TODAY() - dt.timedelta(days=10)
    done(front_desk_clerk, "promoting_scheduling_and_results", on=first)
    assert training_evidence("promoting_scheduling_and_results") is None
    done(nurse, "promoting_scheduling_and_results", on=first + dt.timedelta(days=3))
    evidence = training_evidence("promoting_scheduling_and_results")
    assert evidence.summary == "Trained: 2 of 2 front desk and nurses"
    assert evidence.at == timezone.make_aware(
        dt.datetime.combine(first + dt.timedelta(days=3), dt.time.min)
    )
    assert evidence.url == (
        reverse("program:training")
        + "?module=promoting_scheduling_and_results#module-promoting_scheduling_and_results"
    )


@pytest.mark.django_db
def test_training_evidence_names_every_required_role(front_desk_clerk, nurse, billing_clerk):
    for person in (front_desk_clerk, nurse, billing_clerk):
        done(person, "message_triage")
    evidence = training_evidence("message_triage")
    assert evidence.summary == "Trained: 3 of 3 front desk, nurses and billing"


@pytest.mark.django_db
def test_training_evidence_is_gone_once_a_refresher_passes(nurse, provider_user):
    day = TODAY() - dt.timedelta(days=100)
    done(nurse, "quarterly_refresher", on=day)
    done(provider_user, "quarterly_refresher", on=day)
    assert training_evidence("quarterly_refresher", today=day + dt.timedelta(days=80)) is not None
    assert training_evidence("quarterly_refresher") is None  # 100 days > 3 months


@pytest.mark.django_db
def test_training_evidence_needs_at_least_one_person_and_a_known_active_module(manager):
    assert training_evidence("portal_payments") is None  # nobody in billing
    assert training_evidence("no_such_module") is None
    billing = staff("bill", Role.BILLING)
    done(billing, "portal_payments")
    assert training_evidence("portal_payments") is not None
    training_module_set_active(module=module("portal_payments"), active=False)
    assert training_evidence("portal_payments") is None


# --- The demo ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_training_is_partly_complete_and_loads_once():
    from program.demo.training import demo_training

    people = {
        name: staff(name, role)
        for name, role in [
            ("frontdesk", Role.FRONT_DESK),
            ("nurse", Role.NURSE),
            ("billing", Role.BILLING),
            ("manager", Role.MANAGER),
        ]
    }
    demo_training(TODAY())
    count = TrainingCompletion.objects.count()
    demo_training(TODAY())
    assert TrainingCompletion.objects.count() == count == 4
    assert training_evidence("enrollment_at_checkin") is not None
    assert training_evidence("message_triage") is None  # billing has not taken it
    nurse = {s.module.key: s.standing for s in my_training(people["nurse"])}
    assert nurse["quarterly_refresher"] == Standing.OVERDUE
    assert nurse["message_triage"] == Standing.TRAINED


# --- At most once a day, under concurrency -------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_leave_one_completion():
    from program.services.training import training_complete_self

    nurse = staff("nora", Role.NURSE)
    triage, _new = TrainingModule.objects.get_or_create(
        key="race_module", defaults={"title": "Race", "required_roles": ["nurse"]}
    )
    barrier = threading.Barrier(2)
    results = []

    def click():
        try:
            barrier.wait()
            results.append(training_complete_self(module=triage, user=nurse)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert TrainingCompletion.objects.filter(staff=nurse, module=triage).count() == 1
