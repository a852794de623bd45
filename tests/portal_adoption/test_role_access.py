"""Who may open which page: the whole matrix, for every URL the application has."""

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from portal_adoption.models import AccessLogEntry, AccessOutcome
from portal_adoption.roles import Role

EVERYONE = set(Role)
PATIENT_READERS = {
    Role.FRONT_DESK,
    Role.NURSE,
    Role.PROVIDER,
    Role.MANAGER,
    Role.ADMINISTRATOR,
}
MANAGERS = {Role.MANAGER, Role.ADMINISTRATOR}
ADMINISTRATORS = {Role.ADMINISTRATOR}

IMPORTERS = MANAGERS
DESK = {Role.FRONT_DESK, Role.MANAGER, Role.ADMINISTRATOR}
NURSING = {Role.NURSE, Role.MANAGER, Role.ADMINISTRATOR}
ANY_QUEUE = {Role.NURSE, Role.FRONT_DESK, Role.BILLING, Role.MANAGER, Role.ADMINISTRATOR}
INTEGRATIONS_ONLY: set = set()
ENROLLMENT_SETUP = MANAGERS
VISIT_SCRIPT = {Role.NURSE, Role.PROVIDER, Role.MANAGER, Role.ADMINISTRATOR}
PHONE_SCRIPTS = {Role.FRONT_DESK, Role.NURSE, Role.MANAGER, Role.ADMINISTRATOR}


@dataclass(frozen=True)
class Page:
    """A URL, what its pk names, who may use it, and what an allowed empty request gets."""

    target: str | None
    allowed: set
    method: str = "get"
    ok: int | None = 200


def post(target, allowed, ok=302):
    return Page(target, allowed, "post", ok)


# Everyone not allowed gets 403.
PAGES = {
    "home": Page(None, EVERYONE),
    "patients:list": Page(None, PATIENT_READERS),
    "patients:detail": Page("patient", PATIENT_READERS),
    "patients:imports": Page(None, IMPORTERS),
    "patients:import_detail": Page("import", IMPORTERS),
    "patients:import_progress": Page("import", IMPORTERS),
    "patients:import_rejections_csv": Page("import", IMPORTERS),
    "enrollment:checkin": Page(None, DESK),
    "enrollment:search": post(None, DESK, ok=200),
    "enrollment:patient": Page("patient", DESK),
    "enrollment:start": post("patient", DESK),
    "enrollment:checklist": Page("enrollment", DESK),
    "enrollment:tick": post("enrollment", DESK),
    "enrollment:contact": post("enrollment", DESK, ok=400),
    "enrollment:feature": post("enrollment", DESK),
    "enrollment:incentive": post("enrollment", DESK),
    "enrollment:complete": post("enrollment", DESK),
    "enrollment:abandon": post("enrollment", DESK),
    "enrollment:completed": Page("enrollment", DESK, ok=302),
    "enrollment:follow_up": Page(None, DESK),
    "enrollment:follow_up_call": post("patient", DESK, ok=400),  # no outcome: the list again
    "enrollment:qr_create": post("enrollment", DESK, ok=200),
    "enrollment:qr_status": Page("qr", DESK),
    "enrollment:decline": Page("patient", DESK),
    "enrollment:decline_remedy": Page("patient", DESK),
    "enrollment:reference_card": Page("patient", DESK),
    "enrollment:privacy_handout": Page(None, DESK),
    "enrollment:tech_help": Page(None, ENROLLMENT_SETUP),
    "enrollment:tech_help_detail": Page("session", ENROLLMENT_SETUP),
    "enrollment:incentives": Page(None, ENROLLMENT_SETUP),
    "enrollment:incentive_toggle": post("incentive", ENROLLMENT_SETUP),
    "enrollment:visit_script": Page("patient", VISIT_SCRIPT),
    "enrollment:visit_mentioned": post("patient", VISIT_SCRIPT),
    "enrollment:phone": Page(None, PHONE_SCRIPTS),
    "enrollment:phone_search": post(None, PHONE_SCRIPTS, ok=200),
    "enrollment:phone_patient": Page("patient", PHONE_SCRIPTS),
    "enrollment:phone_outcome": post("patient", PHONE_SCRIPTS),  # no outcome: back to the page
    "enrollment:scripts": Page(None, ENROLLMENT_SETUP),
    "enrollment:script_edit": Page("script", ENROLLMENT_SETUP),
    "enrollment:script_restore": post("script", ENROLLMENT_SETUP),
    "messaging:queues": Page(None, ANY_QUEUE | {Role.PROVIDER}, ok=None),
    "messaging:queue": Page("nursing", NURSING),
    "messaging:take_next": post("nursing", NURSING),
    "messaging:checkpoint": Page("nursing-noon", NURSING),
    "messaging:tasks": Page(None, {Role.PROVIDER}),
    "messaging:urgent_alert": Page(None, NURSING),
    "messaging:notes": Page(None, NURSING),
    "messaging:detail": Page("message", NURSING),
    "messaging:reply": post("message", NURSING, ok=400),
    "messaging:call": post("message", NURSING, ok=400),
    "messaging:escalate": post("message", NURSING, ok=400),
    "messaging:reroute": post("message", NURSING, ok=400),
    "messaging:reclassify": post("message", NURSING),
    "messaging:care_related": post("message", NURSING),
    "messaging:close": post("message", NURSING, ok=400),  # no chart note: the form again
    "messaging:phone_preference": post("message", NURSING),
    "messaging:settings": Page(None, MANAGERS, ok=302),
    "messaging:rules": Page(None, MANAGERS),
    "messaging:rule_default": post(None, MANAGERS, ok=400),
    "messaging:rule_test": post(None, MANAGERS, ok=400),
    "messaging:rule_delete": post("rule", MANAGERS),
    "messaging:red_flags": Page(None, MANAGERS),
    "messaging:red_flag_delete": post("red_flag", MANAGERS),
    "messaging:templates": Page(None, MANAGERS),
    "messaging:template_new": Page(None, MANAGERS),
    "messaging:template_edit": Page("reply_template", MANAGERS),
    "messaging:template_toggle": post("reply_template", MANAGERS),
    "messaging:hours": Page(None, MANAGERS),
    "messaging:closure_add": post(None, MANAGERS, ok=400),
    "messaging:closure_delete": post("closure", MANAGERS),
    "messaging:outreach": Page(None, MANAGERS),
    "messaging:outreach_recount": post(None, MANAGERS),
    "messaging:outreach_settings": Page(None, MANAGERS),
    # Survey comments are patient data; publishing a note messages patients (issue 13).
    "messaging:feedback": Page(None, MANAGERS),
    "messaging:feedback_tag": post("survey_comment", MANAGERS, ok=400),
    "messaging:feedback_publish": post(None, MANAGERS, ok=400),
    "metrics:dashboard": Page(None, MANAGERS),
    "metrics:chart": Page("chart", MANAGERS),
    "metrics:export_csv": Page(None, MANAGERS),
    "metrics:export_pdf": Page(None, MANAGERS, ok=302),
    "metrics:targets": Page(None, MANAGERS),
    "metrics:definitions": Page(None, MANAGERS),
    "api_metrics_monthly": Page("month", MANAGERS),
    "api_metrics_electronic_access": Page(None, MANAGERS, ok=400),  # no period: 400
    "metrics:electronic_access": Page(None, MANAGERS),
    "metrics:electronic_access_csv": Page(None, MANAGERS),
    "metrics:equity": Page(None, MANAGERS),
    "api_metrics_equity": Page("month", MANAGERS),
    "metrics:forecast": Page(None, MANAGERS),
    "api_metrics_forecast": Page(None, MANAGERS),
    "metrics:funnel": Page(None, MANAGERS),
    "api_metrics_funnel": Page("month", MANAGERS),
    "enrollment:report_staff": Page(None, MANAGERS),
    "enrollment:report_declines": Page(None, MANAGERS),
    "enrollment:report_incentives": Page(None, MANAGERS),
    "messaging:report_response_times": Page(None, MANAGERS),
    "messaging:report_bill_pay": Page(None, MANAGERS),
    "messaging:report_results_education": Page(None, MANAGERS),
    # Recognition (issue 12): the board and naming the champion are the program's managers'.
    "program:recognition": Page(None, MANAGERS),
    "program:recognition_champion": post(None, MANAGERS, ok=400),
    "messaging:patient_communications": Page("patient", PATIENT_READERS),
    "api_communications": Page(None, PATIENT_READERS, ok=400),
    "api_messages": post(None, INTEGRATIONS_ONLY, ok=400),
    "api_queue_claim": post("nursing", NURSING, ok=204),
    "api_message_reply": post("message", NURSING, ok=400),
    "api_outbox": Page(None, INTEGRATIONS_ONLY),
    "api_outbox_ack": post("outbox", INTEGRATIONS_ONLY, ok=404),
    "access_log": Page(None, MANAGERS),
    # The rollout plan: everyone sees their own tasks; the task here is the front desk's.
    "program:plan": Page(None, EVERYONE),
    "program:plan_start": post(None, MANAGERS, ok=400),
    "program:task_add": post(None, MANAGERS),
    "program:task_tick": post("plan_task", DESK),
    "program:task_untick": post("plan_task", DESK),
    "program:task_move": post("plan_task", MANAGERS),
    "program:task_drop": post("plan_task", MANAGERS),
    "program:task_restore": post("plan_task", MANAGERS),
    "admin:index": Page(None, ADMINISTRATORS),
    "api_patient_detail": Page("patient", PATIENT_READERS),
    "api_patients_bulk": post(None, IMPORTERS, ok=400),
    "api_events_bulk": post(None, IMPORTERS, ok=400),
    "api_fhir_bundle": post(None, IMPORTERS, ok=400),
    "api_schema": Page(None, MANAGERS),
    "api_docs": Page(None, MANAGERS),
    "account_language": Page(None, EVERYONE),
    "password_change": Page(None, EVERYONE),
    "two_factor": Page(None, EVERYONE),
    "two_factor_setup": Page(None, EVERYONE),
    "two_factor_verify": Page(None, EVERYONE, ok=302),  # already verified, or not needed
    "two_factor_recovery_codes": post(None, EVERYONE, ok=None),  # codes, or "set up first"
    "two_factor_off": post(None, EVERYONE),
    "program:training": Page(None, EVERYONE),
    "program:training_done": post("training_module", EVERYONE),
    "program:training_session": post(None, MANAGERS, ok=400),  # no attendees: the form again
    "program:training_completion_undo": post("training_completion", MANAGERS),
    "program:training_module_new": Page(None, MANAGERS),
    "program:training_module_edit": Page("training_module", MANAGERS),
    "program:training_module_active": post("training_module", MANAGERS),
}
# Pages outside the matrix, each for a stated reason.
NOT_ROLE_PAGES = {
    "login": "the sign-in form is for everyone",
    "logout": "signing out is for everyone",
    "qr_patient:start": "the patient's own phone, opened from the QR code: no staff login",
    "outreach:survey": "the patient's survey link: no login, a signed single-use token",
    "outreach:unsubscribe": "the patient's unsubscribe link: no login, a signed token",
    "outreach:sms_inbound": "the SMS provider's webhook: a signed request, no login",
    "password_reset": "a forgotten password: no login, the link goes to the account's email",
    "password_reset_done": "a forgotten password: no login",
    "password_reset_confirm": "a forgotten password: no login, a single-use signed token",
    "password_reset_complete": "a forgotten password: no login",
}


def all_url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from all_url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def make_target(kind, patient):
    """The record a URL's pk names, made fresh for each request."""
    from enrollment.models import Incentive, Script, TechHelpSession
    from enrollment.services import enrollment_open, qr_invitation_create
    from patients.models import ImportRun
    from tests.factories import UserFactory

    clerk = UserFactory(username="matrix-clerk")
    if kind == "patient":
        return patient
    if kind == "import":
        return ImportRun.objects.create(kind="patients", source="feed_csv")
    if kind == "enrollment":
        return enrollment_open(patient=patient, by=clerk)
    if kind == "qr":
        return qr_invitation_create(
            enrollment=enrollment_open(patient=patient, by=clerk), by=clerk
        )[0]
    if kind == "session":
        return TechHelpSession.objects.create(
            starts_at=timezone.now(), capacity=5, created_by=clerk
        )
    if kind == "incentive":
        return Incentive.objects.create(kind="gift_card", name="Gift card", value=10)
    if kind == "script":
        return Script.objects.get_or_create(key="visit", language="es", defaults={"text": "Hola"})[
            0
        ]
    if kind.startswith("training_"):
        return make_training_target(kind, clerk)
    if kind == "plan_task":
        from program.models import PlanTask, RolloutPlan

        plan = RolloutPlan.objects.create(start_date=timezone.localdate(), created_by=clerk)
        return PlanTask.objects.create(
            plan=plan, phase="enrollment", title="Matrix task", due_week=1, owner_role="front_desk"
        )
    return make_messaging_target(kind, patient)


def make_training_target(kind, clerk):
    from program.models.training import TrainingCompletion, TrainingModule

    module, _new = TrainingModule.objects.get_or_create(
        key="matrix_module", defaults={"title": "Matrix", "required_roles": ["nurse"]}
    )
    if kind == "training_module":
        return module
    return TrainingCompletion.objects.create(
        staff=clerk, module=module, completed_on=timezone.localdate(), recorded_by=clerk
    )


def make_messaging_target(kind, patient):
    import datetime as dt

    from messaging.models import RedFlag, ReplyTemplate, RoutingRule
    from messaging.services import Inbound, message_receive
    from portal_adoption.models import PracticeClosure

    if kind == "message":
        inbound = Inbound(
            message_id=f"matrix-{timezone.now().timestamp()}",
            patient=patient,
            subject="Refill",
            body="my medication refill please",
            sent_at=timezone.now(),
        )
        return message_receive(inbound=inbound)[0]
    if kind == "rule":
        return RoutingRule.objects.create(category="billing", phrase="matrix phrase")
    if kind == "red_flag":
        return RedFlag.objects.create(phrase="matrix flag")
    if kind == "reply_template":
        return ReplyTemplate.objects.create(category="clinical", name="Matrix", body="Hi")
    if kind == "closure":
        return PracticeClosure.objects.create(
            date=timezone.localdate() + dt.timedelta(days=400), name="Matrix"
        )
    if kind == "outbox":
        return type("Missing", (), {"pk": 999_999})()
    if kind == "survey_comment":
        from tests.messaging.test_feedback import survey_comment

        return survey_comment(patient, score=4, comment="Matrix comment")
    raise ValueError(kind)


def url_for(name, patient):
    target = PAGES[name].target
    if target is None:
        return reverse(name)
    if target == "nursing":
        return reverse(name, kwargs={"queue": "nursing"})
    if target == "nursing-noon":
        return reverse(name, kwargs={"queue": "nursing", "checkpoint": "noon"})
    if target == "chart":
        return reverse(name, kwargs={"figure": "enrollment_rate"})
    if target == "month":
        return reverse(name, kwargs={"month": "2026-01"})
    return reverse(name, kwargs={"pk": make_target(target, patient).pk})


def open_as(client, name, patient):
    url = url_for(name, patient)
    if PAGES[name].method == "post":
        if name.startswith("api"):
            return client.post(url, {}, content_type="application/json")
        return client.post(url, {})
    return client.get(url)


def test_every_url_of_the_application_is_in_the_access_matrix():
    names = {n for n in all_url_names() if not n.startswith("admin:")}
    missing = names - set(PAGES) - set(NOT_ROLE_PAGES)
    assert not missing, f"add these URLs to the role matrix: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_opens_exactly_the_pages_it_needs(client, personas, patient, name, role):
    client.force_login(personas[role])
    page = PAGES[name]
    response = open_as(client, name, patient)
    if role not in page.allowed:
        assert response.status_code == 403
    elif page.ok is None:  # a landing page: the queue list or a redirect to one
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == page.ok


@pytest.mark.parametrize("name", sorted(n for n in PAGES if not n.startswith("api")))
def test_a_visitor_who_is_not_signed_in_is_sent_to_the_sign_in_page(client, patient, name):
    response = client.get(url_for(name, patient), follow=True)
    final_url, _status = response.redirect_chain[-1]
    assert final_url.startswith(reverse("login"))
    assert response.templates[0].name == "registration/login.html"


@pytest.mark.parametrize("name", sorted(n for n in PAGES if n.startswith("api")))
def test_the_api_refuses_a_caller_who_is_not_signed_in(client, patient, name):
    response = open_as(client, name, patient)
    assert response.status_code in (401, 403)


def test_billing_opening_a_patient_record_gets_403_and_a_denied_row(client, billing_clerk, patient):
    client.force_login(billing_clerk)
    response = client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 403
    assert b"not available to your role" in response.content
    denied = AccessLogEntry.objects.get(outcome=AccessOutcome.DENIED)
    assert denied.user == billing_clerk
    assert denied.resource == "patients:detail"
    assert denied.object_id == str(patient.pk)


def test_an_anonymous_api_call_is_logged_as_denied(client, patient):
    client.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    denied = AccessLogEntry.objects.get(outcome=AccessOutcome.DENIED)
    assert denied.user is None
    assert denied.resource == "api_patient_detail"


def test_a_user_without_any_role_sees_only_the_home_page(client, patient):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="newhire"))
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("patients:list")).status_code == 403


def test_the_menu_shows_each_role_only_its_areas(client, personas):
    client.force_login(personas[Role.BILLING])
    billing_page = client.get(reverse("home")).content.decode()
    client.force_login(personas[Role.MANAGER])
    manager_page = client.get(reverse("home")).content.decode()
    assert reverse("access_log") not in billing_page
    assert reverse("patients:list") not in billing_page
    assert reverse("access_log") in manager_page
    assert reverse("admin:index") not in manager_page


# --- The communications log: each row only for those who may see its source ------------

LOG_KINDS = {
    "outreach",
    "nursing_reply",
    "red_flag_reply",
    "front_desk_reply",
    "billing_reply",
    "escalated_reply",
    "unlinked_reply",
}
OTHER_PROVIDER = "other_provider"
# What each viewer finds in the patient's log; None: the page and the API answer 403.
LOG_SEEN_BY = {
    Role.FRONT_DESK: {"outreach", "front_desk_reply"},
    Role.NURSE: {"outreach", "nursing_reply", "red_flag_reply"},
    Role.PROVIDER: {"outreach", "escalated_reply"},  # drpatel: the patient's own provider
    OTHER_PROVIDER: {"outreach"},
    Role.BILLING: None,
    Role.MANAGER: LOG_KINDS,
    Role.ADMINISTRATOR: LOG_KINDS,
}
LOG_SURFACES = ["page", "api_get", "api_post"]


@pytest.fixture
def communications_log(personas, patient):
    """Rosa's log with a row of every kind, each with a text no other row has."""
    from messaging.models import Communication
    from messaging.services import Inbound, message_escalate, message_receive, message_reply
    from tests.factories import ProviderFactory

    patient.primary_provider = ProviderFactory(user=personas[Role.PROVIDER])
    patient.save()

    def replied(kind, text, by):
        message = message_receive(
            inbound=Inbound(
                message_id=f"log-{kind}",
                patient=patient,
                subject=f"SUBJECT-{kind}",
                body=text,
                sent_at=timezone.now(),
            )
        )[0]
        message_reply(message=message, body=f"BODY-{kind}", by=by)
        return message

    nurse = personas[Role.NURSE]
    rows = {
        "outreach": Communication.objects.create(
            patient=patient,
            rule="no_login_reminder",
            period="2026-01-05",
            channel="email",
            status="sent",
            subject="Your portal account",
            body="BODY-outreach",
            job="nightly",
        ),
        "unlinked_reply": Communication.objects.create(
            patient=patient, channel="portal", status="sent", body="BODY-unlinked_reply"
        ),
    }
    for kind, text, by in (
        ("nursing_reply", "the rash is spreading", nurse),
        ("front_desk_reply", "I need to reschedule my appointment", personas[Role.FRONT_DESK]),
        ("billing_reply", "Question about my bill and the copay", personas[Role.BILLING]),
        ("escalated_reply", "new pain in my knee", nurse),
    ):
        message = replied(kind, text, by)
        rows[kind] = Communication.objects.get(message=message, sent_by=by)
    escalated = rows["escalated_reply"].message
    message_escalate(message=escalated, note="Please advise on imaging.", by=nurse)
    red_flag = message_receive(
        inbound=Inbound(
            message_id="log-red-flag",
            patient=patient,
            subject="SUBJECT-red_flag_reply",
            body="I have chest pain",
            sent_at=timezone.now(),
        )
    )[0]
    rows["red_flag_reply"] = Communication.objects.get(message=red_flag)
    assert set(rows) == LOG_KINDS
    return rows


def log_viewer(personas, viewer):
    from tests.factories import ProviderFactory, staff

    if viewer == OTHER_PROVIDER:
        other = staff("drlee", Role.PROVIDER)
        ProviderFactory(user=other)
        return other
    return personas[viewer]


def read_log(client, surface, patient):
    if surface == "page":
        response = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
        rows = response.context["rows"] if response.status_code == 200 else []
        return response, {row.pk for row in rows}
    if surface == "api_get":
        response = client.get(reverse("api_communications"), {"patient": patient.external_id})
    else:
        response = client.post(
            reverse("api_communications"),
            {"patient": patient.external_id},
            content_type="application/json",
        )
    rows = response.json() if response.status_code == 200 else []
    return response, {row["id"] for row in rows}


@pytest.mark.parametrize("surface", LOG_SURFACES)
@pytest.mark.parametrize("viewer", list(LOG_SEEN_BY), ids=str)
def test_each_role_sees_only_the_communications_it_may_see_the_source_of(
    client, personas, patient, communications_log, viewer, surface
):
    client.force_login(log_viewer(personas, viewer))
    response, shown = read_log(client, surface, patient)
    expected = LOG_SEEN_BY[viewer]
    if expected is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert shown == {communications_log[kind].pk for kind in expected}
    text = response.content.decode()
    for kind in LOG_KINDS - expected:
        assert f"BODY-{kind}" not in text
    # The patients' subjects are clinical text: the log never repeats them.
    assert "SUBJECT-" not in text


def test_every_kind_of_communication_is_in_the_log_matrix(communications_log):
    from messaging.models import Communication

    assert set(Communication.objects.values_list("pk", flat=True)) == {
        row.pk for row in communications_log.values()
    }
