"""Forms for declines at check-in, tech-help sessions and incentives."""

from django import forms
from django.db.models import F
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from enrollment.models import DeclineReason, IncentiveKind, Remedy
from enrollment.playbook import BENEFITS, DECLINE_PLAYS, remedy_choices_for, script_language
from enrollment.selectors import benefit_for, tech_help_sessions_upcoming
from patients.models import Location
from portal_adoption.dates import practice_zone


def sessions_with_seats():
    return tech_help_sessions_upcoming().filter(booked__lt=F("capacity"))


def session_label(session) -> str:
    starts = formats.date_format(timezone.localtime(session.starts_at), "D N j, H:i")
    left = session.capacity - session.booked
    seats = ngettext("%(n)d seat left", "%(n)d seats left", left) % {"n": left}
    place = f" · {session.location.name}" if session.location else ""
    return f"{starts}{place} · {seats}"


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return session_label(obj)


class DeclineForm(forms.Form):
    """Why the patient said no, and what the clerk offered on the spot.

    The remedy fields depend on the reason: the form is built for the reason
    posted (or given as initial data), and offers that reason's remedies.
    """

    reason = forms.ChoiceField(
        label=_("Why does the patient decline?"),
        choices=DeclineReason.choices,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": _("Choose the patient's reason.")},
    )
    reason_text = forms.CharField(
        label=_("The reason, in the patient's words"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Write the patient's reason in their words.")},
    )
    remedies = forms.MultipleChoiceField(
        label=_("What did you offer?"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "btn-check"}),
        error_messages={
            "required": _("Tick what you offered, or “Nothing accepted”."),
            "invalid_choice": _("That is not offered for this reason: tick again from the list."),
        },
    )
    tech_help_session = SessionChoiceField(
        label=_("Tech-help session"),
        queryset=None,
        required=False,
        empty_label=_("Choose a session"),
        error_messages={
            "invalid_choice": _("That session is full or has started: choose another one.")
        },
    )
    benefit_explained = forms.CharField(
        label=_("The benefit you explained"),
        max_length=200,
        required=False,
        help_text=_("Suggested from what this patient does by phone; change it if another fits."),
    )

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.chosen_reason = self._chosen_reason()
        self.fields["reason"].widget.attrs.update(
            {
                "hx-get": reverse("enrollment:decline_remedy", args=[patient.pk]),
                "hx-target": "#decline-remedy",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
            }
        )
        self.fields["remedies"].choices = (
            remedy_choices_for(self.chosen_reason) if self.chosen_reason else []
        )
        self.fields["reason_text"].required = self.needs_reason_text
        self.fields["tech_help_session"].queryset = sessions_with_seats()
        if self.offers(Remedy.BENEFIT_EXPLAINED) and not self.is_bound:
            self.initial.setdefault("benefit_explained", BENEFITS[benefit_for(patient)])

    def _chosen_reason(self) -> str:
        source = self.data if self.is_bound else self.initial
        value = source.get("reason") or ""
        return value if value in DeclineReason.values else ""

    def offers(self, remedy: str) -> bool:
        return any(value == remedy for value, _label in self.fields["remedies"].choices)

    # What the template shows for the chosen reason.
    @property
    def remedy_text(self) -> str:
        return DECLINE_PLAYS[self.chosen_reason].remedy_text if self.chosen_reason else ""

    @property
    def needs_reason_text(self) -> bool:
        return self.chosen_reason == DeclineReason.OTHER

    @property
    def offers_tech_help(self) -> bool:
        return self.offers(Remedy.TECH_HELP_SEAT)

    @property
    def offers_benefit(self) -> bool:
        return self.offers(Remedy.BENEFIT_EXPLAINED)

    @property
    def offers_handout(self) -> bool:
        return self.offers(Remedy.PRIVACY_HANDOUT)

    @property
    def handout_language(self) -> str:
        return script_language(self.patient.preferred_language)

    def clean(self):
        cleaned = super().clean()
        remedies = cleaned.get("remedies") or []
        benefit = cleaned.get("benefit_explained", "").strip()
        if Remedy.NONE in remedies and len(remedies) > 1:
            self.add_error(
                "remedies", _("“Nothing accepted” cannot go with another remedy: untick one.")
            )
        if Remedy.TECH_HELP_SEAT in remedies and not cleaned.get("tech_help_session"):
            self.add_error("tech_help_session", _("Choose the tech-help session to book."))
        if Remedy.BENEFIT_EXPLAINED in remedies and not benefit:
            self.add_error("benefit_explained", _("Write the benefit you explained."))
        return cleaned

    def decline_kwargs(self) -> dict:
        """The arguments of services.decline_record, from the cleaned data."""
        data = self.cleaned_data
        remedies = data["remedies"]
        return {
            "reason": data["reason"],
            "remedies": remedies,
            "reason_text": data["reason_text"] if self.needs_reason_text else "",
            "benefit_explained": (
                data["benefit_explained"].strip() if Remedy.BENEFIT_EXPLAINED in remedies else ""
            ),
            "tech_help_session": (
                data["tech_help_session"] if Remedy.TECH_HELP_SEAT in remedies else None
            ),
        }


class PracticeDateTimeField(forms.DateTimeField):
    """A date and time typed in the practice's time zone, whatever the server's."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

    def to_python(self, value):
        with timezone.override(practice_zone()):
            return super().to_python(value)


class TechHelpSessionForm(forms.Form):
    starts_at = PracticeDateTimeField(
        label=_("Starts"),
        help_text=_("Date and time at the practice."),
        error_messages={"invalid": _("Enter the date and the time the session starts.")},
    )
    capacity = forms.IntegerField(
        label=_("Seats"),
        min_value=1,
        max_value=100,
        initial=8,
        help_text=_("How many patients the session can take."),
    )
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.order_by("name"),
        required=False,
        empty_label=_("Not set"),
    )

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        if starts_at <= timezone.now():
            raise forms.ValidationError(_("Choose a time in the future."))
        return starts_at


class IncentiveCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=IncentiveKind.choices)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("As staff will see it at the desk, e.g. “$10 off today's copay”."),
    )
    value = forms.DecimalField(
        label=_("Value in dollars"),
        max_digits=8,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Leave empty if it has no fixed value."),
    )
