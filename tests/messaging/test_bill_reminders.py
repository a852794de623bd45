"""Bill-pay reminders: a week after a statement, again on its due date, never after a payment."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from messaging.demo import demo_bill_reminders_load
from messaging.models import Communication, OptOut, OutreachRule, OutreachSetting
from messaging.outreach import communication_send, outreach_preview, outreach_run
from messaging.rollups import bill_pay_months_changed
from messaging.selectors.bill_pay import bill_pay_report, rolled_bill_pay_report
from metrics.services import rollup_month
from patients.models import EventSource, EventType
from tests.factories import ActivityEventFactory, PatientFactory
from tests.messaging.test_outreach import RecordingSms

TODAY = dt.date(2026, 3, 18)
SUBJECT = "A statement from your practice"


def at(day: dt.date, hour=10):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.fixture(autouse=True)
def _only_bill_reminders(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "tests.messaging.test_outreach.RecordingSms"
    settings.PORTAL_PAYMENT_URL = "https://pay.example.org/bill"
    RecordingSms.sent = []
    for rule in OutreachRule.values:
        if rule != OutreachRule.BILL_REMINDER:
            OutreachSetting.objects.create(rule=rule, enabled=False)


def enrolled(**fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=at(ago(200)))
    return patient


def statement(patient, issued: dt.date, object_id="ST-1", due_date=None, hour=10, **fields):
    return ActivityEventFactory(
        patient=patient,
        type=EventType.STATEMENT_ISSUED,
        channel="mail",
        object_id=object_id,
        amount="85.00",
        due_date=due_date,
        occurred_at=at(issued, hour),
        **fields,
    )


def payment(patient, day: dt.date, object_id="ST-1", channel="portal"):
    return ActivityEventFactory(
        patient=patient,
        type=EventType.PAYMENT,
        channel=channel,
        object_id=object_id,
        amount="85.00",
        occurred_at=at(day, 9),
    )


def bill_rows(**filters):
    return Communication.objects.filter(rule=OutreachRule.BILL_REMINDER, **filters)


def night(day=TODAY):
    return outreach_run(today=day, synchronous=True)


def test_a_statement_issued_seven_days_ago_gets_a_reminder_with_the_payment_link_not_on_day_six(
    db,
):
    day_seven, day_six = enrolled(), enrolled()
    first = statement(day_seven, ago(7))
    statement(day_six, ago(6))
    run = night()
    row = bill_rows().get()
    assert (row.patient, row.period, row.status) == (day_seven, f"{first.pk}:first", "sent")
    assert run.counts[OutreachRule.BILL_REMINDER]["claimed"] == 1
    [sent] = mail.outbox
    assert sent.subject == SUBJECT
    assert "https://pay.example.org/bill" in sent.body
    assert "85" not in sent.body  # never the balance
    assert "{" not in sent.body


def test_the_day_a_statement_counts_from_is_the_practices_day_not_utc(db):
    patient = enrolled()
    # 23:30 in the practice on day -7 is already day -6 in UTC: still day 7 tonight.
    statement(patient, ago(7), hour=23)
    night()
    assert bill_rows().count() == 1


def test_a_manager_setting_of_ten_days_moves_the_first_reminder(db):
    OutreachSetting.objects.create(rule=OutreachRule.BILL_REMINDER, options={"days_after": 10})
    nine, ten = enrolled(), enrolled()
    statement(nine, ago(9))
    statement(ten, ago(10))
    night()
    assert list(bill_rows().values_list("patient", flat=True)) == [ten.pk]


def test_a_payment_on_day_six_means_no_reminder(db):
    patient = enrolled()
    statement(patient, ago(7))
    payment(patient, ago(1))
    night()
    assert not bill_rows().exists()
    assert outreach_preview(today=TODAY)[OutreachRule.BILL_REMINDER].patients == []


def test_a_payment_after_the_claim_stops_the_send_as_suppressed_paid(db):
    patient = enrolled()
    statement(patient, ago(8))
    outreach_run(today=TODAY)  # claimed, handed to the workers
    row = bill_rows().get()
    assert row.status == "queued"
    payment(patient, TODAY)
    assert communication_send(row.pk) == "suppressed"
    row.refresh_from_db()
    assert (row.status, row.reason) == ("suppressed", "paid")
    assert mail.outbox == []


def test_a_text_held_over_quiet_hours_is_not_sent_once_the_bill_is_paid(db, monkeypatch):
    patient = enrolled(notification_channel="sms")
    statement(patient, ago(7))
    evening = timezone.make_aware(dt.datetime(2026, 3, 18, 23, 0))
    monkeypatch.setattr(timezone, "now", lambda: evening)
    night()
    row = bill_rows().get()
    assert (row.channel, row.status) == ("sms", "queued")
    assert row.not_before == timezone.make_aware(dt.datetime(2026, 3, 19, 8, 0))
    assert RecordingSms.sent == []
    monkeypatch.setattr(timezone, "now", lambda: evening + dt.timedelta(hours=9))
    payment(patient, TODAY)
    assert communication_send(row.pk) == "suppressed"
    assert RecordingSms.sent == []


def test_a_text_claimed_at_night_goes_at_eight_with_the_link(db, monkeypatch):
    patient = enrolled(notification_channel="sms")
    statement(patient, ago(7))
    evening = timezone.make_aware(dt.datetime(2026, 3, 18, 23, 0))
    monkeypatch.setattr(timezone, "now", lambda: evening)
    night()
    row = bill_rows().get()
    assert communication_send(row.pk) == "queued"
    monkeypatch.setattr(timezone, "now", lambda: evening + dt.timedelta(hours=9))
    assert communication_send(row.pk) == "sent"
    [(_to, text)] = RecordingSms.sent
    assert "https://pay.example.org/bill" in text


def test_the_second_reminder_comes_on_the_due_date_not_the_day_before_and_never_a_third(db):
    patient = enrolled()
    issued = ago(7)
    due = TODAY + dt.timedelta(days=10)
    first = statement(patient, issued, due_date=due)
    night()
    assert list(bill_rows().values_list("period", flat=True)) == [f"{first.pk}:first"]
    night(due - dt.timedelta(days=1))
    assert bill_rows().count() == 1
    night(due)
    assert sorted(bill_rows().values_list("period", flat=True)) == [
        f"{first.pk}:due",
        f"{first.pk}:first",
    ]
    for later in range(1, 40):
        night(due + dt.timedelta(days=later))
    assert bill_rows().count() == 2
    assert len([m for m in mail.outbox if m.subject == SUBJECT]) == 2


def test_no_second_reminder_without_a_due_date_or_with_one_on_the_first_reminders_day(db):
    without, same_day, day_after = enrolled(), enrolled(), enrolled()
    statement(without, ago(7))
    statement(same_day, ago(7), due_date=TODAY)
    statement(day_after, ago(7), due_date=TODAY + dt.timedelta(days=1))
    for day in range(0, 20):
        night(TODAY + dt.timedelta(days=day))
    assert bill_rows(patient=without).count() == 1
    assert bill_rows(patient=same_day).count() == 1
    assert bill_rows(patient=day_after).count() == 2


def test_a_payment_before_the_due_date_cancels_the_second_reminder(db):
    patient = enrolled()
    statement(patient, ago(7), due_date=TODAY + dt.timedelta(days=5))
    night()
    payment(patient, TODAY + dt.timedelta(days=2), channel="phone")
    night(TODAY + dt.timedelta(days=5))
    assert bill_rows().count() == 1


def test_a_payment_for_another_statement_does_not_cancel(db):
    patient = enrolled()
    statement(patient, ago(7), object_id="ST-1")
    payment(patient, ago(2), object_id="ST-2")
    night()
    assert bill_rows(status="sent").count() == 1


def test_another_patients_payment_with_the_same_statement_id_does_not_cancel(db):
    patient, other = enrolled(), enrolled()
    statement(patient, ago(7), object_id="ST-1")
    payment(other, ago(2), object_id="ST-1")
    night()
    assert list(bill_rows(status="sent").values_list("patient", flat=True)) == [patient.pk]


def test_two_statements_of_one_patient_get_one_reminder_each(db):
    patient = enrolled()
    one = statement(patient, ago(7), object_id="ST-1")
    two = statement(patient, ago(8), object_id="x" * 128)  # a long id never reaches the period
    night()
    assert sorted(bill_rows().values_list("period", flat=True)) == sorted(
        [f"{one.pk}:first", f"{two.pk}:first"]
    )
    assert outreach_preview(today=TODAY)[OutreachRule.BILL_REMINDER].total == 0


def test_a_statement_sent_twice_by_the_feed_is_reminded_once(db):
    patient = enrolled()
    first = statement(patient, ago(8))
    statement(patient, ago(7))
    night()
    assert list(bill_rows().values_list("period", flat=True)) == [f"{first.pk}:first"]


def test_tonights_preview_lists_the_patient_before_the_night_and_not_after(db):
    patient = enrolled()
    statement(patient, ago(7))
    assert outreach_preview(today=TODAY)[OutreachRule.BILL_REMINDER].patients == [patient]
    night()
    assert outreach_preview(today=TODAY)[OutreachRule.BILL_REMINDER].patients == []


def test_the_discount_text_is_added_in_the_patients_language(db):
    OutreachSetting.objects.create(
        rule=OutreachRule.BILL_REMINDER,
        options={
            "discount_text_en": "Pay in the portal this week and save 5%.",
            "discount_text_es": "Pague en el portal esta semana y ahorre un 5%.",
        },
    )
    english, spanish = enrolled(), enrolled(preferred_language="es")
    statement(english, ago(7))
    statement(spanish, ago(7))
    night()
    english_body = bill_rows().get(patient=english).body
    spanish_body = bill_rows().get(patient=spanish).body
    assert english_body.endswith(" Pay in the portal this week and save 5%.")
    assert spanish_body.startswith("Hola ")
    assert spanish_body.endswith(" Pague en el portal esta semana y ahorre un 5%.")
    assert "save 5%" not in spanish_body


def test_without_a_discount_text_the_message_is_the_shipped_one(db):
    patient = enrolled()
    statement(patient, ago(7))
    night()
    assert bill_rows().get().body.endswith("Questions about your bill? Call (555) 010-0100.")


def test_a_switched_off_rule_reminds_nobody(db):
    OutreachSetting.objects.create(rule=OutreachRule.BILL_REMINDER, enabled=False)
    patient = enrolled()
    statement(patient, ago(7))
    run = night()
    assert not bill_rows().exists()
    assert run.counts[OutreachRule.BILL_REMINDER]["switched_off"] == 1
    assert outreach_preview(today=TODAY)[OutreachRule.BILL_REMINDER].patients == []


def test_an_opted_out_patient_gets_nothing_and_the_log_says_why(db):
    patient = enrolled()
    OptOut.objects.create(patient=patient, channel="email", source="test")
    statement(patient, ago(7))
    night()
    row = bill_rows().get()
    assert (row.status, row.reason) == ("suppressed", "opted out")
    assert mail.outbox == []


def test_a_patient_not_enrolled_in_the_portal_gets_no_reminder(db):
    patient = PatientFactory()
    statement(patient, ago(7))
    night()
    assert not bill_rows().exists()


def test_a_deactivated_patient_gets_no_reminder(db):
    patient = enrolled(deactivated_on=ago(1))
    statement(patient, ago(7))
    night()
    assert not bill_rows().exists()


def test_old_statements_are_not_reminded_when_the_rule_is_switched_on(db):
    caught_up, too_old = enrolled(), enrolled()
    statement(caught_up, ago(14))  # first reminder day was a week ago: still caught up
    statement(too_old, ago(15))
    night()
    assert list(bill_rows().values_list("patient", flat=True)) == [caught_up.pk]


def test_a_statement_without_an_id_or_outside_the_event_window_is_ignored(db):
    patient = enrolled()
    statement(patient, ago(7), object_id="")
    night()
    assert not bill_rows().exists()


# --- The report -------------------------------------------------------------------

MONTH = dt.date(2026, 1, 1)


def sent_reminder(event, day: dt.date, which="first", status="sent"):
    return Communication.objects.create(
        patient=event.patient,
        rule=OutreachRule.BILL_REMINDER,
        period=f"{event.pk}:{which}",
        channel="email",
        body="x",
        status=status,
        sent_at=at(day, 12) if status == "sent" else None,
    )


def test_the_bill_pay_report_counts_a_fixed_set_by_hand(db):
    """Ten statements issued in January 2026 (practice time) and two just outside it.

    Reminded (4): A paid on day 30 in the portal, B paid on day 31 (late), C paid
    on day 5 by phone, D never paid. Not reminded (6): E paid on day 0 in the app,
    F paid on day 12 by mail, G unpaid, H paid only another statement id, I whose
    reminder was suppressed, paid in the portal on day 2, and J whose reminder
    went out on day 31 (too late to count), unpaid.
    """
    january = [enrolled() for _ in range(10)]
    a, b, c, d, e, f, g, h, i, j = january
    s = {
        "a": statement(a, dt.date(2026, 1, 1)),
        "b": statement(b, dt.date(2026, 1, 1)),
        "c": statement(c, dt.date(2026, 1, 10)),
        "d": statement(d, dt.date(2026, 1, 31), hour=23),
        "e": statement(e, dt.date(2026, 1, 15)),
        "f": statement(f, dt.date(2026, 1, 20)),
        "g": statement(g, dt.date(2026, 1, 2)),
        "h": statement(h, dt.date(2026, 1, 3), object_id="ST-H"),
        "i": statement(i, dt.date(2026, 1, 4)),
        "j": statement(j, dt.date(2026, 1, 5)),
    }
    statement(a, dt.date(2025, 12, 31), object_id="DEC", hour=23)  # December
    statement(a, dt.date(2026, 2, 1), object_id="FEB", hour=0)  # February, just after midnight
    payment(a, dt.date(2026, 1, 31), channel="portal")  # day 30
    payment(b, dt.date(2026, 2, 1), channel="portal")  # day 31
    payment(c, dt.date(2026, 1, 15), channel="phone")
    payment(e, dt.date(2026, 1, 15), channel="app")
    payment(f, dt.date(2026, 2, 1), channel="mail")
    payment(h, dt.date(2026, 1, 4), object_id="ST-OTHER", channel="portal")
    payment(i, dt.date(2026, 1, 6), channel="portal")
    for key in "abcd":
        sent_reminder(s[key], dt.date(2026, 1, 8))
    sent_reminder(s["i"], dt.date(2026, 1, 5), status="suppressed")
    sent_reminder(s["j"], dt.date(2026, 2, 5))  # day 31: too late to count
    report = bill_pay_report(MONTH)
    reminded, not_reminded = report.rows
    assert (reminded.statements, reminded.paid, reminded.paid_in_portal) == (4, 2, 1)
    assert (not_reminded.statements, not_reminded.paid, not_reminded.paid_in_portal) == (6, 3, 2)
    assert (report.total.statements, report.total.paid, report.total.paid_in_portal) == (10, 5, 3)
    assert reminded.paid_percent == 50
    assert not_reminded.portal_percent == pytest.approx(200 / 3)


def test_a_payment_before_the_statements_day_is_not_paid_within_its_30_days(db):
    """The report's definition: paid on the statement's day or up to 30 days after it.

    A paid the day before the statement was issued: not paid within 30 days (the
    report used to count any earlier payment). B paid on the statement's day, an
    hour before the statement's own time: paid, in the portal.
    """
    a, b = enrolled(), enrolled()
    statement(a, dt.date(2026, 1, 10))
    payment(a, dt.date(2026, 1, 9), channel="portal")
    statement(b, dt.date(2026, 1, 10), hour=10)
    payment(b, dt.date(2026, 1, 10), channel="portal")  # at 09:00
    report = bill_pay_report(MONTH)
    assert (report.total.statements, report.total.paid, report.total.paid_in_portal) == (2, 1, 1)


def test_a_repeated_statement_counts_once_in_the_month_of_its_first_recorded_event(db):
    """ST-1 first recorded on Jan 5, repeated by the feed with a February time: January's.
    ST-2 first recorded with a February time, repeated with a January time: February's.
    The repeat of ST-1 is paid on Feb 20 (day 46 of the first): not within 30 days."""
    patient = enrolled()
    statement(patient, dt.date(2026, 1, 5), object_id="ST-1")
    statement(patient, dt.date(2026, 2, 2), object_id="ST-1")
    statement(patient, dt.date(2026, 2, 3), object_id="ST-2")
    statement(patient, dt.date(2026, 1, 20), object_id="ST-2")
    payment(patient, dt.date(2026, 2, 20), object_id="ST-1")
    january = bill_pay_report(MONTH).total
    february = bill_pay_report(dt.date(2026, 2, 1)).total
    assert (january.statements, january.paid) == (1, 0)
    assert (february.statements, february.paid) == (1, 0)


def test_a_manager_opens_the_bill_pay_report_for_a_month(client, manager):
    patient = enrolled()
    statement(patient, dt.date(2026, 1, 10))
    payment(patient, dt.date(2026, 1, 12), channel="portal")
    rollup_month(MONTH)
    client.force_login(manager)
    response = client.get("/messages/reports/bill-pay/", {"month": "2026-01"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Statements issued in January 2026" in content
    assert "100% <span" in content
    assert "As of the rollup of" in content
    assert patient.family_name not in content


def test_a_bill_pay_month_not_rolled_up_yet_is_said_so_and_counts_nothing(client, manager):
    statement(enrolled(), dt.date(2026, 1, 10))
    client.force_login(manager)
    content = client.get("/messages/reports/bill-pay/", {"month": "2026-01"}).content.decode()
    assert "Not rolled up yet, so not counted:" in content
    assert "No statement was issued in this month." in content


def test_the_rolled_up_bill_pay_counts_equal_the_live_ones(db):
    reminded, quiet = enrolled(), enrolled()
    reminded_statement = statement(reminded, dt.date(2026, 1, 10))
    sent_reminder(reminded_statement, dt.date(2026, 1, 20))
    payment(reminded, dt.date(2026, 2, 3), channel="portal")
    statement(quiet, dt.date(2026, 1, 31), object_id="ST-9")
    payment(quiet, dt.date(2026, 3, 5), object_id="ST-9", channel="phone")  # day 34: late
    rollup_month(MONTH)

    rolled, live = rolled_bill_pay_report(MONTH), bill_pay_report(MONTH)
    assert rolled.counts() == live.counts()
    assert rolled.counts()["reminded_portal"] == 1
    assert rolled.counts()["not_reminded_statements"] == 1
    assert rolled.as_of is not None and rolled.pending == ()


def test_a_late_payment_or_reminder_marks_the_month_of_its_statement(db):
    january, february, march = enrolled(), enrolled(), enrolled()
    since = at(dt.date(2026, 3, 10), 0)
    statement(january, dt.date(2026, 1, 20), object_id="ST-J")
    payment(january, dt.date(2026, 2, 5), object_id="ST-J")  # recorded now: after `since`
    reminded = statement(february, dt.date(2026, 2, 25), object_id="ST-F")
    sent_reminder(reminded, dt.date(2026, 3, 11))
    old = statement(march, dt.date(2025, 12, 1), object_id="ST-D")
    sent_reminder(old, dt.date(2026, 3, 9))  # sent before `since`: nothing new

    with time_machine.travel(since - dt.timedelta(days=1)):
        statement(march, dt.date(2025, 11, 2), object_id="ST-N")
        payment(march, dt.date(2025, 11, 3), object_id="ST-N")  # recorded before `since`

    assert bill_pay_months_changed(since) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]


def test_the_bill_pay_report_refuses_a_month_in_the_future_or_out_of_range(client, manager):
    client.force_login(manager)
    for month in ("2999-01", "0001-01", "2026-13", "x"):
        response = client.get("/messages/reports/bill-pay/", {"month": month})
        assert response.status_code == 400, month


def test_the_bill_pay_report_opens_on_last_month_with_an_empty_state(client, manager):
    client.force_login(manager)
    response = client.get("/messages/reports/bill-pay/")
    assert response.status_code == 200
    assert "No statement was issued in this month." in response.content.decode()


# --- The demo practice --------------------------------------------------------------


def test_the_demo_has_the_reminders_the_rule_would_have_sent_once(db):
    unpaid, late, early, not_enrolled = enrolled(), enrolled(), enrolled(), PatientFactory()
    demo = {"source": EventSource.DEMO}
    first = statement(unpaid, dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4), **demo)
    statement(late, dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4), **demo)
    statement(early, dt.date(2026, 1, 5), **demo)
    statement(not_enrolled, dt.date(2026, 1, 5), **demo)
    statement(unpaid, dt.date(2026, 1, 6), object_id="REAL")  # not the demo's: left alone
    payment(late, dt.date(2026, 1, 20), channel="portal")  # after day 7, before the due date
    payment(early, dt.date(2026, 1, 11))  # day 6
    assert demo_bill_reminders_load(today=TODAY) == 3
    assert demo_bill_reminders_load(today=TODAY) == 0
    assert sorted(bill_rows(patient=unpaid).values_list("period", "status")) == [
        (f"{first.pk}:due", "sent"),
        (f"{first.pk}:first", "sent"),
    ]
    assert bill_rows(patient=late).get().sent_at == at(dt.date(2026, 1, 12))
    report = bill_pay_report(MONTH)
    assert [(row.statements, row.paid) for row in report.rows] == [(2, 1), (3, 1)]


def test_without_a_spanish_discount_text_a_spanish_reader_gets_the_english_one(db):
    OutreachSetting.objects.create(
        rule=OutreachRule.BILL_REMINDER, options={"discount_text_en": "Save 5% online."}
    )
    spanish = enrolled(preferred_language="es")
    statement(spanish, ago(7))
    night()
    body = bill_rows().get().body
    assert body.startswith("Hola ") and body.endswith(" Save 5% online.")


def test_a_vietnamese_reader_gets_the_english_discount_text(db):
    """Managers write the offer in English and Spanish only; a patient who reads another
    language gets the English one (the reminder used to fail on a missing option)."""
    OutreachSetting.objects.create(
        rule=OutreachRule.BILL_REMINDER, options={"discount_text_en": "Save 5% online."}
    )
    reader = enrolled(preferred_language="vi")
    statement(reader, ago(7))
    night()
    assert bill_rows().get().body.endswith(" Save 5% online.")


def test_a_managers_own_wording_may_use_the_payment_link(db):
    OutreachSetting.objects.create(
        rule=OutreachRule.BILL_REMINDER, body_en="{first_name}, pay here: {payment_url}"
    )
    patient = enrolled(given_name="Ada")
    statement(patient, ago(7))
    night()
    assert bill_rows().get().body == "Ada, pay here: https://pay.example.org/bill"


# --- The managers' pages ---------------------------------------------------------


def test_the_manager_sees_tonights_bill_reminders_and_last_nights_count(client, manager):
    today = timezone.localdate()
    patient = enrolled(given_name="Beatriz", family_name="Okafor")
    statement(patient, today - dt.timedelta(days=7))
    client.force_login(manager)
    page = client.get(reverse("messaging:outreach")).content.decode()
    assert "Bill-pay reminder · 1" in page
    assert "Beatriz Okafor" in page
    outreach_run(today=today, synchronous=True)
    page = client.get(reverse("messaging:outreach")).content.decode()
    row = re.search(r'class="fw-normal">Bill-pay reminder</th>(.*?)</tr>', page, re.S)
    # Tonight, then last night: to send, not sent, had it already, failed.
    assert re.findall(r'<td class="text-end">(\d+)</td>', row.group(1)) == ["0", "1", "0", "0", "0"]
    log = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
    assert "<td>Bill-pay reminder</td>" in log.content.decode()
