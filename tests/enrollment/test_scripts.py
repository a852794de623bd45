"""Scripts for every role, where the work happens: the visit, the phone, the managers' wording."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from enrollment.demo import demo_script_outcomes
from enrollment.models import (
    ConversationOutcome,
    Decline,
    PortalConversation,
    Script,
    ScriptKey,
)
from enrollment.playbook import PLAYBOOK_SCRIPTS, SHIPPED_LANGUAGES, playbook_wording
from enrollment.selectors import FollowUpKind, follow_up_list, phone_script_conversions_by_staff
from enrollment.services import (
    SCRIPT_MAX_LENGTH,
    EnrollmentError,
    conversation_record,
    script_restore,
    script_update,
    scripts_ensure,
)
from patients.models import EventType
from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.factories import ActivityEventFactory, PatientFactory, staff
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

VISIT_EN = playbook_wording(ScriptKey.VISIT, "en")
VISIT_ES = playbook_wording(ScriptKey.VISIT, "es")
BOOKING_EN = playbook_wording(ScriptKey.PHONE_BOOKING, "en")
BOOKING_ES = playbook_wording(ScriptKey.PHONE_BOOKING, "es")
RESULTS_EN = playbook_wording(ScriptKey.PHONE_RESULTS, "en")


def visit_script(client, patient, **query):
    return client.get(reverse("enrollment:visit_script", args=[patient.pk]), query)


def phone_page(client, patient, **query):
    return client.get(reverse("enrollment:phone_patient", args=[patient.pk]), query)


def phone_outcome(client, patient, outcome, script="phone_booking", key="k1", **extra):
    data = {"script": script, "outcome": outcome, "idempotency_key": key, "language": "en"}
    return client.post(reverse("enrollment:phone_outcome", args=[patient.pk]), {**data, **extra})


# --- Where each script appears, for whom ---


@pytest.mark.parametrize("role", [Role.NURSE, Role.PROVIDER, Role.MANAGER])
def test_clinical_staff_see_the_visit_script_beside_the_portal_status(
    client, personas, patient, role
):
    client.force_login(personas[role])
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    fragment_url = reverse("enrollment:visit_script", args=[patient.pk])
    assert f'hx-get="{fragment_url}"' in page and 'hx-trigger="load"' in page
    fragment = visit_script(client, patient)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert escape(VISIT_EN) in html
    assert "Portal status" in html and "Never offered" in html
    assert "Portal mentioned in visit" in html


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_the_visit_script_is_not_for_the_desk_or_billing(client, personas, patient, role):
    client.force_login(personas[role])
    assert visit_script(client, patient).status_code == 403
    page = client.get(reverse("patients:detail", args=[patient.pk]))
    if role == Role.FRONT_DESK:
        assert page.status_code == 200
        assert "visit-script" not in page.content.decode()
    else:
        assert page.status_code == 403


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE])
def test_the_desk_and_nurses_see_both_phone_scripts_and_the_nav_entry(
    client, personas, patient, role
):
    client.force_login(personas[role])
    home = client.get(reverse("home")).content.decode()
    assert reverse("enrollment:phone") in home
    booking = phone_page(client, patient, call="booking").content.decode()
    results = phone_page(client, patient, call="results").content.decode()
    assert escape(BOOKING_EN) in booking and escape(RESULTS_EN) not in booking
    assert escape(RESULTS_EN) in results and escape(BOOKING_EN) not in results
    for html in (booking, results):
        assert "Already enrolled" in html and "Wants an invitation" in html
        assert "Portal status" in html


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.BILLING])
def test_providers_and_billing_have_no_phone_page(client, personas, patient, role):
    client.force_login(personas[role])
    assert client.get(reverse("enrollment:phone")).status_code == 403
    assert phone_page(client, patient).status_code == 403
    assert phone_outcome(client, patient, "wants_invitation").status_code == 403
    assert reverse("enrollment:phone") not in client.get(reverse("home")).content.decode()
    assert not PortalConversation.objects.exists()


def test_the_phone_search_finds_the_caller_for_a_nurse(client, nurse):
    rosa = PatientFactory(given_name="Rosa", family_name="Delgado")
    PatientFactory(given_name="Tom", family_name="Baker")
    client.force_login(nurse)
    response = client.post(reverse("enrollment:phone_search"), {"q": "Delgado"})
    assert [p for p, _s in response.context["results"]] == [rosa]
    html = response.content.decode()
    assert reverse("enrollment:phone_patient", args=[rosa.pk]) + "?call=results" in html
    entry = AccessLogEntry.objects.get()
    assert (entry.patient, entry.action) == (rosa, AccessAction.LIST)


def test_the_script_pages_have_no_inline_script_or_style(client, nurse, manager, patient):
    client.force_login(nurse)
    pages = [visit_script(client, patient), phone_page(client, patient)]
    pages.append(client.get(reverse("enrollment:phone")))
    client.force_login(manager)
    pages.append(client.get(reverse("enrollment:scripts")))
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_STYLE.search(html)
        assert not EVENT_HANDLER.search(html)


# --- Languages ---


def test_a_spanish_speaking_patient_gets_the_scripts_in_spanish(client, nurse):
    ana = PatientFactory(preferred_language="es-MX")
    client.force_login(nurse)
    html = visit_script(client, ana).content.decode()
    assert escape(VISIT_ES) in html and escape(VISIT_EN) not in html
    assert "In Spanish" in html and "the patient's language" in html
    assert "Show it in English" in html
    phone = phone_page(client, ana, call="booking").content.decode()
    assert escape(BOOKING_ES) in phone and escape(BOOKING_EN) not in phone


def test_staff_can_show_the_other_language(client, nurse):
    ana = PatientFactory(preferred_language="es")
    client.force_login(nurse)
    html = visit_script(client, ana, lang="en").content.decode()
    assert escape(VISIT_EN) in html and escape(VISIT_ES) not in html
    assert "Show it in Spanish" in html


def test_a_language_not_shipped_falls_back_to_english(client, nurse):
    pierre = PatientFactory(preferred_language="fr")
    client.force_login(nurse)
    assert escape(VISIT_EN) in visit_script(client, pierre).content.decode()


@pytest.mark.parametrize("query", [{"lang": "de"}, {"call": "billing"}])
def test_a_bad_language_or_call_is_refused_with_a_message(client, nurse, patient, query):
    client.force_login(nurse)
    response = phone_page(client, patient, **query)
    assert response.status_code == 400
    assert "does not offer" in response.content.decode()


# --- Managers edit the wording ---


def test_the_playbook_wording_is_stored_for_every_script_and_language(db):
    stored = {(s.key, s.language): s.text for s in Script.objects.all()}
    expected = {
        (key, lang): playbook_wording(key, lang)
        for key in PLAYBOOK_SCRIPTS
        for lang in SHIPPED_LANGUAGES
    }
    assert stored == expected
    assert {lang for _key, lang in stored} == {"en", "es", "ja", "zh-hans", "vi"}


def test_setting_up_stores_only_the_missing_wordings_and_keeps_a_managers_own(db):
    """scripts_ensure (the demo's set-up) fills the gaps and touches nothing edited."""
    Script.objects.filter(key=ScriptKey.VISIT, language="es").delete()
    Script.objects.filter(key=ScriptKey.PHONE_BOOKING, language="ja").delete()
    Script.objects.filter(key=ScriptKey.PHONE_RESULTS, language="en").update(text="Our words.")

    assert scripts_ensure() == 2
    assert Script.objects.get(key=ScriptKey.VISIT, language="es").text == VISIT_ES
    assert Script.objects.get(key=ScriptKey.PHONE_BOOKING, language="ja").text == (
        playbook_wording(ScriptKey.PHONE_BOOKING, "ja")
    )
    assert Script.objects.get(key=ScriptKey.PHONE_RESULTS, language="en").text == "Our words."
    assert Script.objects.count() == len(PLAYBOOK_SCRIPTS) * len(SHIPPED_LANGUAGES)
    assert scripts_ensure() == 0


def test_a_manager_edits_the_spanish_visit_script_and_the_nurse_sees_it(client, manager, nurse):
    script = Script.objects.get(key=ScriptKey.VISIT, language="es")
    client.force_login(manager)
    page = client.get(reverse("enrollment:scripts")).content.decode()
    assert escape(VISIT_ES) in page and reverse("enrollment:script_edit", args=[script.pk]) in page
    response = client.post(
        reverse("enrollment:script_edit", args=[script.pk]),
        {"text": "Le pido un análisis; verá el resultado en el portal. ¿Ya entró?"},
    )
    assert response.status_code == 302
    script.refresh_from_db()
    assert script.updated_by == manager
    ana = PatientFactory(preferred_language="es")
    client.force_login(nurse)
    html = visit_script(client, ana).content.decode()
    assert "Le pido un análisis; verá el resultado en el portal. ¿Ya entró?" in html
    assert escape(VISIT_ES) not in html
    # The English wording is untouched.
    assert escape(VISIT_EN) in visit_script(client, ana, lang="en").content.decode()


def test_a_manager_restores_the_playbook_wording(client, manager):
    script = Script.objects.get(key=ScriptKey.PHONE_RESULTS, language="en")
    client.force_login(manager)
    client.post(reverse("enrollment:script_edit", args=[script.pk]), {"text": "Our own words."})
    assert (
        "Restore the playbook wording" in client.get(reverse("enrollment:scripts")).content.decode()
    )
    client.post(reverse("enrollment:script_restore", args=[script.pk]))
    script.refresh_from_db()
    assert script.text == RESULTS_EN


def test_restoring_the_spanish_wording_gives_spanish_back_in_the_managers_name(manager, db):
    script = Script.objects.get(key=ScriptKey.PHONE_BOOKING, language="es")
    script_update(script=script, text="Nuestras palabras.", by=None)

    script_restore(script=script, by=manager)

    script.refresh_from_db()
    assert (script.text, script.updated_by) == (BOOKING_ES, manager)


def test_a_wording_may_be_as_long_as_the_limit_and_no_longer(manager, db):
    script = Script.objects.get(key=ScriptKey.VISIT, language="en")

    script_update(script=script, text="a" * SCRIPT_MAX_LENGTH, by=manager)
    with pytest.raises(EnrollmentError, match="Keep the script under"):
        script_update(script=script, text="b" * (SCRIPT_MAX_LENGTH + 1), by=manager)

    script.refresh_from_db()
    assert script.text == "a" * SCRIPT_MAX_LENGTH


def test_an_empty_wording_is_refused(client, manager):
    script = Script.objects.get(key=ScriptKey.PHONE_BOOKING, language="en")
    client.force_login(manager)
    response = client.post(reverse("enrollment:script_edit", args=[script.pk]), {"text": "   "})
    assert response.status_code == 400
    script.refresh_from_db()
    assert script.text == BOOKING_EN


def test_the_check_in_script_is_edited_in_the_same_place(
    client, manager, front_desk_clerk, patient
):
    script = Script.objects.get(key=ScriptKey.CHECKIN, language="en")
    client.force_login(manager)
    client.post(
        reverse("enrollment:script_edit", args=[script.pk]),
        {"text": "Let's get you on the portal today. What's your email?"},
    )
    client.force_login(front_desk_clerk)
    html = client.get(reverse("enrollment:patient", args=[patient.pk])).content.decode()
    assert "Let&#x27;s get you on the portal today. What&#x27;s your email?" in html


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.BILLING])
def test_only_managers_edit_scripts(client, personas, role):
    script = Script.objects.get(key=ScriptKey.VISIT, language="en")
    client.force_login(personas[role])
    response = client.post(reverse("enrollment:script_edit", args=[script.pk]), {"text": "x"})
    assert response.status_code == 403
    script.refresh_from_db()
    assert script.text == VISIT_EN


# --- Outcomes ---


def test_a_nurse_records_portal_mentioned_in_visit(client, nurse, patient):
    client.force_login(nurse)
    form = visit_script(client, patient).context["form"]
    key = form.initial["idempotency_key"]
    response = client.post(
        reverse("enrollment:visit_mentioned", args=[patient.pk]),
        {"idempotency_key": key, "language": "en"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "the portal was mentioned in the visit" in response.content.decode()
    conversation = PortalConversation.objects.get()
    assert (
        conversation.patient,
        conversation.staff,
        conversation.script,
        conversation.outcome,
    ) == (
        patient,
        nurse,
        "visit",
        "mentioned_in_visit",
    )
    assert conversation.decline is None


def test_a_double_click_on_portal_mentioned_records_once(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("enrollment:visit_mentioned", args=[patient.pk])
    first = client.post(url, {"idempotency_key": "abc123", "language": "en"})
    second = client.post(url, {"idempotency_key": "abc123", "language": "en"})
    assert first.status_code == second.status_code == 302
    assert PortalConversation.objects.count() == 1
    client.post(url, {"idempotency_key": "def456", "language": "en"})
    assert PortalConversation.objects.count() == 2


def test_wants_an_invitation_puts_the_patient_on_the_follow_up_list_until_invited(
    client, front_desk_clerk, patient
):
    client.force_login(front_desk_clerk)
    assert list(follow_up_list()) == []
    response = phone_outcome(client, patient, "wants_invitation")
    assert response.status_code == 302
    conversation = PortalConversation.objects.get()
    assert (conversation.outcome, conversation.script, conversation.staff) == (
        "wants_invitation",
        "phone_booking",
        front_desk_clerk,
    )
    listed = list(follow_up_list())
    assert listed == [patient] and listed[0].follow_up_kind == FollowUpKind.ASKED_BY_PHONE
    page = client.get(reverse("enrollment:follow_up")).content.decode()
    assert "Asked for an invitation by phone" in page and patient.family_name in page
    # An invitation from before the request does not take the patient off.
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=conversation.at - dt.timedelta(days=1),
    )
    assert [p.follow_up_kind for p in follow_up_list()] == [FollowUpKind.ASKED_BY_PHONE]
    # The invitation sent after the request does.
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=conversation.at + dt.timedelta(minutes=5),
    )
    assert list(follow_up_list()) == []


def test_an_old_invitation_without_a_login_is_still_the_no_login_kind(db, patient):
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=timezone.now() - dt.timedelta(days=10),
    )
    assert [p.follow_up_kind for p in follow_up_list()] == [FollowUpKind.NO_LOGIN]


def test_a_phone_decline_shows_its_reason_and_remedy_at_the_next_check_in(
    client, nurse, front_desk_clerk, patient
):
    client.force_login(nurse)
    phone_outcome(client, patient, "declined", script="phone_results", reason="privacy")
    conversation = PortalConversation.objects.get()
    decline = Decline.objects.get()
    assert conversation.decline == decline
    assert (decline.patient, decline.reason, decline.recorded_by) == (patient, "privacy", nurse)
    assert list(follow_up_list()) == []
    client.force_login(front_desk_clerk)
    html = client.get(reverse("enrollment:patient", args=[patient.pk])).content.decode()
    assert "I&#x27;m worried about privacy" in html
    assert "Give the one-page privacy handout" in html


def test_declined_without_a_reason_records_nothing(client, nurse, patient):
    client.force_login(nurse)
    response = phone_outcome(client, patient, "declined")
    assert response.status_code == 302
    assert not PortalConversation.objects.exists() and not Decline.objects.exists()


def test_already_enrolled_records_only_the_conversation(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    phone_outcome(client, patient, "already_enrolled", script="phone_results")
    conversation = PortalConversation.objects.get()
    assert (conversation.outcome, conversation.script) == ("already_enrolled", "phone_results")
    assert not Decline.objects.exists() and list(follow_up_list()) == []


def test_a_double_submitted_phone_outcome_records_once(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    phone_outcome(client, patient, "declined", reason="no_email", key="same")
    response = phone_outcome(client, patient, "declined", reason="no_email", key="same")
    assert response.status_code == 302
    assert PortalConversation.objects.count() == 1 and Decline.objects.count() == 1


def test_a_visit_script_cannot_record_a_phone_outcome(db, nurse, patient):
    with pytest.raises(EnrollmentError):
        conversation_record(patient=patient, script="visit", outcome="wants_invitation", by=nurse)
    assert not PortalConversation.objects.exists()


def test_each_read_and_each_outcome_is_access_logged(client, nurse, patient):
    client.force_login(nurse)
    visit_script(client, patient)
    phone_page(client, patient)
    phone_outcome(client, patient, "wants_invitation")
    rows = list(AccessLogEntry.objects.filter(patient=patient).order_by("id"))
    assert [(r.action, r.resource) for r in rows] == [
        (AccessAction.VIEW, "portal_status"),
        (AccessAction.VIEW, "portal_status"),
        (AccessAction.CHANGE, "portal_conversation"),
    ]
    assert all(r.user == nurse for r in rows)
    assert all(str(patient.family_name) not in r.path for r in rows)


# --- The recognition board's count ---


def test_phone_script_conversions_by_staff_match_a_hand_count(db, front_desk_clerk, nurse, patient):
    zone = ZoneInfo(settings.TIME_ZONE)
    first, last = dt.date(2026, 3, 1), dt.date(2026, 3, 31)

    def at(day, hour, minute=0):
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)

    def record(by, when, script="phone_booking", outcome="wants_invitation", **extra):
        conversation_record(
            patient=patient, script=script, outcome=outcome, by=by, at=when, **extra
        )

    # Counted: the clerk 3 (first minute, mid-month, last minute), the nurse 1.
    record(front_desk_clerk, at(first, 0, 0))
    record(front_desk_clerk, at(dt.date(2026, 3, 15), 11), script="phone_results")
    record(front_desk_clerk, at(last, 23, 59))
    record(nurse, at(dt.date(2026, 3, 10), 9))
    # Not counted: outside the days in practice time, or not a conversion.
    record(front_desk_clerk, at(first, 0, 0) - dt.timedelta(minutes=1))
    record(front_desk_clerk, at(last + dt.timedelta(days=1), 0, 0))
    record(nurse, at(dt.date(2026, 3, 10), 10), outcome="already_enrolled")
    record(nurse, at(dt.date(2026, 3, 11), 10), outcome="declined", decline_reason="privacy")
    record(nurse, at(dt.date(2026, 3, 12), 10), script="visit", outcome="mentioned_in_visit")
    assert phone_script_conversions_by_staff(first, last) == {
        front_desk_clerk.pk: 3,
        nurse.pk: 1,
    }
    assert phone_script_conversions_by_staff(dt.date(2026, 4, 1), dt.date(2026, 4, 30)) == {
        front_desk_clerk.pk: 1
    }


# --- The demo ---


def test_the_demo_records_conversations_once_through_the_service(db):
    desk = staff("frontdesk", Role.FRONT_DESK)
    nurse_user = staff("nurse", Role.NURSE)
    enrolled = PatientFactory()
    ActivityEventFactory(
        patient=enrolled,
        type=EventType.PORTAL_ACTIVATED,
        channel="portal",
        occurred_at=timezone.now() - dt.timedelta(days=60),
    )
    PatientFactory.create_batch(3)
    today = timezone.localdate()
    created = demo_script_outcomes(today)
    assert created == PortalConversation.objects.count() > 0
    assert demo_script_outcomes(today) == 0
    assert PortalConversation.objects.count() == created
    staff_ids = set(PortalConversation.objects.values_list("staff_id", flat=True))
    assert staff_ids == {desk.pk, nurse_user.pk}
    declined = PortalConversation.objects.filter(outcome=ConversationOutcome.DECLINED)
    assert all(c.decline_id for c in declined)
    asked = {p.pk for p in follow_up_list() if p.follow_up_kind == FollowUpKind.ASKED_BY_PHONE}
    assert asked


def test_each_button_of_the_phone_page_records_once_however_often_it_is_clicked(
    client, front_desk_clerk, patient
):
    client.force_login(front_desk_clerk)
    html = phone_page(client, patient, call="results").content.decode()
    assert '<select name="script"' not in html
    found = re.findall(r'name="idempotency_key" value="([0-9a-f]+-(\w+))"', html)
    keys = {outcome: key for key, outcome in found}
    assert set(keys) == {"already_enrolled", "wants_invitation", "declined"}
    for _click in range(2):
        phone_outcome(
            client, patient, "wants_invitation", "phone_results", keys["wants_invitation"]
        )
    assert PortalConversation.objects.count() == 1
    # Another button of the same page is another outcome, recorded on its own.
    phone_outcome(client, patient, "already_enrolled", "phone_results", keys["already_enrolled"])
    assert sorted(PortalConversation.objects.values_list("outcome", flat=True)) == [
        "already_enrolled",
        "wants_invitation",
    ]


def test_the_scripts_page_lists_a_wording_nobody_on_staff_changed(client, manager, db):
    """A wording an import changed has no author; the list still opens and shows it.

    Found by the browser walk (tests/browser): the page answered 500.
    """
    from django.utils import timezone

    from enrollment.models import Script

    Script.objects.update_or_create(
        key="visit",
        language="es",
        defaults={"text": "Hola", "updated_by": None, "updated_at": timezone.now()},
    )
    client.force_login(manager)
    response = client.get(reverse("enrollment:scripts"))
    assert response.status_code == 200
    assert "Hola" in response.content.decode()
