"""The demo practice's portal conversations: visit mentions and phone-script outcomes.

Called from the program demo (program/demo) after the demo practice, its
staff and its events exist. Idempotent: each conversation carries a one-time
key derived from its place in the demo, so running twice adds nothing.
"""

from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from enrollment.models import ConversationOutcome, DeclineReason, ScriptKey
from enrollment.selectors import PortalState, portal_statuses
from enrollment.services import conversation_record, scripts_ensure
from patients.models import Patient

DEMO_WEEKS = 4
# (days before today, staff username, script, outcome); the patient is picked
# by the outcome: enrolled patients for "already enrolled" and visit mentions,
# patients never offered the portal for the rest.
DEMO_CONVERSATIONS = (
    (1, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (2, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
    (3, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.ALREADY_ENROLLED),
    (4, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.DECLINED),
    (6, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (8, "frontdesk", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (9, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (11, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.ALREADY_ENROLLED),
    (13, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (15, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
    (18, "nurse", ScriptKey.PHONE_RESULTS, ConversationOutcome.DECLINED),
    (20, "frontdesk", ScriptKey.PHONE_RESULTS, ConversationOutcome.WANTS_INVITATION),
    (23, "nurse", ScriptKey.VISIT, ConversationOutcome.MENTIONED_IN_VISIT),
    (26, "frontdesk", ScriptKey.PHONE_BOOKING, ConversationOutcome.WANTS_INVITATION),
)
DEMO_DECLINE_REASONS = (DeclineReason.NOT_COMFORTABLE, DeclineReason.PRIVACY)
CANDIDATES = 400


def demo_script_outcomes(today: date) -> int:
    """Record the demo's conversations through the real service; returns how many are new."""
    scripts_ensure()
    users = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=["frontdesk", "nurse"])
    }
    if len(users) < 2:
        return 0
    enrolled, never_offered = _demo_patients()
    created = 0
    for n, (days, username, script, outcome) in enumerate(DEMO_CONVERSATIONS):
        pool = (
            enrolled
            if outcome
            in (ConversationOutcome.ALREADY_ENROLLED, ConversationOutcome.MENTIONED_IN_VISIT)
            else never_offered
        )
        if not pool:
            continue
        patient = pool[n % len(pool)]
        at = timezone.make_aware(
            datetime.combine(today - timedelta(days=days), time(10 + n % 6, 5 * n % 60))
        )
        _conversation, new = conversation_record(
            patient=patient,
            script=script,
            outcome=outcome,
            by=users[username],
            language="es" if patient.preferred_language.startswith("es") else "en",
            idempotency_key=f"demo-script-{n}",
            decline_reason=DEMO_DECLINE_REASONS[n % len(DEMO_DECLINE_REASONS)]
            if outcome == ConversationOutcome.DECLINED
            else "",
            at=at,
        )
        created += new
    return created


def _demo_patients() -> tuple[list[Patient], list[Patient]]:
    patients = list(Patient.objects.filter(deactivated_on__isnull=True).order_by("pk")[:CANDIDATES])
    statuses = portal_statuses(patients)
    enrolled = [p for p in patients if statuses[p.pk].state == PortalState.ENROLLED]
    never_offered = [p for p in patients if statuses[p.pk].state == PortalState.NEVER_OFFERED]
    return enrolled[:20], never_offered[:20]
