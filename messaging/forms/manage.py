"""Forms for the managers' messaging settings. They check the shape of what was
typed; the rules of the practice (duplicates, times, dates) live in services.manage."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from messaging.models import Category
from messaging.services.manage import PHRASE_MAX
from portal_adoption.dates import FilterDateField
from portal_adoption.models import BusinessHours, Weekday

RULE_TEST_MAX = 5000


class RoutingRuleForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    phrase = forms.CharField(
        label=_("Word or phrase"),
        max_length=PHRASE_MAX,
        required=False,  # the service says what is missing, in the practice's words
        help_text=_("Whole words, any case, accents ignored: “pain” does not match “painting”."),
    )


class RoutingDefaultForm(forms.Form):
    default_category = forms.ChoiceField(
        label=_("When no phrase matches, or categories tie"),
        choices=Category.choices,
        widget=forms.RadioSelect,
    )


class RuleTestForm(forms.Form):
    text = forms.CharField(
        label=_("Sample message"),
        max_length=RULE_TEST_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Type or paste a made-up message; nothing you type here is stored."),
        error_messages={"required": _("Type a sample message to test.")},
    )


class RedFlagForm(forms.Form):
    phrase = forms.CharField(
        label=_("Symptom word or phrase"), max_length=PHRASE_MAX, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


class ReplyTemplateForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("As staff will see it in the queue, e.g. “Refill received”."),
    )
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "You can use {first_name} (the patient's first name), {practice_phone} (the "
            "practice's phone number) and {staff_name} (the name of the person replying). "
            "They are filled in when the reply is sent; any other {name} is refused."
        ),
    )


class _TimeField(forms.TimeField):
    widget = forms.TimeInput(attrs={"type": "time", "class": "form-control"}, format="%H:%M")

    def __init__(self, **kwargs):
        super().__init__(required=False, input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class BusinessHoursForm(forms.Form):
    """The seven weekdays: open or closed, and the opening and closing times."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = {row.weekday: row for row in BusinessHours.objects.all()}
        for weekday, label in Weekday.choices:
            row = stored.get(weekday)
            self.fields[f"open_{weekday}"] = forms.BooleanField(
                label=_("%(day)s: open") % {"day": label},
                required=False,
                initial=bool(row),
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )
            self.fields[f"opens_{weekday}"] = _TimeField(
                label=_("%(day)s: opens") % {"day": label}, initial=row.opens if row else None
            )
            self.fields[f"closes_{weekday}"] = _TimeField(
                label=_("%(day)s: closes") % {"day": label}, initial=row.closes if row else None
            )

    def rows(self):
        """(label, open, opens, closes) bound fields, Monday first, for the table."""
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
        return [
            (label, self[f"open_{d}"], self[f"opens_{d}"], self[f"closes_{d}"])
            for d, label in Weekday.choices
        ]

    def days(self) -> dict:
        """{weekday: (opens, closes)}, or None for a closed day, for business_week_set."""
        data = self.cleaned_data
        return {
            d: (data[f"opens_{d}"], data[f"closes_{d}"]) if data[f"open_{d}"] else None
            for d in Weekday.values
        }


class PracticeClosureForm(forms.Form):
    date = FilterDateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Give the date the practice is closed.")},
    )
    name = forms.CharField(
        label=_("Reason"),
        max_length=100,
        required=False,
        help_text=_("E.g. “Staff training” or “Moving to the new building”."),
    )
