"""Open messages in every queue for the demo practice, so a first run has work to show.

They arrive through message_receive like real ones, so routing, red flags
and due times are the application's own. Deterministic for a seed.

And the bill-pay reminders the nightly workers would have sent over the demo's
year (demo_bill_reminders_load), so the Bill pay report has both rows.
"""

import random
from datetime import date, datetime, time, timedelta

from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone

from messaging.models import Communication, CommunicationStatus, Message, OutreachRule
from messaging.outreach import (
    BILL_DUE,
    BILL_FIRST,
    bill_period,
    channel_for,
    outreach_compose,
    rule_option,
    statements,
)
from messaging.services import Inbound, message_receive
from patients.models import EventSource, EventType, Patient
from patients.selectors import plausible_events

DEMO_PREFIX = "demo-msg-"
SAMPLES = (
    ("Refill", "Could you send a refill of my blood pressure medication to the pharmacy?"),
    ("Rash", "The rash on my arm is spreading since yesterday. Should I come in?"),
    ("Swelling after surgery", "My knee is still swollen a week after surgery. Is that normal?"),
    ("Side effect", "I feel dizzy since starting the new dose. What should I do?"),
    ("Fever", "My son has had a fever of 101 since last night."),
    ("Appointment", "I need to reschedule my appointment next Tuesday."),
    ("Forms", "Can you fill in the school form for my daughter?"),
    ("Records", "Please send my records to my new cardiologist."),
    ("Address", "I moved: please update my address."),
    ("Bill", "I got a bill for a visit my insurance should cover."),
    ("Payment", "Can I set up a payment plan for my balance?"),
    ("Copay", "Why was my copay higher this time?"),
    ("Urgent", "I have chest pain and trouble breathing since this morning."),
    ("Question", "Hello, quick question about my visit."),
)


def demo_messages_load(*, count: int = 40, seed: int = 42) -> int:
    """Create the demo's open messages once; returns how many were new."""
    if Message.objects.filter(message_id__startswith=DEMO_PREFIX).exists():
        return 0
    rng = random.Random(seed)
    patients = list(Patient.objects.filter(deactivated_on__isnull=True).order_by("pk")[:500])
    if not patients:
        return 0
    now = timezone.now()
    created = 0
    for n in range(count):
        subject, body = SAMPLES[n % len(SAMPLES)]
        inbound = Inbound(
            message_id=f"{DEMO_PREFIX}{seed}-{n:04d}",
            patient=rng.choice(patients),
            subject=subject,
            body=body,
            sent_at=now - timedelta(minutes=rng.randint(5, 60 * 30)),
        )
        created += message_receive(inbound=inbound)[1]
    return created


DEMO_JOB = "demo"


def demo_bill_reminders_load(*, today: date | None = None) -> int:
    """The reminders the bill_reminder rule would have sent for the demo's statements.

    For each demo statement of an enrolled patient still unpaid on its first
    reminder day (and on its due date, for the second), a "sent" row on that
    day at 10:00, before today. The claims' uniqueness makes a second run add
    nothing. Returns how many rows were new.
    """
    today = today or timezone.localdate()
    days_after = int(rule_option(OutreachRule.BILL_REMINDER, "days_after"))
    payments = plausible_events().filter(
        type=EventType.PAYMENT, patient=OuterRef("patient"), object_id=OuterRef("object_id")
    )
    activations = plausible_events().filter(
        type=EventType.PORTAL_ACTIVATED, patient=OuterRef("patient")
    )
    rows = (
        statements()
        .filter(source=EventSource.DEMO)
        .annotate(
            paid_at=Subquery(
                payments.values("patient").annotate(first=Min("occurred_at")).values("first")
            ),
            enrolled_at=Subquery(
                activations.values("patient").annotate(first=Min("occurred_at")).values("first")
            ),
        )
        .filter(enrolled_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "patient_id", "occurred_at", "due_date", "paid_at", "enrolled_at")
    )
    due: list[tuple[int, int, str, datetime]] = []
    for statement_id, patient_id, issued_at, due_date, paid_at, enrolled_at in rows:
        first_day = timezone.localdate(issued_at) + timedelta(days=days_after)
        days = [(BILL_FIRST, first_day)]
        if due_date and due_date > first_day:
            days.append((BILL_DUE, due_date))
        for which, day in days:
            at = timezone.make_aware(datetime.combine(day, time(10)))
            if day < today and enrolled_at <= at and (paid_at is None or paid_at > at):
                due.append((statement_id, patient_id, which, at))
    patients = Patient.objects.in_bulk({patient_id for _s, patient_id, _w, _a in due})
    created = 0
    for statement_id, patient_id, which, at in due:
        patient = patients[patient_id]
        subject, body = outreach_compose(patient, OutreachRule.BILL_REMINDER, at.date())
        _row, new = Communication.objects.get_or_create(
            patient=patient,
            rule=OutreachRule.BILL_REMINDER,
            period=bill_period(statement_id, which),
            defaults={
                "channel": channel_for(patient),
                "subject": subject,
                "body": body,
                "job": DEMO_JOB,
                "status": CommunicationStatus.SENT,
                "created_at": at,
                "not_before": at,
                "sent_at": at,
                "attempts": 1,
            },
        )
        created += new
    return created


DEMO_RESULTS_JOB = "demo"
DEMO_RESULTS_DAYS = 62


def demo_results_education(*, days: int = DEMO_RESULTS_DAYS) -> int:
    """Results-education messages over the demo's last `days` days, so its report has data.

    The rule is replayed once a day at 13:00 (practice time) through the real
    claim (outreach.frequent.claim_results_education) and communication_send:
    results still unviewed four hours after their release get the message.
    Mail goes to memory, not the console, and texts are off (the rule sends
    email then): the demo writes to nobody. Once only: a second call finds
    the demo's messages and does nothing.
    """
    from django.core import mail
    from django.test.utils import override_settings

    from messaging.models import Communication, CommunicationStatus, OutreachRule
    from messaging.outreach import communication_send
    from messaging.outreach.frequent import claim_results_education, due_results_education

    rows = Communication.objects.filter(rule=OutreachRule.RESULTS_EDUCATION, job=DEMO_RESULTS_JOB)
    if rows.exists():
        return 0
    today = timezone.localdate()
    claimed = []
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        SMS_BACKEND="messaging.channels.NoSmsBackend",
    ):
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            moment = timezone.make_aware(datetime.combine(day, time(13)))
            for patient in due_results_education(moment):
                communication = claim_results_education(patient, moment, DEMO_RESULTS_JOB)
                if communication and communication.status == CommunicationStatus.QUEUED:
                    claimed.append(communication.pk)
        for communication_id in claimed:
            communication_send(communication_id)
        mail.outbox = []
    return len(claimed)


# --- Survey comments for the feedback page (issue 13) -------------------------------

DEMO_FEEDBACK_JOB = "demo feedback"
# (the lowest score it fits, the comment, the tag a manager would give it)
DEMO_COMMENTS = (
    (1, "I could not find a time to book online and had to call anyway.", "scheduling"),
    (1, "The login code never arrived on my phone.", "login"),
    (2, "Booking an appointment takes too many steps.", "scheduling"),
    (2, "I waited three days for an answer to my message.", "messaging"),
    (2, "My bill in the portal did not match the paper one.", "billing"),
    (3, "I did not understand the flags on my lab results.", "results"),
    (3, "I forget my password every time.", "login"),
    (3, "Hard to see which appointment times are open.", "scheduling"),
    (4, "Good, but the app logs me out too often.", "login"),
    (4, "Messages are answered quickly. Thank you!", "messaging"),
    (4, "Paying my bill online was easy.", "billing"),
    (5, "Seeing my results the same day is wonderful.", "results"),
    (5, "Much easier than calling the office.", "other"),
)
DEMO_CHANGE = {
    "tag": "scheduling",
    "text_en": "we simplified appointment scheduling: open times now show on the first page.",
    "text_es": "simplificamos la programación de citas: los horarios libres aparecen en la "
    "primera página.",
}


def demo_feedback_load(*, seed: int = 42, share: float = 0.4, months_ago: int = 2) -> int:
    """Comments on some of the demo's survey answers, a few tagged, one published note.

    Each comment goes with a survey_response event the demo generator made
    (same patient, time and score), stored the way survey_answer stores it:
    a sent survey Communication and its answered SurveyInvitation. The note
    on "scheduling" is published `months_ago` months back through the real
    service, so the satisfaction chart has its marker. Once only; returns
    how many comments were written. Deterministic for a seed.
    """
    from messaging.models import (
        Communication,
        CommunicationStatus,
        OutreachChannel,
        OutreachRule,
        SurveyInvitation,
    )
    from messaging.services.feedback import comment_tag_add, feedback_change_publish
    from patients.demo import demo_email
    from patients.models import EventType
    from patients.selectors import plausible_events
    from portal_adoption.models import User

    if Communication.objects.filter(job=DEMO_FEEDBACK_JOB).exists():
        return 0
    rng = random.Random(seed)
    since = timezone.now() - timedelta(days=365)
    answers = (
        plausible_events()
        .filter(
            type=EventType.SURVEY_RESPONSE,
            score__isnull=False,
            occurred_at__gte=since,
            patient__deactivated_on__isnull=True,
        )
        .select_related("patient")
        .order_by("occurred_at", "pk")
    )
    taken = set(
        Communication.objects.filter(rule=OutreachRule.SATISFACTION_SURVEY).values_list(
            "patient_id", "period"
        )
    )
    written = []
    for event in answers:
        period = f"{timezone.localtime(event.occurred_at):%Y-%m}"
        if rng.random() >= share or (event.patient_id, period) in taken:
            continue
        taken.add((event.patient_id, period))
        fitting = [c for c in DEMO_COMMENTS if c[0] <= event.score <= c[0] + 1]
        _low, text, tag = rng.choice(fitting or DEMO_COMMENTS)
        communication = Communication.objects.create(
            patient=event.patient,
            rule=OutreachRule.SATISFACTION_SURVEY,
            period=period,
            channel=OutreachChannel.EMAIL,
            subject="How is the portal working for you?",
            body="Demo survey invitation.",
            status=CommunicationStatus.SENT,
            job=DEMO_FEEDBACK_JOB,
            created_at=event.occurred_at - timedelta(days=1),
            not_before=event.occurred_at - timedelta(days=1),
            sent_at=event.occurred_at - timedelta(days=1),
        )
        invitation = SurveyInvitation.objects.create(
            communication=communication,
            patient=event.patient,
            expires_at=event.occurred_at + timedelta(days=13),
            answered_at=event.occurred_at,
            score=event.score,
            comment=text,
        )
        written.append((invitation, tag))
    manager = User.objects.filter(username="manager", email=demo_email("manager")).first()
    for invitation, tag in written:
        if rng.random() < 0.6:
            comment_tag_add(invitation=invitation, tag=tag, by=manager)
    if manager and written:
        # The note's messages go through the real send, to memory and with texts off,
        # as in demo_results_education: the demo writes to nobody, and `make run`
        # prints logins, not e-mails.
        from django.core import mail
        from django.test.utils import override_settings

        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            SMS_BACKEND="messaging.channels.NoSmsBackend",
        ):
            feedback_change_publish(
                **DEMO_CHANGE,
                by=manager,
                idempotency_key="demo-feedback-change",
                at=timezone.now() - timedelta(days=30 * months_ago),
            )
            mail.outbox = []
    return len(written)
