"""The note the clerk pastes into the EHR at step 8 (workflows.md, "Front desk").

The note says what steps 1 to 7 did, so it exists only once each of them
is answered (done or skipped); the checklist shows it in step 8, and ticking
step 8 confirms that this very text was pasted.
"""

import datetime as dt

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from enrollment.models import (
    STEPS_BEFORE_THE_NOTE,
    Enrollment,
    EnrollmentMethod,
    EnrollmentStep,
    FeatureShown,
    SkipReason,
    Step,
)


def ehr_note_ready(answers: dict[str, EnrollmentStep]) -> bool:
    """Whether steps 1 to 7 are all answered, so the note can be written."""
    return all(step in answers for step in STEPS_BEFORE_THE_NOTE)


def ehr_note_text(
    enrollment: Enrollment, answers: dict[str, EnrollmentStep], by, on: dt.date
) -> str:
    """The sentence the clerk pastes into the EHR, in the practice's language."""
    with translation.override(settings.LANGUAGE_CODE):
        parts = [
            _("Portal enrollment completed at front desk on %(date)s by %(name)s")
            % {"date": on.isoformat(), "name": by.get_full_name() or by.get_username()}
        ]
        if enrollment.method == EnrollmentMethod.QR:
            parts.append(_("patient self-enrolled by QR code"))
        if not _done(answers, Step.FIRST_LOGIN):
            parts.append(_("first login still to do"))
        parts.append(_app_phrase(answers.get(Step.INSTALL_APP)))
        if enrollment.feature_shown == FeatureShown.MESSAGING:
            parts.append(_("patient shown secure messaging"))
        elif enrollment.feature_shown == FeatureShown.SCHEDULING:
            parts.append(_("patient shown online scheduling"))
        if _done(answers, Step.REFERENCE_CARD):
            parts.append(_("quick reference card given"))
        if enrollment.incentive_id:
            parts.append(_("incentive: %(name)s") % {"name": enrollment.incentive.name})
        return "; ".join(parts) + "."


def _done(answers: dict[str, EnrollmentStep], step: str) -> bool:
    answer = answers.get(step)
    return answer is not None and answer.done


def _app_phrase(answer: EnrollmentStep | None) -> str:
    if answer is not None and answer.done:
        return _("app installed")
    reason = answer.skip_reason if answer is not None else ""
    if reason == SkipReason.NO_SMARTPHONE:
        return _("app not installed: no smartphone")
    if reason == SkipReason.DECLINED:
        return _("app not installed: patient declined")
    return _("app not installed")
