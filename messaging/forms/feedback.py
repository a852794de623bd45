"""Forms of the managers' feedback page: the filter (query string), tagging a comment,
and publishing a "what we changed" note."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.forms.queues import OneTimeKeyForm
from messaging.models import FEEDBACK_CHANGE_MAX_LENGTH, LARGEST_ID, FeedbackTag
from messaging.selectors.feedback import UNTAGGED, month_choices
from portal_adoption.dates import MonthField, parse_month

TAG_FILTER_CHOICES = [("", _("All tags")), *FeedbackTag.choices, (UNTAGGED, _("Not tagged"))]


class FeedbackFilterForm(forms.Form):
    """?month=YYYY-MM&tag=<tag>|untagged&page=N; all optional, each checked (bad -> 400)."""

    month = forms.CharField(label=_("Month"), required=False, max_length=7)
    tag = forms.ChoiceField(label=_("Tag"), choices=TAG_FILTER_CHOICES, required=False)
    page = forms.IntegerField(min_value=1, max_value=LARGEST_ID, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = month_choices(timezone.localdate())
        asked = (self.data.get("month") or "").strip() if self.is_bound else ""
        if asked and asked not in dict(choices):
            choices.append((asked, asked))
        self.fields["month"].widget = forms.Select(
            choices=choices, attrs={"class": "form-select form-select-sm"}
        )
        self.fields["tag"].widget.attrs["class"] = "form-select form-select-sm"

    def clean_month(self):
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            return parse_month(text, field=str(_("Month")))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class CommentTagForm(forms.Form):
    """Add or remove one tag on one comment; the filters come back to return to the list."""

    tag = forms.ChoiceField(choices=FeedbackTag.choices)
    action = forms.ChoiceField(choices=[("add", _("Add")), ("remove", _("Remove"))])
    return_month = MonthField(required=False, widget=forms.HiddenInput)
    return_tag = forms.ChoiceField(choices=TAG_FILTER_CHOICES, required=False)


class FeedbackChangeForm(OneTimeKeyForm):
    tag = forms.ChoiceField(label=_("Tag"), choices=FeedbackTag.choices)
    text_en = forms.CharField(
        label=_("What we changed (English)"),
        max_length=FEEDBACK_CHANGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Goes inside the message to each patient who commented on the tag, e.g. "
            "“we simplified appointment scheduling: you can now book in two steps.”"
        ),
    )
    text_es = forms.CharField(
        label=_("What we changed (Spanish)"),
        max_length=FEEDBACK_CHANGE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional; Spanish-speaking patients get the English note without it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required here: without the key, a double click would publish (and send) twice.
        self.fields["idempotency_key"].required = True
