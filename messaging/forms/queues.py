import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from messaging.models import (
    CHART_NOTE_OUTCOME_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    LARGEST_ID,
    REPLY_MAX_LENGTH,
    Category,
    ChartNoteOutcome,
    Queue,
)


class OneTimeKeyForm(forms.Form):
    """A form a double click could send twice carries a key made when the page is drawn.

    The service stores the key with what the form creates, unique per
    person, so the second request finds the first one's work (a reply, a
    call, an escalation, a claim) instead of doing it again.
    """

    idempotency_key = forms.RegexField(
        regex=rf"\A{IDEMPOTENCY_KEY_PATTERN}\Z", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial = {**self.initial, "idempotency_key": uuid.uuid4().hex}


class TemplateChoiceForm(forms.Form):
    """?template=<id> on a message: a template to start the reply from; anything else is none."""

    template = forms.IntegerField(min_value=1, max_value=LARGEST_ID, required=False)


class ReplyForm(OneTimeKeyForm):
    body = forms.CharField(
        label=_("Reply to the patient"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=REPLY_MAX_LENGTH,
    )
    template = forms.IntegerField(
        required=False, min_value=1, max_value=LARGEST_ID, widget=forms.HiddenInput
    )


class TakeNextForm(OneTimeKeyForm):
    pass


class CallForm(OneTimeKeyForm):
    summary = forms.CharField(
        label=_("What was said on the call"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )


class EscalateForm(OneTimeKeyForm, NoteForm):
    pass


class RerouteForm(OneTimeKeyForm, NoteForm):
    queue = forms.ChoiceField(
        label=_("Send to"),
        choices=[(q, label) for q, label in Queue.choices if q != Queue.PROVIDER],
    )


class ReclassifyForm(OneTimeKeyForm):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)


class CloseForm(forms.Form):
    chart_note = forms.CharField(
        label=_("Chart note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )
    outcome = forms.ChoiceField(
        label=_("How it ended"),
        required=False,
        choices=ChartNoteOutcome.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Added to the end of the note. Choose what the patient said or what was agreed; "
            "the draft states no outcome until you do."
        ),
    )
    outcome_typed = forms.CharField(
        label=_("Or in your own words"),
        required=False,
        max_length=CHART_NOTE_OUTCOME_MAX_LENGTH,
    )
