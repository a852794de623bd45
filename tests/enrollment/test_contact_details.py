"""Fatima takes the patient's contact details at the desk (enrollment step 1).

Each rule of enrollment.services.contact_check pinned alone: the channel the
patient chose needs its address, the other address may be left empty, and a
refusal names the one field to fix.
"""

import pytest

from enrollment.services import ContactDetails, ContactError, contact_check


def test_a_patient_who_wants_texts_may_leave_the_email_empty():
    details = contact_check(email="", mobile_phone="(617) 555-0134", notification_channel="sms")
    assert details == ContactDetails("", "+16175550134", "sms")


def test_a_patient_who_wants_email_may_leave_the_mobile_empty():
    details = contact_check(
        email=" Rosa@Example.org ", mobile_phone="", notification_channel="email"
    )
    assert details.mobile_phone == ""
    assert details.notification_channel == "email"
    assert details.email.lower() == "rosa@example.org"


def test_email_notifications_without_an_email_are_refused_naming_the_email():
    with pytest.raises(ContactError) as refused:
        contact_check(email="", mobile_phone="(617) 555-0134", notification_channel="email")
    assert refused.value.field == "email"


def test_text_notifications_without_a_mobile_are_refused_naming_the_mobile():
    with pytest.raises(ContactError) as refused:
        contact_check(email="rosa@example.org", mobile_phone="", notification_channel="sms")
    assert refused.value.field == "mobile_phone"


def test_a_mobile_number_without_its_area_code_is_refused_naming_the_mobile():
    with pytest.raises(ContactError) as refused:
        contact_check(email="rosa@example.org", mobile_phone="555-01", notification_channel="email")
    assert refused.value.field == "mobile_phone"


def test_an_unknown_channel_is_refused_naming_the_channel():
    with pytest.raises(ContactError) as refused:
        contact_check(email="rosa@example.org", mobile_phone="", notification_channel="fax")
    assert refused.value.field == "notification_channel"
