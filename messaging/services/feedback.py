"""Closing the feedback loop: managers tag survey comments and publish what changed.

Who gets the "what we changed" message (decided, issue 13 part 5):
every patient on the panel who wrote a comment tagged with the note's tag
AFTER the previous published note on that tag (every such comment, ever,
for a tag's first note), up to the moment of publishing. A patient whose
comment a previous note already answered is not told again; a patient who
commented twice on the tag gets one message, since the claim is
(patient, feedback_change, note id). The send is the nightly rules' own
path: the claim, opt-outs and missing contacts (suppressed with the
reason), quiet hours for texts, the communications log, sending enqueued
after commit. A double-clicked publish finds the first one's note by its
one-time key and sends nothing again.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.models import (
    FEEDBACK_CHANGE_MAX_LENGTH,
    CommunicationStatus,
    FeedbackChange,
    FeedbackTag,
    OutreachRule,
    SurveyCommentTag,
    SurveyInvitation,
)
from messaging.outreach import enqueue_send, outreach_claim, rule_enabled
from messaging.outreach.texts import language_of
from patients.models import Patient
from portal_adoption.models import NightlyJob
from portal_adoption.nightly import NightlyFailures

JOB = "feedback change"


class FeedbackError(ValueError):
    """A tag or a note the service refuses, with a message for the manager."""


def _tag_checked(tag: str) -> str:
    if tag not in FeedbackTag.values:
        raise FeedbackError(_("Choose one of the tags."))
    return tag


def comment_tag_add(*, invitation: SurveyInvitation, tag: str, by) -> bool:
    """Tag a comment; False if it had the tag already (a double click adds it once)."""
    _tag_checked(tag)
    if invitation.answered_at is None or not invitation.comment:
        raise FeedbackError(_("Only a survey answer with a comment can be tagged."))
    try:
        with transaction.atomic():
            SurveyCommentTag.objects.create(invitation=invitation, tag=tag, tagged_by=by)
    except IntegrityError:
        return False
    return True


def comment_tag_remove(*, invitation: SurveyInvitation, tag: str) -> bool:
    """Untag a comment; False if it did not have the tag."""
    _tag_checked(tag)
    deleted, _rows = SurveyCommentTag.objects.filter(invitation=invitation, tag=tag).delete()
    return bool(deleted)


def feedback_change_recipients(change: FeedbackChange) -> QuerySet[Patient]:
    """Who the note answers: see this module's docstring."""
    previous = (
        FeedbackChange.objects.filter(tag=change.tag, published_at__lt=change.published_at)
        .order_by("-published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    tagged = SurveyCommentTag.objects.filter(
        tag=change.tag,
        invitation__answered_at__lte=change.published_at,
    ).exclude(invitation__comment="")
    if previous:
        tagged = tagged.filter(invitation__answered_at__gt=previous)
    return Patient.objects.filter(
        deactivated_on__isnull=True,
        pk__in=tagged.values("invitation__patient"),
    ).order_by("pk")


def feedback_change_publish(
    *,
    tag: str,
    text_en: str,
    text_es: str = "",
    by,
    idempotency_key: str = "",
    at: datetime | None = None,
) -> tuple[FeedbackChange, bool]:
    """Publish a note and claim one message per patient who commented on its tag.

    Returns (note, published now); a repeat of the same one-time key returns
    the first note and False, and sends nothing. `at` is for the demo's past.
    """
    _tag_checked(tag)
    text_en, text_es = (text_en or "").strip(), (text_es or "").strip()
    if not text_en:
        raise FeedbackError(_("Write what you changed, in English at least."))
    if max(len(text_en), len(text_es)) > FEEDBACK_CHANGE_MAX_LENGTH:
        raise FeedbackError(
            _("Keep the note under %(n)d characters.") % {"n": FEEDBACK_CHANGE_MAX_LENGTH}
        )
    first = _change_with_key(by, idempotency_key)
    if first:
        return first, False
    try:
        with transaction.atomic():
            change = FeedbackChange.objects.create(
                tag=tag,
                text_en=text_en,
                text_es=text_es,
                written_by=by,
                published_at=at or timezone.now(),
                idempotency_key=idempotency_key,
            )
            change.outcome = _send_to_commenters(change)
            change.save(update_fields=["outcome"])
    except IntegrityError:
        # The same key at the same instant: the other request published it.
        first = _change_with_key(by, idempotency_key)
        if first is None:
            raise
        return first, False
    return change, True


def _change_with_key(by, key: str) -> FeedbackChange | None:
    if not key:
        return None
    return FeedbackChange.objects.filter(written_by=by, idempotency_key=key).first()


def _send_to_commenters(change: FeedbackChange) -> dict[str, int]:
    outcome = {"claimed": 0, "suppressed": 0, "already": 0, "failed": 0, "switched_off": 0}
    if not rule_enabled(OutreachRule.FEEDBACK_CHANGE):
        # Switched off by a manager: the note is published (and marks the chart), no message.
        outcome["switched_off"] = 1
        return outcome
    today = timezone.localdate()
    # A patient whose message cannot be written is recorded for the managers' nightly
    # page and skipped, as in the nightly run; the others get theirs.
    failures = NightlyFailures(job=NightlyJob.OUTREACH, night=today)
    for patient in feedback_change_recipients(change):
        with failures.guard(
            _("claiming and writing the message"),
            rule=OutreachRule.FEEDBACK_CHANGE,
            patient_id=patient.pk,
        ):
            language = language_of(patient.preferred_language)
            text = change.text_es if language == "es" and change.text_es else change.text_en
            communication = outreach_claim(
                patient=patient,
                rule=OutreachRule.FEEDBACK_CHANGE,
                period=str(change.pk),
                today=today,
                job=JOB,
                fill_values={"change": text},
            )
            if communication is None:
                outcome["already"] += 1
            elif communication.status == CommunicationStatus.SUPPRESSED:
                outcome["suppressed"] += 1
            else:
                outcome["claimed"] += 1
                # After commit; a text claimed in quiet hours waits (communication_send
                # refuses it before not_before; dispatch_due_communications sends it then).
                enqueue_send(communication.pk)
    outcome["failed"] = len(failures)
    return outcome
