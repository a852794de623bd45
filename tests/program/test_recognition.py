"""Maria's recognition board and the portal champion of the month (issue 12, part 4).

The fixed data set below is March 2026 in the practice's time zone
(America/New_York; daylight saving starts on March 8): the month runs from
2026-03-01 00:00 EST (05:00 UTC) to 2026-04-01 00:00 EDT (04:00 UTC).
Every expected figure is counted by hand in the comments.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from enrollment.models import Enrollment, EnrollmentStatus
from messaging.models import Message
from messaging.services import Inbound, message_log_call, message_receive, message_reply
from patients.models import Channel, EventSource, EventType
from portal_adoption.models import User
from portal_adoption.roles import Role
from program.demo.recognition import demo_recognition
from program.models.recognition import PortalChampion
from program.selectors.recognition import (
    COLUMNS,
    Column,
    counted,
    current_champion,
    recognition_board,
    staff_name,
)
from program.services.recognition import RecognitionError, champion_name
from tests.factories import ActivityEventFactory, PatientFactory, staff
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

NEW_YORK = ZoneInfo("America/New_York")
MARCH = dt.date(2026, 3, 1)


def local(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


def completed(clerk, when, *, seconds=None, status=None):
    return Enrollment.objects.create(
        patient=PatientFactory(),
        started_by=clerk,
        status=status or EnrollmentStatus.COMPLETED,
        completed_by=clerk if status is None else None,
        completed_at=when if status is None else None,
        duration_seconds=seconds,
    )


_counter = iter(range(10_000))


def received(patient, at, *, due):
    """A patient message that arrived at `at`, with its internal target set to `due`."""
    with time_machine.travel(at, tick=False):
        message = message_receive(
            inbound=Inbound(
                message_id=f"recognition-{next(_counter)}",
                patient=patient,
                subject="Refill",
                body="my medication refill please",
                sent_at=at,
            )
        )[0]
    Message.objects.filter(pk=message.pk).update(internal_due_at=due)
    message.refresh_from_db()
    return message


def replied(message, by, at):
    with time_machine.travel(at, tick=False):
        return message_reply(message=message, body="We sent it to the pharmacy.", by=by)


def called(message, by, at):
    with time_machine.travel(at, tick=False):
        return message_log_call(message=message, summary="Called back.", by=by)


@pytest.fixture
def bob(db):
    return staff("bob", Role.FRONT_DESK, first_name="Bob", last_name="Brown")


@pytest.fixture
def march(front_desk_clerk, bob, nurse):
    """Two clerks' enrollments and the nurse's and a clerk's first responses, around March."""
    fatima = front_desk_clerk
    # Fatima: 4 completed in March (the first and the last second included), 3 of them
    # timed, 2 under two minutes (119 s, 60 s; 120 s is not under).
    completed(fatima, local(2026, 3, 1, 0, 0, 0), seconds=119)
    completed(fatima, local(2026, 3, 15, 10, 0), seconds=120)
    completed(fatima, local(2026, 3, 31, 23, 59, 59), seconds=60)
    completed(fatima, local(2026, 3, 20, 9, 0), seconds=None)
    completed(fatima, local(2026, 2, 28, 23, 59, 59), seconds=30)  # February
    completed(fatima, local(2026, 4, 1, 0, 0, 0), seconds=30)  # April
    # Bob: 2 completed, both timed, 1 under two minutes; one still in progress.
    completed(bob, local(2026, 3, 1, 0, 0, 30), seconds=121)
    completed(bob, local(2026, 3, 31, 23, 59), seconds=90)
    completed(bob, None, status=EnrollmentStatus.IN_PROGRESS)

    patient = PatientFactory()
    # Nora answers first: m1 on time (16:59 <= 17:00), m2 late (next day), m4 on time,
    # m7 late (a February message answered at March's first instant): 4 answered, 2 on time.
    m1 = received(patient, local(2026, 3, 2, 9), due=local(2026, 3, 2, 17))
    replied(m1, nurse, local(2026, 3, 2, 16, 59))
    m2 = received(patient, local(2026, 3, 3, 9), due=local(2026, 3, 3, 17))
    replied(m2, nurse, local(2026, 3, 4, 9))
    # Bob answers m3 by phone at exactly its internal target: on time (1 answered, 1 on time).
    m3 = received(patient, local(2026, 3, 5, 9), due=local(2026, 3, 5, 17))
    called(m3, bob, local(2026, 3, 5, 17))
    # m4: Nora replies first; Bob's later call is not a first response.
    m4 = received(patient, local(2026, 3, 6, 9), due=local(2026, 3, 6, 17))
    replied(m4, nurse, local(2026, 3, 6, 10))
    called(m4, bob, local(2026, 3, 6, 11))
    # m5: answered in February; m6: answered in April's first minute. Neither counts.
    m5 = received(patient, local(2026, 2, 27, 9), due=local(2026, 2, 27, 17))
    replied(m5, nurse, local(2026, 2, 27, 12))
    m6 = received(patient, local(2026, 3, 31, 9), due=local(2026, 3, 31, 17))
    replied(m6, nurse, local(2026, 4, 1, 0, 0, 30))
    m7 = received(patient, local(2026, 2, 28, 9), due=local(2026, 2, 28, 17))
    replied(m7, nurse, local(2026, 3, 1, 0, 0, 0))
    # m8: the portal's own feed brought the first response; Nora's reply after it
    # is not first, and the feed names nobody.
    m8 = received(patient, local(2026, 3, 10, 9), due=local(2026, 3, 10, 17))
    ActivityEventFactory(
        patient=patient,
        type=EventType.MESSAGE_TO_PATIENT,
        occurred_at=local(2026, 3, 10, 10),
        channel=Channel.PORTAL,
        object_id="portal-reply-1",
        reply_to=m8.message_id,
        source=EventSource.FEED_API,
    )
    replied(m8, nurse, local(2026, 3, 10, 11))
    return {"fatima": fatima, "bob": bob, "nora": nurse}


def figures(board):
    """{username: ((enrollments, under 2 min, timed), (answered first, on time, answered))}."""
    usernames = dict(User.objects.values_list("pk", "username"))
    out = {}
    for row in board.rows:
        enrollments, answered = row.cells
        out[usernames[row.user_id]] = (
            (enrollments.count, enrollments.met, enrollments.judged) if enrollments else None,
            (answered.count, answered.met, answered.judged) if answered else None,
        )
    return out


def test_the_board_matches_the_hand_counts_for_each_person(march):
    board = recognition_board(MARCH)

    assert figures(board) == {
        "bob": ((2, 1, 2), (1, 1, 1)),
        "fatima": ((4, 2, 3), None),
        "nora": (None, (4, 2, 4)),
    }
    fatima = next(r for r in board.rows if r.user_id == march["fatima"].pk)
    assert fatima.cells[0].met_percent == pytest.approx(200 / 3)


def test_the_neighboring_months_get_what_fell_outside_march(march):
    february = figures(recognition_board(dt.date(2026, 2, 1)))
    april = figures(recognition_board(dt.date(2026, 4, 1)))

    # February: Fatima's 30 s enrollment at 23:59:59; Nora's m5 on time.
    assert february == {"fatima": ((1, 1, 1), None), "nora": (None, (1, 1, 1))}
    # April: Fatima's enrollment at midnight; Nora's m6 answered after its target.
    assert april == {"fatima": ((1, 1, 1), None), "nora": (None, (1, 0, 1))}


def first_names(board):
    return [row.name.split()[0] for row in board.rows]


def test_rows_are_in_name_order_unless_a_column_is_chosen(march):
    assert first_names(recognition_board(MARCH)) == ["Bob", "Fatima", "Nora"]
    by_enrollments = recognition_board(MARCH, sort="enrollments")
    assert first_names(by_enrollments) == ["Fatima", "Bob", "Nora"]
    assert by_enrollments.sort == "enrollments"
    assert first_names(recognition_board(MARCH, sort="messages")) == ["Nora", "Bob", "Fatima"]


def test_a_month_with_nothing_has_no_rows(db):
    assert recognition_board(dt.date(2025, 1, 1)).rows == []


def test_the_board_reads_each_column_in_a_fixed_number_of_queries(
    march, django_assert_max_num_queries, front_desk_clerk
):
    """One aggregate per column (two for replies and calls) and one for the names:
    more people add no queries."""
    for n in range(3):
        extra = staff(f"clerk{n}", Role.FRONT_DESK, first_name=f"Clerk{n}")
        completed(extra, local(2026, 3, 9, 9), seconds=100)
    with django_assert_max_num_queries(4):
        board = recognition_board(MARCH)
    assert len(board.rows) == 6


def test_a_new_column_is_one_entry_of_counts_per_person(march):
    """How phone-script conversions join the board: {user_id: n} for the days."""
    asked = []

    def conversions(first_day, last_day):
        asked.append((first_day, last_day))
        return {march["nora"].pk: 3, march["bob"].pk: 0}

    column = Column("phone", "Phone-script conversions", "", counted(conversions))
    board = recognition_board(MARCH, columns=(*COLUMNS, column))

    assert asked == [(dt.date(2026, 3, 1), dt.date(2026, 3, 31))]
    nora = next(r for r in board.rows if r.user_id == march["nora"].pk)
    assert nora.cells[2].count == 3 and nora.cells[2].met is None


# --- The page ---------------------------------------------------------------------------


def test_maria_opens_the_board_for_march(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("program:recognition"), {"month": "2026-03"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "March 2026" in html
    assert "67% (2/3)" in html  # Fatima's enrollments under two minutes
    assert "50% (2/4)" in html  # Nora's messages on time
    assert html.index("Bob Brown") < html.index("Fatima ") < html.index("Nora ")
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER):
        assert not pattern.search(html)
    # No clinical content: not the message's subject nor its words.
    assert "Refill" not in html and "refill" not in html


def test_the_board_shows_this_month_by_default(client, manager, front_desk_clerk):
    completed(front_desk_clerk, local(2026, 11, 10, 9), seconds=100)
    with time_machine.travel(local(2026, 11, 20, 12), tick=False):
        client.force_login(manager)
        response = client.get(reverse("program:recognition"))
    assert response.status_code == 200
    assert response.context["board"].month == dt.date(2026, 11, 1)
    assert [r.user_id for r in response.context["board"].rows] == [front_desk_clerk.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"month": "2026-13"},
        {"month": "March"},
        {"month": "0001-01"},
        {"month": "9999-12"},
        {"month": "\uff12\uff10\uff12\uff16-\uff10\uff13"},  # full-width digits
        {"sort": "salary"},
    ],
)
def test_a_bad_month_or_order_is_refused_with_a_message(client, manager, query):
    client.force_login(manager)
    response = client.get(reverse("program:recognition"), query)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert "Correct the month above" in response.content.decode()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.PROVIDER, Role.BILLING])
def test_staff_cannot_open_the_board_or_name_a_champion(client, personas, role):
    client.force_login(personas[role])
    assert client.get(reverse("program:recognition")).status_code == 403
    response = client.post(
        reverse("program:recognition_champion"),
        {"month": "2026-03", "user": personas[role].pk},
    )
    assert response.status_code == 403
    assert not PortalChampion.objects.exists()


# --- The champion -------------------------------------------------------------------------


def test_maria_names_nora_champion_of_the_month(client, manager, nurse):
    client.force_login(manager)
    response = client.post(
        reverse("program:recognition_champion"),
        {"month": "2026-03", "user": nurse.pk, "reason": "Cleared the queue every day."},
        follow=True,
    )

    champion = PortalChampion.objects.get()
    assert (champion.month, champion.user, champion.named_by) == (MARCH, nurse, manager)
    assert champion.reason == "Cleared the queue every day."
    assert response.redirect_chain[-1][0] == reverse("program:recognition") + "?month=2026-03"
    expected = f"{staff_name(nurse)} is the portal champion of March 2026."
    assert expected in response.content.decode()


def test_naming_someone_else_replaces_the_months_champion(client, manager, nurse, bob):
    champion_name(month=MARCH, user=nurse, reason="", by=manager)
    client.force_login(manager)
    response = client.post(
        reverse("program:recognition_champion"),
        {"month": "2026-03", "user": bob.pk, "reason": ""},
        follow=True,
    )

    assert list(PortalChampion.objects.values_list("month", "user")) == [(MARCH, bob.pk)]
    expected = (
        f"Bob Brown is now the portal champion of March 2026, in place of {staff_name(nurse)}."
    )
    assert expected in response.content.decode()


def test_the_reason_warns_against_patient_details(client, manager):
    client.force_login(manager)
    html = client.get(reverse("program:recognition")).content.decode()
    assert "Do not name patients or include any patient details." in html


def test_only_active_staff_with_a_role_can_be_named(manager, nurse, db):
    nurse.is_active = False
    nurse.save()
    with pytest.raises(RecognitionError):
        champion_name(month=MARCH, user=nurse, by=manager)
    service_account = staff("integration-bot")  # no role
    with pytest.raises(RecognitionError):
        champion_name(month=MARCH, user=service_account, by=manager)
    assert not PortalChampion.objects.exists()


def test_a_bad_champion_form_is_refused_with_a_message(client, manager, nurse):
    client.force_login(manager)
    response = client.post(
        reverse("program:recognition_champion"), {"month": "0001-01", "user": nurse.pk}
    )
    assert response.status_code == 400
    assert response.context["champion_form"].errors["month"]
    assert not PortalChampion.objects.exists()


def test_a_month_has_one_champion_whatever_day_is_given(manager, nurse, bob):
    champion_name(month=dt.date(2026, 3, 17), user=nurse, by=manager)
    named = champion_name(month=MARCH, user=bob, by=manager)
    assert named.replaced == nurse
    assert PortalChampion.objects.get().month == MARCH


def test_the_home_page_shows_this_months_champion_to_every_role(client, personas, nurse):
    champion_name(
        month=dt.date(2026, 11, 1),
        user=nurse,
        reason="Answered on time.",
        by=personas[Role.MANAGER],
    )
    for role, user in personas.items():
        with time_machine.travel(local(2026, 11, 30, 23, 59), tick=False):
            client.force_login(user)
            html = client.get(reverse("home")).content.decode()
        assert "Portal champion of November 2026" in html, role
        assert "Answered on time." in html, role


def test_the_champion_changes_at_local_midnight_not_utc(manager, nurse, bob):
    champion_name(month=dt.date(2026, 11, 1), user=nurse, by=manager)
    champion_name(month=dt.date(2026, 12, 1), user=bob, by=manager)

    # 2026-12-01 03:00 UTC is still November 30 in New York.
    with time_machine.travel(dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC), tick=False):
        assert current_champion().user == nurse
    with time_machine.travel(local(2026, 12, 1, 0, 0), tick=False):
        assert current_champion().user == bob


def test_no_champion_means_nothing_on_the_home_page(client, nurse):
    client.force_login(nurse)
    assert current_champion() is None
    assert "Portal champion of" not in client.get(reverse("home")).content.decode()


# --- The demo -----------------------------------------------------------------------------


def test_the_demo_names_its_nurse_champion_once(db):
    nora = staff("nurse", Role.NURSE, first_name="Nora", last_name="Quinn")
    staff("manager", Role.MANAGER, first_name="Maria", last_name="Lopez")
    today = dt.date(2026, 11, 30)

    demo_recognition(today)
    demo_recognition(today)

    champion = PortalChampion.objects.get()
    assert (champion.month, champion.user) == (dt.date(2026, 11, 1), nora)
