"""Incentives a manager keeps, and the two printed handouts the desk gives to patients."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import get_language_info

from enrollment.models import Incentive, IncentiveKind
from enrollment.services import incentive_create
from portal_adoption.models import AccessAction, AccessLogEntry
from tests.factories import PatientFactory
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

# --- Incentives -------------------------------------------------------------------


def test_a_manager_adds_an_incentive_with_its_value(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("enrollment:incentives"),
        {"kind": "gift_card", "name": "  $10 coffee card ", "value": "10.00"},
    )
    assert response.status_code == 302
    incentive = Incentive.objects.get()
    assert (incentive.kind, incentive.name, incentive.value, incentive.active) == (
        IncentiveKind.GIFT_CARD,
        "$10 coffee card",
        Decimal("10.00"),
        True,
    )
    page = client.get(reverse("enrollment:incentives")).content.decode()
    assert "is offered now" in page
    assert "$10.00" in page


def test_an_incentive_needs_a_kind_and_a_name_but_not_a_value(client, manager):
    client.force_login(manager)
    refused = client.post(reverse("enrollment:incentives"), {"kind": "raffle", "name": ""})
    assert refused.status_code == 400
    assert {"kind", "name"} <= set(refused.context["form"].errors)
    client.post(reverse("enrollment:incentives"), {"kind": "monthly_draw", "name": "iPad draw"})
    assert Incentive.objects.get().value is None


def test_a_manager_stops_and_restarts_offering_an_incentive(client, manager):
    incentive = incentive_create(kind="copay_discount", name="Copay -$5", value=Decimal(5))
    client.force_login(manager)
    toggle = reverse("enrollment:incentive_toggle", args=[incentive.pk])
    client.post(toggle)
    incentive.refresh_from_db()
    assert incentive.active is False
    page = client.get(reverse("enrollment:incentives")).content.decode()
    assert "is no longer offered" in page
    client.post(toggle)
    incentive.refresh_from_db()
    assert incentive.active is True


def test_the_incentive_list_says_what_to_do_when_empty(client, manager):
    client.force_login(manager)
    assert "No incentives yet" in client.get(reverse("enrollment:incentives")).content.decode()


def test_toggling_takes_a_post_only(client, manager):
    incentive = incentive_create(kind="gift_card", name="Gift card")
    client.force_login(manager)
    assert (
        client.get(reverse("enrollment:incentive_toggle", args=[incentive.pk])).status_code == 405
    )


@pytest.mark.parametrize("persona", ["front_desk_clerk", "nurse", "provider_user", "billing_clerk"])
def test_only_managers_keep_the_incentives(client, db, request, persona):
    incentive = incentive_create(kind="gift_card", name="Gift card")
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:incentives")).status_code == 403
    added = client.post(reverse("enrollment:incentives"), {"kind": "gift_card", "name": "More"})
    assert added.status_code == 403
    toggle = reverse("enrollment:incentive_toggle", args=[incentive.pk])
    assert client.post(toggle).status_code == 403
    incentive.refresh_from_db()
    assert incentive.active is True
    assert Incentive.objects.count() == 1


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_managers_and_administrators_open_the_incentives(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:incentives")).status_code == 200


# --- The quick reference card ----------------------------------------------------------


def card_url(patient):
    return reverse("enrollment:reference_card", args=[patient.pk])


def test_the_card_has_the_login_address_the_app_links_and_the_phone(
    client, front_desk_clerk, patient
):
    client.force_login(front_desk_clerk)
    html = client.get(card_url(patient)).content.decode()
    for expected in (
        settings.PORTAL_LOGIN_URL,
        settings.APP_STORE_URL,
        settings.PLAY_STORE_URL,
        settings.PRACTICE_PHONE,
        settings.PRACTICE_NAME,
        "Rosa",
        "/static/css/print.css",
    ):
        assert expected in html
    for step in ("Sign in:", "Message us:", "Book:"):
        assert step in html


def test_the_card_has_no_mrn_no_birth_date_and_no_family_name(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    html = client.get(card_url(patient)).content.decode()
    assert patient.external_id not in html
    assert "Delgado" not in html
    for birth in ("1970-05-17", "05/17/1970", "5/17/1970", "May 17, 1970", "17/05/1970"):
        assert birth not in html


def test_the_card_is_in_the_patients_language_and_logged(client, front_desk_clerk):
    maria = PatientFactory(given_name="María", preferred_language="es-MX")
    client.force_login(front_desk_clerk)
    html = client.get(card_url(maria)).content.decode()
    assert "Su portal del paciente" in html
    assert 'lang="es"' in html
    viewed = AccessLogEntry.objects.get(resource="reference_card")
    assert (viewed.action, viewed.patient) == (AccessAction.VIEW, maria)


def test_a_language_without_a_shipped_text_gets_the_english_card(client, front_desk_clerk):
    patient = PatientFactory(preferred_language="ht")
    client.force_login(front_desk_clerk)
    assert "Your patient portal" in client.get(card_url(patient)).content.decode()


def test_a_vietnamese_patients_card_is_in_vietnamese(client, front_desk_clerk):
    patient = PatientFactory(given_name="Lan", preferred_language="vi")
    client.force_login(front_desk_clerk)
    html = client.get(card_url(patient)).content.decode()
    assert "Cổng thông tin bệnh nhân của quý vị" in html
    assert 'lang="vi"' in html
    assert "Your patient portal" not in html


def test_the_clerk_prints_the_privacy_handout_in_simplified_chinese(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    html = client.get(reverse("enrollment:privacy_handout"), {"lang": "zh-hans"}).content.decode()
    assert "您的隐私与患者门户" in html
    assert "Encrypted connection" not in html
    # The switch offers every patient language, each named in its own words.
    for code in ("en", "es", "ja", "zh-hans", "vi"):
        assert f'?lang={code}" lang="{code}"' in html
        assert escape(capfirst(get_language_info(code)["name_local"])) in html


# --- The privacy handout ----------------------------------------------------------------


def test_the_privacy_handout_says_how_the_portal_is_secured(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    html = client.get(reverse("enrollment:privacy_handout")).content.decode()
    assert "HIPAA" in html
    assert "Encrypted connection" in html
    assert "We never ask for your password by email" in html
    assert settings.PRACTICE_PHONE in html
    assert "/static/css/print.css" in html


def test_the_privacy_handout_renders_in_spanish(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    html = client.get(reverse("enrollment:privacy_handout"), {"lang": "es"}).content.decode()
    assert "Su privacidad y el portal del paciente" in html
    assert "Conexión cifrada" in html
    assert 'lang="es"' in html
    assert "Encrypted connection" not in html


def test_the_english_handout_stays_english_for_a_clerk_working_in_spanish(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    html = client.get(
        reverse("enrollment:privacy_handout"), {"lang": "en"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Your privacy and the patient portal" in html


@pytest.mark.parametrize("persona", ["nurse", "provider_user", "billing_clerk"])
def test_handouts_are_printed_by_the_desk_and_managers(client, request, patient, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:privacy_handout")).status_code == 403
    assert client.get(card_url(patient)).status_code == 403


@pytest.mark.parametrize("persona", ["front_desk_clerk", "manager", "administrator"])
def test_the_printed_pages_are_safe_under_the_strict_csp(client, request, patient, persona):
    client.force_login(request.getfixturevalue(persona))
    for url in (reverse("enrollment:privacy_handout"), card_url(patient)):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_STYLE.search(html)
        assert not EVENT_HANDLER.search(html)


def test_the_management_pages_are_safe_under_the_strict_csp(client, manager):
    incentive_create(kind="gift_card", name="Gift card", value=Decimal(10))
    client.force_login(manager)
    for url in (reverse("enrollment:tech_help"), reverse("enrollment:incentives")):
        html = client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_STYLE.search(html)
        assert not EVENT_HANDLER.search(html)
