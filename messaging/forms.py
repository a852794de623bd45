from django import forms
from django.utils.translation import gettext_lazy as _

from messaging.models import Category, Queue


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the patient"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000
    )
    template = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CallForm(forms.Form):
    summary = forms.CharField(
        label=_("What was said on the call"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )


class RerouteForm(NoteForm):
    queue = forms.ChoiceField(
        label=_("Send to"),
        choices=[(q, label) for q, label in Queue.choices if q != Queue.PROVIDER],
    )


class ReclassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)


class CloseForm(forms.Form):
    chart_note = forms.CharField(
        label=_("Chart note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )
