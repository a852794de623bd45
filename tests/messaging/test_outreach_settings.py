"""A practice's choices per outreach rule: switched off, or in its own words."""

import pytest
from django.core import mail

from messaging.models import Communication, OutreachSetting
from messaging.outreach import outreach_preview, outreach_run, rule_option
from tests.messaging.test_outreach import TODAY, _email_and_sms, invited, reminders  # noqa: F401


@pytest.mark.django_db
def test_a_rule_switched_off_finds_nobody_and_claims_nothing_until_switched_back_on():
    patient = invited(8)
    setting = OutreachSetting.objects.create(rule="no_login_reminder", enabled=False)
    run = outreach_run(today=TODAY, synchronous=True)
    assert not reminders().exists() and mail.outbox == []
    assert run.counts["no_login_reminder"]["switched_off"] == 1
    assert outreach_preview(today=TODAY)["no_login_reminder"].patients == []
    # Other rules go on: the switch is per rule.
    assert "switched_off" not in run.counts["app_nudge"]

    setting.enabled = True
    setting.save()
    outreach_run(today=TODAY, synchronous=True)
    assert list(reminders().values_list("patient", flat=True)) == [patient.pk]


@pytest.mark.django_db
def test_the_practices_wording_replaces_the_shipped_one_in_its_language_only():
    english, spanish = invited(8), invited(8, preferred_language="es")
    OutreachSetting.objects.create(
        rule="no_login_reminder",
        subject_en="Your Riverside portal is waiting",
        body_en="Hi {first_name}, sign in at {portal_url}.",
    )
    outreach_run(today=TODAY, synchronous=True)
    mine = Communication.objects.get(patient=english)
    assert mine.subject == "Your Riverside portal is waiting"
    assert mine.body.startswith(f"Hi {english.given_name}, sign in at http")
    # No Spanish wording was written: the shipped Spanish text goes out.
    assert Communication.objects.get(patient=spanish).subject == "Su portal del paciente está listo"


@pytest.mark.django_db
def test_a_rules_numbers_are_the_defaults_until_a_manager_sets_them():
    assert rule_option("results_education", "wait_hours") == 4
    assert rule_option("bill_reminder", "days_after") == 7
    OutreachSetting.objects.create(rule="bill_reminder", options={"days_after": 10})
    assert rule_option("bill_reminder", "days_after") == 10
    assert rule_option("bill_reminder", "discount_text_en") == ""
