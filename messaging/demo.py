"""Open messages in every queue for the demo practice, so a first run has work to show.

They arrive through message_receive like real ones, so routing, red flags
and due times are the application's own. Deterministic for a seed.

And the bill-pay reminders the nightly workers would have sent over the demo's
year (demo_bill_reminders_load), so the Bill pay report has both rows.
"""

import dataclasses
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone

from messaging.models import (
    Category,
    ChartNoteOutcome,
    Communication,
    CommunicationStatus,
    Message,
    OutboxItem,
    OutreachRule,
    Queue,
    ReplyTemplate,
)
from messaging.outreach import (
    BILL_DUE,
    BILL_FIRST,
    bill_period,
    channel_for,
    outreach_compose,
    outreach_setting,
    rule_option,
    statements,
)
from messaging.services import (
    Inbound,
    chart_note_draft,
    message_claim_next,
    message_close,
    message_close_with_outcome,
    message_escalate,
    message_log_call,
    message_receive,
    message_reply,
    outbox_ack,
    routing_load,
    template_render,
)
from messaging.services.manage import reply_template_save
from patients.models import EventSource, EventType, Patient
from patients.selectors import plausible_events
from portal_adoption.models import User

DEMO_PREFIX = "demo-msg-"
# About the share of each category in the history (CATEGORY_WEIGHTS), in turn.
STANDALONE_CATEGORIES = (
    Category.CLINICAL,
    Category.ADMINISTRATIVE,
    Category.CLINICAL,
    Category.BILLING,
    Category.CLINICAL,
    Category.ADMINISTRATIVE,
)


def demo_messages_load(*, count: int = 40, seed: int = 42) -> int:
    """Open messages in every queue, once, when demo_data's history has not filled them.

    demo_data puts about 40 open messages in the queues (demo_message_history),
    so after it this adds nothing. Without it (a roster of one's own), `count`
    messages arrive over the last hours, a gap of about 40 minutes between two,
    clinical, administrative and billing in turn, the newest a red flag, their
    subjects dealt from the live queue's deck. Returns how many were new.
    """
    if Message.objects.filter(message_id__startswith="demo-").exists():
        return 0
    rng = random.Random(seed)
    patients = list(Patient.objects.filter(deactivated_on__isnull=True).order_by("pk")[:500])
    if not patients:
        return 0
    routing, deck = routing_load(), _Deck(rng)
    at = timezone.now() - timedelta(minutes=rng.randint(3, 20))
    created = 0
    for n in range(count):
        patient = rng.choice(patients)
        if n == 0:
            subject, body = rng.choice(URGENT_SAMPLES)
        else:
            category = STANDALONE_CATEGORIES[n % len(STANDALONE_CATEGORIES)]
            subject, body = deck.deal(category, patient)
        inbound = Inbound(
            message_id=f"{DEMO_PREFIX}{seed}-{n:04d}",
            patient=patient,
            subject=subject,
            body=body,
            sent_at=at,
        )
        created += message_receive(inbound=inbound, routing=routing)[1]
        at -= timedelta(minutes=round(rng.expovariate(1 / 40)) + 1)
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
    # (patient, rule, period) is unique: the rows stored already are left as they are.
    stored = set(
        Communication.objects.filter(rule=OutreachRule.BILL_REMINDER).values_list(
            "patient_id", "period"
        )
    )
    setting = outreach_setting(OutreachRule.BILL_REMINDER)
    rows = []
    for statement_id, patient_id, which, at in due:
        period = bill_period(statement_id, which)
        if (patient_id, period) in stored:
            continue
        stored.add((patient_id, period))
        patient = patients[patient_id]
        subject, body = outreach_compose(
            patient, OutreachRule.BILL_REMINDER, at.date(), setting=setting
        )
        rows.append(
            Communication(
                patient=patient,
                rule=OutreachRule.BILL_REMINDER,
                period=period,
                channel=channel_for(patient),
                subject=subject,
                body=body,
                job=DEMO_JOB,
                status=CommunicationStatus.SENT,
                created_at=at,
                not_before=at,
                sent_at=at,
                attempts=1,
            )
        )
    Communication.objects.bulk_create(rows, batch_size=500)
    return len(rows)


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
        # prints logins, not e-mails. The service sends after commit, and demo_messages
        # commits once at its end, out of this block: so they are sent here, and the
        # sends queued for after the commit find them sent and do nothing.
        from django.core import mail
        from django.test.utils import override_settings

        from messaging.outreach import communication_send

        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            SMS_BACKEND="messaging.channels.NoSmsBackend",
        ):
            change, _new = feedback_change_publish(
                **DEMO_CHANGE,
                by=manager,
                idempotency_key="demo-feedback-change",
                at=timezone.now() - timedelta(days=30 * months_ago),
            )
            claimed = Communication.objects.filter(
                rule=OutreachRule.FEEDBACK_CHANGE,
                period=str(change.pk),
                status=CommunicationStatus.QUEUED,
            ).values_list("pk", flat=True)
            for communication_id in list(claimed):
                communication_send(communication_id)
            mail.outbox = []
    return len(written)


# --- The queue's recent history, through the messaging services (issue 14) ---------------

# (subject, body) per category: what patients write, varied, never in a cycle (an
# RNG draws them). Each matches its category's default routing phrases.
CLINICAL_SAMPLES = (
    (
        "Refill request",
        "Could you send a refill of my {drug} to the pharmacy? I have three pills left.",
    ),
    ("Medication question", "Can I take ibuprofen with my {drug}, or should I use something else?"),
    (
        "Side effect?",
        "Since the new dose of {drug} I feel dizzy in the mornings. Should I keep taking it?",
    ),
    (
        "Rash on my {part}",
        "I have a red rash on my {part} since {day}. It itches but there is no fever.",
    ),
    (
        "Swelling after my procedure",
        "My {part} is still swollen a week after the procedure. Is that normal?",
    ),
    (
        "Fever since last night",
        "My son has had a fever of 101 since last night. He is drinking fine.",
    ),
    (
        "Test results question",
        "I saw my test results in the portal. What does the high A1c mean for me?",
    ),
    (
        "Back pain",
        "My lower back pain is worse since {day}. Can I do anything at home before my visit?",
    ),
    (
        "Blood pressure readings",
        "My home readings are around 150/95 this week. Should I change my medication?",
    ),
    (
        "Cough that won't go away",
        "I have had a dry cough for two weeks with a mild fever at night.",
    ),
    ("Sore throat", "Sore throat and fever since {day}. Do I need a strep test?"),
    ("Knee pain after running", "My right knee has pain on the stairs since my run on {day}."),
    ("Ear pain", "My daughter has ear pain and a low fever. Can she be seen today?"),
    (
        "Allergy symptoms",
        "My allergy medication is not helping this season. Can I try a different one?",
    ),
    ("Stitches", "When can the stitches on my {part} come out? There is a little swelling."),
    (
        "Headache every afternoon",
        "I get a headache with some neck pain every afternoon since {day}. Should I worry?",
    ),
    (
        "Stomach pain after meals",
        "I have stomach pain after eating since {day}. Is there anything I can take?",
    ),
    ("Feeling tired on the new dose", "My energy is low since the dose of my {drug} changed."),
    ("Insect bite", "An insect bite on my {part} has some swelling and is warm to the touch."),
    ("Rash after antibiotics", "My son has a rash since he started the antibiotic on {day}."),
    ("Lab test results", "My test results came back with low vitamin D. What should I take?"),
    (
        "Dizzy when standing up",
        "I feel dizzy when I stand up. Could it be a side effect of my {drug}?",
    ),
    ("Inhaler refill", "Please send a refill for my inhaler; I have used it more since {day}."),
    (
        "Sleep medication",
        "The sleep medication makes me groggy in the morning. Can I take half?",
    ),
    ("Dolor de cabeza", "Tengo dolor de cabeza desde {day_es}. ¿Puedo tomar mi medicamento?"),
    ("Fiebre de mi hija", "Mi hija tiene fiebre desde {day_es}. ¿Qué medicamento le puedo dar?"),
)
ADMIN_SAMPLES = (
    (
        "Reschedule my appointment",
        "I need to reschedule my appointment on {day}. Mornings work best.",
    ),
    ("Cancel appointment", "Please cancel my appointment for {day}; I am traveling."),
    (
        "School form",
        "Can you fill in the school form for my daughter? I uploaded it to the portal.",
    ),
    ("Records for a new specialist", "Please send my records to Dr. Alvarez, my new cardiologist."),
    ("New address", "I moved last month: please update my address in your records."),
    ("Referral to physical therapy", "Did the referral to physical therapy go through?"),
    ("Annual physical appointment", "I'd like an appointment for my annual physical next month."),
    ("Work form", "My employer needs a form signed after my visit on {day}."),
    ("Appointment time", "Is my appointment on {day} at 10:30 or 11:30? I have both in my notes."),
    ("Phone number and address", "Please update my phone number and address on file."),
    ("Records from my old doctor", "Did you receive my records from my previous doctor?"),
    ("Video visit?", "Can my next appointment be a video visit instead of coming in?"),
    ("Disability form", "I need my disability form completed by the end of the month."),
    ("Referral to dermatology", "Do I need a referral to see a dermatologist?"),
    ("Cambiar mi cita", "Necesito cambiar mi cita del {day_es}, por favor."),
)
BILLING_SAMPLES = (
    (
        "Question about my bill",
        "I got a bill for my visit on {day} that my insurance should cover.",
    ),
    ("Payment plan", "Can I set up a payment plan for my balance of ${amount}?"),
    ("Copay amount", "Why was my copay higher this time than at my last visit?"),
    ("New insurance", "I have new insurance since this month. Where do I send the card?"),
    ("Statement", "My statement shows a charge I don't recognize from {day}."),
    ("Paid twice?", "I think my payment went through twice. Can you check the charge?"),
    ("Receipt for my payment", "Could you send a receipt for my payment? I need it for my HSA."),
    (
        "Claim denied",
        "My insurance denied the claim for my visit on {day}. What should I do now?",
    ),
    ("Balance after paying", "Why do I still have a balance after my last payment?"),
    ("Itemized invoice", "Could you send an itemized invoice for my last visit?"),
    ("Factura duplicada", "Recibí dos veces la misma factura. ¿Debo pagar las dos?"),
)
SPANISH_SUBJECTS = frozenset(
    ("Dolor de cabeza", "Fiebre de mi hija", "Cambiar mi cita", "Factura duplicada")
)
# Red-flag symptoms (messaging/defaults.py): the subject is clinical, never "Urgent".
URGENT_SAMPLES = (
    (
        "Chest tightness since this morning",
        "I have chest pain and feel short of breath when I walk.",
    ),
    (
        "Trouble breathing with my cold",
        "Since last night I have trouble breathing, even sitting down.",
    ),
    ("Fainted at home", "My mother fainted this morning and is very weak now."),
    ("Coughing up blood", "I started coughing up blood today after a week of coughing."),
)
THANKS_SAMPLES = (
    ("Thank you", "Just wanted to say thank you to everyone at the office."),
    ("Thanks!", "Thanks for the quick help yesterday, all sorted now."),
)
SAMPLE_WORDS = {
    "drug": (
        "lisinopril",
        "metformin",
        "atorvastatin",
        "levothyroxine",
        "amlodipine",
        "sertraline",
    ),
    "part": ("arm", "leg", "hand", "ankle", "neck", "knee"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"),
    "day_es": ("el lunes", "el martes", "el miércoles", "el jueves", "el viernes"),
    "amount": ("180", "240", "415", "620"),
}
SAMPLES_BY_CATEGORY = {
    Category.CLINICAL: CLINICAL_SAMPLES,
    Category.ADMINISTRATIVE: ADMIN_SAMPLES,
    Category.BILLING: BILLING_SAMPLES,
}
CATEGORY_WEIGHTS = ((Category.CLINICAL, 55), (Category.ADMINISTRATIVE, 28), (Category.BILLING, 17))
FREE_REPLIES = {
    Category.CLINICAL: (
        "Hi {first_name}, I spoke with the provider: keep taking it as prescribed and call us at "
        "{practice_phone} if it gets worse. - {staff_name}",
        "Hi {first_name}, this is common and should settle in a few days. Rest, fluids, and call "
        "{practice_phone} if you get a fever over 102. - {staff_name}",
        "Hi {first_name}, the refill was sent to your pharmacy this afternoon. - {staff_name}",
        "Hi {first_name}, please come in so we can take a look: the front desk will call you with "
        "a time. - {staff_name}",
    ),
    Category.ADMINISTRATIVE: (
        "Hi {first_name}, done: you will see the change in the portal. - {staff_name}",
        "Hi {first_name}, we have sent it today. Call {practice_phone} if you need anything else. "
        "- {staff_name}",
    ),
    Category.BILLING: (
        "Hi {first_name}, we have resubmitted the claim to your insurance; you do not need to pay "
        "it for now. - {staff_name}",
        "Hi {first_name}, yes: a plan over six months is set up, and the portal shows it. "
        "- {staff_name}",
    ),
}
CALL_SUMMARIES = (
    "Called the patient back: symptoms explained, will call if worse.",
    "Spoke with the patient by phone (prefers calls): question answered.",
    "Called back: advised to come in tomorrow morning; appointment made.",
)
# The playbook's three examples, in each queue they fit (issue 14).
PLAYBOOK_TEMPLATES = {
    "next_appointment": (
        "When should I schedule my next appointment?",
        "Hi {first_name}, thank you for asking. Your provider would like to see you again in "
        "about three months. You can book a time in the portal under Appointments, or call us "
        "at {practice_phone}. - {staff_name}",
    ),
    "procedure": (
        "How do I prepare for my procedure?",
        "Hi {first_name}, please stop eating at midnight the night before, take your usual "
        "morning medicines with a sip of water, and bring someone to drive you home. The "
        "instructions are also in the portal under Documents. Call {practice_phone} with any "
        "question. - {staff_name}",
    ),
    "respond": (
        "When will you respond to my message?",
        "Hi {first_name}, we answer portal messages within one business day, usually the same "
        "day. For anything urgent, please call us at {practice_phone}. - {staff_name}",
    ),
}
TEMPLATES_BY_CATEGORY = {
    Category.CLINICAL: ("next_appointment", "procedure", "respond"),
    Category.ADMINISTRATIVE: ("next_appointment", "procedure", "respond"),
    Category.BILLING: ("respond",),
}
RESPONDERS = {
    Category.CLINICAL: (("nurse", 60), ("tkim", 40)),
    Category.ADMINISTRATIVE: (("frontdesk", 40), ("jreed", 25), ("pshah", 20), ("lmoreno", 15)),
    Category.BILLING: (("billing", 100),),
}
HISTORY_SEED_OFFSET = 3_571
P_TEMPLATE_REPLY = 0.3
P_URGENT = 0.01
P_ESCALATED = 0.06
P_SPANISH_SAMPLE = 0.5
LIVE_RECENT = 34  # the newest messages, still in the queue
LIVE_OVERDUE = 6  # and a few from the last days that slipped
LIVE_OVERDUE_DAYS = 8
PROVIDER_TASKS = 4  # open escalations to the demo provider (Dr. Patel's login)
DEMO_PROVIDER_USERNAME = "provider"


@dataclass(frozen=True)
class MessageHistory:
    received: int
    open: int


def demo_reply_templates() -> int:
    """The playbook's three examples as reply templates, once, through the template service."""
    created = 0
    for category, keys in TEMPLATES_BY_CATEGORY.items():
        for key in keys:
            name, body = PLAYBOOK_TEMPLATES[key]
            if ReplyTemplate.objects.filter(category=category, name__iexact=name).exists():
                continue
            reply_template_save(category=category, name=name, body=body)
            created += 1
    return created


def demo_message_history(messages: list, *, seed: int = 42) -> MessageHistory:
    """The demo's recent portal messages, through the queue's own services.

    1. Each PortalMessage (patients/demo.py: the generator wrote no event for
       it) arrives through message_receive at its generated moment, with a
       subject and body drawn for a category (clinical, administrative,
       billing; a few red-flag symptoms), so routing, red flags and due
       times are the application's own.
    2. Its generated first response is replayed at its moment by a member of
       the team: message_reply (some from the playbook templates) or
       message_log_call (answered by phone); a few clinical ones are first
       escalated to the patient's provider. Answered messages older than a
       day are closed (with a chart note where the rules need one), and
       their replies acknowledged by the portal.
    3. The live queue: the newest LIVE_RECENT messages, LIVE_OVERDUE from the
       last days and the ones never answered stay open, their responses not
       written; PROVIDER_TASKS of them wait in the demo provider's task list.
       One nurse and one clerk have taken a message.
    Returns how many messages arrived and how many are open.
    """
    demo_reply_templates()
    users = {u.username: u for u in User.objects.filter(email__endswith="@demo.example.org")}
    if "nurse" not in users or not messages:
        return MessageHistory(0, 0)
    rng = random.Random(seed + HISTORY_SEED_OFFSET)
    # A demo that ends before today (--until) is seen as at its end.
    now = min(timezone.now(), max(m.sent_at for m in messages) + timedelta(minutes=30))
    patients = Patient.objects.select_related("primary_provider__user").in_bulk(
        {m.patient_external_id for m in messages}, field_name="external_id"
    )
    ordered = _live_retimed(rng, sorted(messages, key=lambda m: (m.sent_at, m.message_id)), now)
    live = _live_messages(rng, ordered, patients, now)
    templates = {
        category: list(ReplyTemplate.objects.filter(category=category, active=True))
        for category in Category.values
    }
    open_count = 0
    with transaction.atomic():
        routing, deck = routing_load(), _Deck(rng)
        for planned in ordered:
            patient = patients[planned.patient_external_id]
            kind = live.get(planned.message_id, "")
            message = _arrive(rng, planned, patient, kind, routing, deck)
            if kind:
                open_count += 1
                if kind == "provider":
                    _escalate(rng, message, users, planned.sent_at, now)
                continue
            _answer(rng, message, planned, patient, users, templates, now)
        _claim_some(users)
    return MessageHistory(len(ordered), open_count)


def _live_retimed(rng, ordered: list, now) -> list:
    """The newest messages arrive up to minutes before now, whatever the hour of loading.

    The generator's last day runs to midnight; the queue is seen now. So the
    LIVE_RECENT newest are spread back from a few minutes ago, a gap of about
    40 minutes between two, evenings and weekends included: due times and SLA
    states then differ, as in a real queue at any hour.
    """
    live = min(LIVE_RECENT, len(ordered) // 4)
    older, newest = ordered[: len(ordered) - live], ordered[len(ordered) - live :]
    at = now - timedelta(minutes=rng.randint(3, 20))
    moved = []
    for planned in reversed(newest):
        moved.append(dataclasses.replace(planned, sent_at=at, response_type="", response_at=None))
        at -= timedelta(minutes=round(rng.expovariate(1 / 40)) + 1)
    # Older answers that fall after now would be replies from the future: still open.
    older = [
        m
        if m.response_at is None or m.response_at <= now
        else dataclasses.replace(m, response_type="", response_at=None)
        for m in older
        if m.sent_at < at
    ]
    return older + moved[::-1]


def _live_messages(rng, ordered, patients, now) -> dict[str, str]:
    """message_id -> why it is still open: "new", "provider" (escalated), "urgent"."""
    newest = min(LIVE_RECENT, len(ordered) // 4)
    live = {m.message_id: "new" for m in ordered[len(ordered) - newest :]}
    # The newest are spread back about a day (_live_retimed), and older ones that fell
    # in that day were dropped: the ones that slipped are from the days before it.
    slipped = [
        m
        for m in ordered[: len(ordered) - newest]
        if now - m.sent_at < timedelta(days=LIVE_OVERDUE_DAYS)
    ]
    for m in rng.sample(slipped, min(LIVE_OVERDUE, len(slipped))):
        live[m.message_id] = "new"
    for m in ordered:
        # Never answered: the newest wait in the queue; older ones were thanks, closed.
        if not m.response_type and now - m.sent_at < timedelta(days=4):
            live[m.message_id] = "new"
    patels = [
        m
        for m in reversed(ordered)
        if getattr(patients[m.patient_external_id].primary_provider, "user_id", None)
        and now - m.sent_at < timedelta(days=5)
    ]
    for m in patels[:PROVIDER_TASKS]:
        live[m.message_id] = "provider"
    # One urgent message among the newest: it arrived minutes ago.
    newest = ordered[-1] if ordered else None
    if newest is not None and live.get(newest.message_id) == "new":
        live[newest.message_id] = "urgent"
    return live


def _arrive(rng, planned, patient, kind: str, routing, deck: "_Deck"):
    if kind == "urgent" or (kind == "" and planned.response_type and rng.random() < P_URGENT):
        subject, body = rng.choice(URGENT_SAMPLES)
    elif not planned.response_type and kind == "":
        subject, body = rng.choice(THANKS_SAMPLES)
    else:
        category = Category.CLINICAL if kind == "provider" else _weighted(rng, CATEGORY_WEIGHTS)
        # What the queue shows now comes from the deck; the closed history may repeat.
        subject, body = deck.deal(category, patient) if kind else _sample(rng, category, patient)
    message, _created = message_receive(
        inbound=Inbound(
            message_id=planned.message_id,
            patient=patient,
            subject=subject,
            body=body,
            sent_at=planned.sent_at,
        ),
        now=planned.sent_at,
        routing=routing,
    )
    return message


def _weighted(rng, table):
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


def _sample(rng, category: str, patient) -> tuple[str, str]:
    pool = SAMPLES_BY_CATEGORY[category]
    spanish = patient.preferred_language.startswith("es") and rng.random() < P_SPANISH_SAMPLE
    choices = [sample for sample in pool if _is_spanish(sample) == spanish] or list(pool)
    return _filled(rng, rng.choice(choices))


def _filled(rng, sample) -> tuple[str, str]:
    subject, body = sample
    words = {key: rng.choice(values) for key, values in SAMPLE_WORDS.items()}
    return subject.format(**words), body.format(**words)


def _is_spanish(sample) -> bool:
    return sample[0] in SPANISH_SUBJECTS


class _Deck:
    """The live queue's subjects, dealt from a shuffled deck per category.

    A subject is not dealt twice while the category has unseen ones: the
    queue a nurse opens shows each question once, as a real one would.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cards: dict[str, list] = {}
        self.dealt: set[str] = set()

    def deal(self, category: str, patient) -> tuple[str, str]:
        rng = self.rng
        spanish = patient.preferred_language.startswith("es") and rng.random() < P_SPANISH_SAMPLE
        for _round in range(2):
            cards = self.cards.get(category)
            if not cards:
                cards = self.cards[category] = list(SAMPLES_BY_CATEGORY[category])
                rng.shuffle(cards)
            ordered = sorted(cards, key=lambda card: _is_spanish(card) != spanish)
            for card in ordered:
                for _words in range(4):
                    subject, body = _filled(rng, card)
                    if subject not in self.dealt:
                        cards.remove(card)
                        self.dealt.add(subject)
                        return subject, body
            self.cards[category] = []  # every subject dealt: a new round
        return _filled(rng, rng.choice(SAMPLES_BY_CATEGORY[category]))


def _responder(rng, message, users):
    table = RESPONDERS[message.category]
    present = [(name, weight) for name, weight in table if name in users]
    return users[_weighted(rng, present)] if present else users["nurse"]


def _escalate(rng, message, users, sent_at, now) -> None:
    nurse = users["nurse"]
    at = min(now, sent_at + timedelta(minutes=rng.randint(10, 90)))
    message_escalate(
        message=message,
        note="Please review: the patient asks whether to change the dose.",
        by=nurse,
        now=at,
    )


def _answer(rng, message, planned, patient, users, templates, now) -> None:
    if not planned.response_type:
        # A thank-you needs no reply: closed unanswered, with a line in the chart.
        message_close(
            message=message,
            by=_responder(rng, message, users),
            chart_note="Patient thanked the team; no reply needed.",
            now=planned.sent_at + timedelta(hours=2),
        )
        return
    at = planned.response_at
    by = _responder(rng, message, users)
    if message.urgent:
        # A red flag gets a call within minutes, whatever the generator said.
        at = planned.sent_at + timedelta(minutes=rng.randint(4, 18))
        message_log_call(
            message=message, summary=rng.choice(CALL_SUMMARIES), by=users["nurse"], now=at
        )
    elif (
        message.category == Category.CLINICAL
        and rng.random() < P_ESCALATED
        and patient.primary_provider
    ):
        _escalate(rng, message, users, planned.sent_at, at - timedelta(minutes=1))
        provider = patient.primary_provider.user or users["nurse"]
        _reply(rng, message, provider, templates, at)
    elif planned.response_type == EventType.RESPONSE_BY_PHONE:
        message_log_call(message=message, summary=rng.choice(CALL_SUMMARIES), by=by, now=at)
    else:
        _reply(rng, message, by, templates, at)
    if now - at > timedelta(days=1):
        done = at + timedelta(minutes=rng.randint(2, 40))
        if message.category == Category.CLINICAL or message.care_related:
            outcome = rng.choice(
                (
                    ChartNoteOutcome.UNDERSTOOD,
                    ChartNoteOutcome.CALL_IF_WORSE,
                    ChartNoteOutcome.VISIT,
                )
            )
            message_close_with_outcome(
                message=message, by=by, note=chart_note_draft(message), outcome=outcome, now=done
            )
        else:
            message_close(message=message, by=by, now=done)
        for item in OutboxItem.objects.filter(reply__message=message, acked_at__isnull=True):
            outbox_ack(item=item, now=done)


def _reply(rng, message, by, templates, at) -> None:
    usable = templates.get(message.category) or []
    template = rng.choice(usable) if usable and rng.random() < P_TEMPLATE_REPLY else None
    if template is not None:
        body = template_render(template, message=message, by=by)
    else:
        free = ReplyTemplate(body=rng.choice(FREE_REPLIES[message.category]))
        body = template_render(free, message=message, by=by)
    message_reply(message=message, body=body, by=by, template=template, now=at)


def _claim_some(users) -> None:
    """A nurse and a clerk are working a message each, as on any afternoon."""
    for queue, username in ((Queue.NURSING, "tkim"), (Queue.FRONT_DESK, "frontdesk")):
        if username in users:
            message_claim_next(queue=queue, by=users[username])
