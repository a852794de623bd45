from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import CallOutcome, FeatureShown, Incentive, Step, desk_skip_choices
from patients.models import NotificationChannel


class CheckinSearchForm(forms.Form):
    # Posted by htmx as the clerk types; never part of a URL.
    q = forms.CharField(
        label=_("Find the patient"),
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg",
                "placeholder": _("Name, birth date, MRN or phone"),
                "autocomplete": "off",
                "autofocus": True,
                "type": "search",
            }
        ),
    )


class ContactForm(forms.Form):
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    mobile_phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    notification_channel = forms.ChoiceField(
        label=_("Notify the patient by"),
        choices=NotificationChannel.choices,
        widget=forms.RadioSelect,
    )


class TickForm(forms.Form):
    """A step's answer: done (no reason), skipped with a reason, or undone."""

    step = forms.ChoiceField(choices=Step.choices)
    reason = forms.ChoiceField(
        label=_("Skipped because"),
        choices=[("", ""), *desk_skip_choices()],
        required=False,
    )
    note = forms.CharField(label=_("Why, in a few words"), required=False, max_length=200)


class FeatureForm(forms.Form):
    feature = forms.ChoiceField(choices=FeatureShown.choices, widget=forms.RadioSelect)


class IncentiveForm(forms.Form):
    incentive = forms.ModelChoiceField(
        label=_("Incentive"),
        queryset=Incentive.objects.filter(active=True),
        required=False,
        empty_label=_("None"),
    )


class FollowUpCallForm(forms.Form):
    # No outcome until the clerk picks one: a default would log a success for a
    # "Log" pressed without choosing.
    outcome = forms.ChoiceField(
        label=_("How did the call go?"),
        choices=[("", _("How did the call go?")), *CallOutcome.choices],
        error_messages={"required": _("Choose how the call went: nothing was logged.")},
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
