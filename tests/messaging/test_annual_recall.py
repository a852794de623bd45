"""Annual-exam recall: enrolled patients without an annual exam in 11 months are invited
to book it in the portal, once in 12 months, a manager's batch per week."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from messaging.models import Communication, OptOut, OutreachSetting, OutreachWeekBatch
from messaging.outreach import (
    BATCH_FULL,
    annual_recall_claim,
    months_before,
    outreach_preview,
    outreach_run,
)
from patients.models import EventType
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory, PatientFactory
from tests.messaging.test_outreach import _email_and_sms  # noqa: F401

RULE = "annual_exam_recall"
TODAY = dt.date(2026, 3, 18)  # a Wednesday
MONDAY = dt.date(2026, 3, 16)


def at(day: dt.date, hour=10, minute=0):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def enrolled(**fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_ACTIVATED,
        channel="front_desk",
        occurred_at=at(dt.date(2024, 1, 10)),
    )
    return patient


def booked(patient, when, appointment_type="annual_exam"):
    ActivityEventFactory(
        patient=patient,
        type=EventType.APPOINTMENT_BOOKED,
        channel="portal",
        appointment_type=appointment_type,
        occurred_at=when,
    )


def night(day: dt.date):
    """The nightly run of `day`, with the clock on that day (practice time)."""
    with time_machine.travel(at(day, 2), tick=False):
        return outreach_run(today=day, synchronous=True)


def recalls():
    return Communication.objects.filter(rule=RULE)


def recalled():
    return set(recalls().values_list("patient", flat=True))


def per_week(n):
    OutreachSetting.objects.update_or_create(rule=RULE, defaults={"options": {"per_week": n}})


def test_months_before_keeps_the_day_or_takes_the_last_of_a_short_month():
    assert months_before(TODAY, 11) == dt.date(2025, 4, 18)
    assert months_before(dt.date(2027, 1, 31), 11) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2028, 3, 31), 1) == dt.date(2028, 2, 29)
    assert months_before(dt.date(2027, 3, 16), 12) == dt.date(2026, 3, 16)


@pytest.mark.django_db
def test_an_annual_exam_booked_11_months_ago_to_the_day_is_due_and_a_day_later_is_not():
    eleven_months = enrolled()
    booked(eleven_months, at(dt.date(2025, 4, 18), 23, 59))  # 11 months ago, late that day
    a_day_less = enrolled()
    booked(a_day_less, at(dt.date(2025, 4, 19), 0, 1))  # 11 months minus a day, just after midnight
    never = enrolled()

    night(TODAY)

    assert recalled() == {eleven_months.pk, never.pk}
    assert a_day_less.pk not in recalled()
    message = recalls().get(patient=never)
    assert message.status == "sent" and message.period == "first"
    (email,) = [m for m in mail.outbox if m.to == [never.email] and "annual" in m.subject]
    assert email.subject == "Book your annual physical in the portal"
    assert email.body.startswith(
        f"Hello {never.given_name}. Did you know you can schedule your annual physical directly "
        "from the portal? No phone call needed. Log in and find a time that works for you: https://"
    )


@pytest.mark.django_db
def test_only_an_annual_exam_counts_not_a_follow_up_or_an_untyped_booking():
    follow_up, untyped, annual = enrolled(), enrolled(), enrolled()
    booked(follow_up, at(TODAY - dt.timedelta(days=3)), "follow_up")
    booked(untyped, at(TODAY - dt.timedelta(days=3)), "")
    booked(annual, at(TODAY - dt.timedelta(days=3)))

    night(TODAY)

    assert recalled() == {follow_up.pk, untyped.pk}


@pytest.mark.django_db
def test_a_patient_not_enrolled_or_off_the_panel_gets_no_recall():
    invited_only = PatientFactory()
    ActivityEventFactory(
        patient=invited_only, type=EventType.PORTAL_INVITED, occurred_at=at(dt.date(2025, 1, 5))
    )
    enrolled(deactivated_on=dt.date(2026, 1, 1))
    enrolled_after_tonight = PatientFactory()
    ActivityEventFactory(
        patient=enrolled_after_tonight,
        type=EventType.PORTAL_ACTIVATED,
        occurred_at=at(TODAY + dt.timedelta(days=1)),
    )

    night(TODAY)

    assert not recalls().exists()


@pytest.mark.django_db
def test_the_spanish_speaker_gets_the_spanish_recall():
    patient = enrolled(preferred_language="es")
    night(TODAY)
    message = recalls().get(patient=patient)
    assert message.subject == "Programe su examen físico anual en el portal"
    assert message.body.startswith(f"Hola {patient.given_name}. ¿Sabía que puede programar")


@pytest.mark.django_db
def test_the_weekly_batch_is_spread_over_the_nights_of_the_week_longest_waiting_first():
    per_week(2)
    last_year = enrolled()
    booked(last_year, at(dt.date(2025, 1, 10)))
    two_years = enrolled()
    booked(two_years, at(dt.date(2024, 2, 10)))
    never_a, never_b = enrolled(), enrolled()
    recent = enrolled()
    booked(recent, at(dt.date(2025, 12, 1)))

    monday = night(MONDAY)
    assert recalled() == {never_a.pk, never_b.pk}
    assert monday.counts[RULE]["claimed"] == 2

    assert outreach_preview(today=MONDAY + dt.timedelta(days=1))[RULE].patients == []
    tuesday = night(MONDAY + dt.timedelta(days=1))
    sunday = night(MONDAY + dt.timedelta(days=6))
    assert tuesday.counts[RULE]["claimed"] == sunday.counts[RULE]["claimed"] == 0
    assert recalls().count() == 2

    next_monday = MONDAY + dt.timedelta(days=7)
    assert outreach_preview(today=next_monday)[RULE].patients == [two_years, last_year]
    night(next_monday)
    assert recalled() == {never_a.pk, never_b.pk, two_years.pk, last_year.pk}
    assert OutreachWeekBatch.objects.get(week=next_monday).claimed == 2


@pytest.mark.django_db
def test_a_manager_raising_the_batch_mid_week_lets_the_difference_go_the_same_week():
    per_week(1)
    first, second, third = enrolled(), enrolled(), enrolled()
    night(MONDAY)
    assert recalled() == {first.pk}
    per_week(2)
    night(MONDAY + dt.timedelta(days=2))
    assert recalled() == {first.pk, second.pk}
    assert third.pk not in recalled()


@pytest.mark.django_db
def test_a_patient_who_opted_out_takes_no_place_in_the_batch():
    per_week(1)
    opted_out, waiting = enrolled(), enrolled()
    OptOut.objects.create(patient=opted_out, channel="email", source="test")

    night(MONDAY)
    night(MONDAY + dt.timedelta(days=1))

    assert recalls().get(patient=opted_out).status == "suppressed"
    assert recalls().get(patient=waiting).status == "sent"
    assert OutreachWeekBatch.objects.get(week=MONDAY).claimed == 1


@pytest.mark.django_db
def test_a_patient_is_recalled_once_in_twelve_months_then_again():
    patient = enrolled()
    night(MONDAY)
    night(MONDAY + dt.timedelta(days=7))
    night(dt.date(2027, 3, 15))  # 12 months minus a day after the recall
    assert list(recalls().values_list("period", flat=True)) == ["first"]

    night(dt.date(2027, 3, 16))  # 12 months to the day

    assert sorted(recalls().values_list("period", flat=True)) == ["after 2026-03-16", "first"]
    assert recalls().filter(patient=patient, status="sent").count() == 2


@pytest.mark.django_db
def test_a_late_worker_that_missed_the_last_recall_cannot_claim_a_second_one():
    """The period names the recall before it: a stale view of the chain collides."""
    patient = enrolled()
    night(MONDAY)
    with time_machine.travel(at(MONDAY, 3), tick=False):
        assert (
            annual_recall_claim(patient=patient, rule=RULE, period="first", today=MONDAY, job="t")
            is None
        )
    assert recalls().count() == 1


@pytest.mark.django_db
def test_a_switched_off_recall_claims_nothing():
    enrolled()
    OutreachSetting.objects.create(rule=RULE, enabled=False)
    run = night(TODAY)
    assert not recalls().exists()
    assert run.counts[RULE]["switched_off"] == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_never_exceed_the_weekly_batch():
    per_week(3)
    patients = [enrolled() for _ in range(12)]
    barrier = threading.Barrier(len(patients))
    outcomes, failures = [], []

    def claim(patient):
        try:
            barrier.wait()
            outcomes.append(
                annual_recall_claim(
                    patient=patient, rule=RULE, period="first", today=MONDAY, job="t"
                )
            )
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert recalls().count() == 3
    assert sum(1 for o in outcomes if o is BATCH_FULL) == 9
    assert OutreachWeekBatch.objects.get(week=MONDAY).claimed == 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_nightly_runs_at_once_never_exceed_the_weekly_batch(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    per_week(4)
    for _ in range(10):
        enrolled()
    barrier = threading.Barrier(2)
    failures = []

    def run(day):
        try:
            barrier.wait()
            outreach_run(today=day, synchronous=True)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    # Monday's run and Tuesday's late run of the same week, at the same moment.
    threads = [
        threading.Thread(target=run, args=(day,)) for day in (MONDAY, MONDAY + dt.timedelta(days=1))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert recalls().count() == 4
    assert recalls().filter(status="sent").count() == 4


def booked_on(*days: dt.date):
    """An enrolled patient with an annual exam booked on each of `days`."""
    patient = enrolled()
    for day in days:
        booked(patient, at(day))
    return patient


@pytest.mark.django_db
def test_a_batch_the_never_booked_leave_short_goes_on_with_the_longest_since_an_exam():
    per_week(4)
    booked_on(dt.date(2025, 1, 10))  # the latest exam: left for next week
    two_years = booked_on(dt.date(2024, 2, 10))
    three_years = booked_on(dt.date(2023, 2, 10), dt.date(2024, 12, 1))  # last: 2024-12-01
    never_b, never_a = enrolled(), enrolled()

    preview = outreach_preview(today=MONDAY)[RULE]

    assert (preview.total, preview.patients) == (4, [never_b, never_a, two_years, three_years])
    assert [p.last_exam_at for p in preview.patients] == [
        None,
        None,
        at(dt.date(2024, 2, 10)),
        at(dt.date(2024, 12, 1)),
    ]
