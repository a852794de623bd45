"""Forms of the scripts: the managers' wording, and the outcome a script led to."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import (
    CONVERSATION_KEY_MAX_LENGTH,
    PHONE_SCRIPTS,
    ConversationOutcome,
    DeclineReason,
    ScriptKey,
)
from enrollment.playbook import SHIPPED_LANGUAGES
from enrollment.services import SCRIPT_MAX_LENGTH

LANGUAGE_CHOICES = [(code, code) for code in SHIPPED_LANGUAGES]
# What the phone page is about, in its query string: ?call=booking or ?call=results.
CALL_CHOICES = [
    ("booking", ScriptKey.PHONE_BOOKING.label),
    ("results", ScriptKey.PHONE_RESULTS.label),
]
CALL_SCRIPTS = {"booking": ScriptKey.PHONE_BOOKING, "results": ScriptKey.PHONE_RESULTS}


class ScriptShownForm(forms.Form):
    """?lang= (another shipped language) and, on the phone page, ?call= (what the call is about)."""

    lang = forms.ChoiceField(choices=[("", ""), *LANGUAGE_CHOICES], required=False)
    call = forms.ChoiceField(choices=[("", ""), *CALL_CHOICES], required=False)


class ScriptEditForm(forms.Form):
    text = forms.CharField(
        label=_("Wording"),
        max_length=SCRIPT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OneTimeKeyForm(forms.Form):
    """Carries a key made when the page is drawn: a double click records once."""

    idempotency_key = forms.RegexField(
        regex=rf"\A[0-9a-zA-Z_-]{{1,{CONVERSATION_KEY_MAX_LENGTH}}}\Z",
        required=False,
        widget=forms.HiddenInput,
    )
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial = {**self.initial, "idempotency_key": uuid.uuid4().hex}


class VisitMentionForm(OneTimeKeyForm):
    pass


class PhoneOutcomeForm(OneTimeKeyForm):
    script = forms.ChoiceField(
        choices=[(k.value, k.label) for k in PHONE_SCRIPTS], widget=forms.HiddenInput
    )
    outcome = forms.ChoiceField(
        label=_("How did it go?"),
        choices=[
            (o.value, o.label)
            for o in (
                ConversationOutcome.ALREADY_ENROLLED,
                ConversationOutcome.WANTS_INVITATION,
                ConversationOutcome.DECLINED,
            )
        ],
    )
    reason = forms.ChoiceField(
        label=_("Reason given"), choices=[("", "—"), *DeclineReason.choices], required=False
    )
    reason_text = forms.CharField(label=_("In the patient's words"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        if data.get("outcome") == ConversationOutcome.DECLINED and not data.get("reason"):
            self.add_error("reason", _("Choose the reason the patient gave."))
        if (
            data.get("reason") == DeclineReason.OTHER
            and not (data.get("reason_text") or "").strip()
        ):
            self.add_error("reason_text", _("Write the patient's reason in their words."))
        return data
