"""The managers' outreach settings page: each rule on or off, its wording, its numbers."""

import datetime as dt

import pytest
from django.urls import reverse

from messaging.models import Communication, OutreachSetting
from messaging.outreach import outreach_setting_save, rule_option
from messaging.services.manage import SettingsError
from tests.messaging.test_annual_recall import TODAY, enrolled, night
from tests.messaging.test_outreach import _email_and_sms  # noqa: F401

URL = reverse("messaging:outreach_settings")
RULE = "annual_exam_recall"


def save(client, rule=RULE, **fields):
    data = {"rule": rule, "enabled": "on", **({"per_week": "50"} if rule == RULE else {})}
    data.update(fields)
    return client.post(URL, {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.django_db
def test_the_manager_sees_every_rule_with_its_shipped_wording_and_numbers(signed_in):
    page = signed_in.get(URL).content.decode()
    for label in (
        "Reminder: no login a week after enrollment",
        "Feature of the month",
        "Annual exam: book it in the portal",
        "Bill-pay reminder",
    ):
        assert label in page
    assert "Did you know you can schedule your annual physical" in page  # the placeholder
    assert 'name="per_week"' in page and 'value="50"' in page
    assert "The dashboard figure it serves: Annual exams self-scheduled." in page
    assert "As shipped: never changed." in page


@pytest.mark.django_db
def test_switching_the_recall_off_on_the_page_stops_its_claims(signed_in, manager):
    enrolled()
    response = save(signed_in, enabled=None)
    assert response.status_code == 302 and response.url.endswith("#rule-annual_exam_recall")
    setting = OutreachSetting.objects.get(rule=RULE)
    assert setting.enabled is False and setting.updated_by == manager

    run = night(TODAY)

    assert not Communication.objects.filter(rule=RULE).exists()
    assert run.counts[RULE]["switched_off"] == 1
    page = signed_in.get(URL).content.decode()
    assert "Annual exam: book it in the portal: saved." in page
    assert f"Changed by {manager.get_full_name() or manager.get_username()} on" in page


@pytest.mark.django_db
def test_wording_saved_on_the_page_goes_out_in_the_next_message(signed_in):
    patient = enrolled(preferred_language="es")
    response = save(
        signed_in,
        subject_es="Su chequeo anual",
        body_es="Hola {first_name}, reserve su chequeo en {portal_url}",
    )
    assert response.status_code == 302

    night(TODAY)

    message = Communication.objects.get(rule=RULE, patient=patient)
    assert message.subject == "Su chequeo anual"
    assert message.body.startswith(f"Hola {patient.given_name}, reserve su chequeo en https://")


@pytest.mark.django_db
def test_a_bad_placeholder_is_refused_naming_it(signed_in):
    response = save(signed_in, body_en="Hi {first_name}, book at {booking_link} or {portal_url}")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown placeholder: {booking_link}." in page
    assert not OutreachSetting.objects.filter(rule=RULE).exists()
    unclosed = save(signed_in, subject_en="Book {first_name")
    assert unclosed.status_code == 400 and "A brace is not closed" in unclosed.content.decode()


@pytest.mark.django_db
def test_the_survey_text_may_use_its_link_and_must_keep_it(signed_in):
    ok = save(signed_in, "satisfaction_survey", body_en="Rate us 1-5: {survey_url}")
    assert ok.status_code == 302
    lost = save(signed_in, "satisfaction_survey", body_en="Rate us 1 to 5, please.")
    assert lost.status_code == 400 and "Keep {survey_url} in the text" in lost.content.decode()


@pytest.mark.parametrize(
    ("rule", "field", "value", "label"),
    [
        (RULE, "per_week", "0", "Messages per week must be a whole number from 1 to 10000."),
        (RULE, "per_week", "10001", "Messages per week must be a whole number from 1 to 10000."),
        ("results_education", "wait_hours", "73", "Hours to wait must be a whole number from 1"),
        ("bill_reminder", "days_after", "61", "Days after the statement must be a whole number"),
    ],
)
@pytest.mark.django_db
def test_a_number_out_of_bounds_is_refused_naming_the_field(signed_in, rule, field, value, label):
    data = {"rule": rule, "enabled": "on", field: value}
    if rule == "bill_reminder":
        data.update({"discount_text_en": "", "discount_text_es": ""})
    response = signed_in.post(URL, data)
    assert response.status_code == 400
    assert label in response.content.decode()
    assert not OutreachSetting.objects.filter(rule=rule).exists()


@pytest.mark.django_db
def test_the_bounds_themselves_are_accepted(signed_in):
    assert save(signed_in, per_week="1").status_code == 302
    assert rule_option(RULE, "per_week") == 1
    assert save(signed_in, per_week="10000").status_code == 302
    assert rule_option(RULE, "per_week") == 10000
    data = {"rule": "results_education", "enabled": "on", "wait_hours": "72"}
    assert signed_in.post(URL, data).status_code == 302
    assert rule_option("results_education", "wait_hours") == 72


@pytest.mark.django_db
def test_a_discount_text_longer_than_200_characters_is_refused(signed_in):
    data = {"rule": "bill_reminder", "enabled": "on", "days_after": "7"}
    too_long = signed_in.post(URL, {**data, "discount_text_en": "x" * 201})
    assert too_long.status_code == 400
    assert "Portal payment discount (English): keep it to 200" in too_long.content.decode()
    fine = signed_in.post(URL, {**data, "discount_text_en": "Pay online and save 5%."})
    assert fine.status_code == 302
    assert rule_option("bill_reminder", "discount_text_en") == "Pay online and save 5%."


@pytest.mark.django_db
def test_restoring_the_shipped_wording_keeps_the_switch_and_the_numbers(signed_in):
    save(signed_in, enabled=None, per_week="7", body_en="Book now: {portal_url}")
    response = signed_in.post(URL, {"rule": RULE, "restore": "1"})
    assert response.status_code == 302
    setting = OutreachSetting.objects.get(rule=RULE)
    assert (setting.body_en, setting.enabled, setting.options["per_week"]) == ("", False, 7)


@pytest.mark.django_db
def test_the_feature_of_the_month_is_switched_here_but_worded_on_the_nightly_page(signed_in):
    assert save(signed_in, "feature_of_month", enabled=None).status_code == 302
    assert OutreachSetting.objects.get(rule="feature_of_month").enabled is False
    with pytest.raises(SettingsError):
        outreach_setting_save(rule="feature_of_month", enabled=True, user=None, body_en="Hi")


@pytest.mark.django_db
def test_an_unknown_rule_or_option_is_refused(signed_in):
    assert signed_in.post(URL, {"rule": "everyone_daily", "enabled": "on"}).status_code == 400
    with pytest.raises(SettingsError) as refused:
        outreach_setting_save(rule=RULE, enabled=True, user=None, options={"per_day": 3})
    assert refused.value.field == "per_day"
    with pytest.raises(SettingsError):
        outreach_setting_save(rule=RULE, enabled=True, user=None, options={"per_week": True})


@pytest.mark.django_db
def test_staff_who_are_not_managers_cannot_open_or_post_the_settings(
    client, nurse, front_desk_clerk
):
    for person in (nurse, front_desk_clerk):
        client.force_login(person)
        assert client.get(URL).status_code == 403
        assert save(client, enabled=None).status_code == 403
    assert not OutreachSetting.objects.exists()


@pytest.mark.django_db
def test_the_nightly_page_lists_every_rule_with_its_state_and_links_to_the_settings(signed_in):
    enrolled()
    OutreachSetting.objects.create(rule="app_nudge", enabled=False)
    night(TODAY - dt.timedelta(days=1))
    page = signed_in.get(reverse("messaging:outreach")).content.decode()
    table = page[page.index('id="outreach-rules"') :]
    table = table[: table.index("</table>")]
    for label in (
        "Annual exam: book it in the portal",
        "Feature of the month",
        "Bill-pay reminder",
    ):
        assert label in table
    assert "annual_exam_recall" not in table  # labels, not keys
    assert "Switched off" in table
    assert URL in page


@pytest.mark.django_db
def test_an_option_not_given_keeps_its_current_value():
    outreach_setting_save(rule="bill_reminder", enabled=True, user=None, options={"days_after": 9})
    outreach_setting_save(
        rule="bill_reminder", enabled=True, user=None, options={"discount_text_en": "Save 5%."}
    )
    assert rule_option("bill_reminder", "days_after") == 9
    assert rule_option("bill_reminder", "discount_text_en") == "Save 5%."
