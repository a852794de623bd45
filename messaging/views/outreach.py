"""The patient's survey and unsubscribe pages (no login), the SMS webhook, and the
managers' view of what the nightly workers did."""

import base64
import hashlib
import hmac

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from messaging.models import (
    Communication,
    FeatureOfMonth,
    NightlyRun,
    OutreachChannel,
    OutreachRule,
    OutreachSetting,
)
from messaging.outreach import (
    OPTION_BOUNDS,
    RULE_OPTIONS,
    LinkUnusable,
    feature_of_month_set,
    opt_out,
    option_label,
    outreach_setting,
    outreach_setting_restore_wording,
    outreach_setting_save,
    patient_for_unsubscribe,
    rule_has_wording,
    rule_placeholders,
    sms_inbound,
    survey_answer,
    survey_for_token,
)
from messaging.outreach.frequent import FREQUENT_RULE_KEYS, frequent_counts_today
from messaging.outreach.preview import tonights_preview
from messaging.outreach.texts import FEATURE_ROTATION, FEATURE_TEXTS, TEXTS, shipped_text
from messaging.selectors import communications_visible_to
from messaging.services.manage import SettingsError
from patients.languages import PATIENT_LANGUAGES, patient_language
from patients.models import Patient
from portal_adoption.display import rule_label
from portal_adoption.models import AccessAction
from portal_adoption.nightly import RECENT_DAYS, nightly_failures_recent
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_MESSAGING, VIEW_PATIENTS
from portal_adoption.services import access_log_record, access_log_record_list

SCORES = [1, 2, 3, 4, 5]
FAILURES_SHOWN = 100


class SurveyAnswerForm(forms.Form):
    """What the patient's browser posts; a form, so NUL bytes and huge numbers are refused."""

    score = forms.IntegerField(min_value=min(SCORES), max_value=max(SCORES))
    comment = forms.CharField(required=False, max_length=2000)


class SmsInboundForm(forms.Form):
    From = forms.CharField(max_length=32)
    Body = forms.CharField(required=False, max_length=1600)


def _patient_page(request, template, patient, context=None, status=200):
    """A page the patient reads: in their language (English when it has no texts)."""
    language = patient_language(patient.preferred_language)
    with translation.override(language):
        return render(request, template, {**(context or {}), "language": language}, status=status)


def _link_used(request):
    """The patient is unknown here (the link could not be read): every language is shown."""
    context = {"patient_languages": PATIENT_LANGUAGES}
    return render(request, "messaging/outreach/link_used.html", context, status=410)


@method_decorator(login_not_required, name="dispatch")
class SurveyView(View):
    """One question, 1 to 5, and an optional comment; the link works once."""

    def get(self, request, token):
        try:
            invitation = survey_for_token(token)
        except LinkUnusable:
            return _link_used(request)
        context = {"first_name": invitation.patient.given_name, "scores": SCORES}
        return _patient_page(request, "messaging/outreach/survey.html", invitation.patient, context)

    def post(self, request, token):
        try:
            invitation = survey_for_token(token)
        except LinkUnusable:
            return _link_used(request)
        answer = SurveyAnswerForm(request.POST)
        if not answer.is_valid():
            context = {"scores": SCORES, "error": True}
            return _patient_page(
                request, "messaging/outreach/survey.html", invitation.patient, context, status=400
            )
        try:
            survey_answer(token=token, **answer.cleaned_data)
        except LinkUnusable:
            return _link_used(request)
        return _patient_page(request, "messaging/outreach/thanks.html", invitation.patient)


@method_decorator(login_not_required, name="dispatch")
class UnsubscribeView(View):
    """The link at the foot of every email: confirm, and no more email from the workers."""

    def get(self, request, token):
        try:
            patient = patient_for_unsubscribe(token)
        except LinkUnusable:
            return _link_used(request)
        return _patient_page(request, "messaging/outreach/unsubscribe.html", patient)

    def post(self, request, token):
        try:
            patient = patient_for_unsubscribe(token)
        except LinkUnusable:
            return _link_used(request)
        opt_out(patient=patient, channel=OutreachChannel.EMAIL, source="unsubscribe link")
        context = {"done": True}
        return _patient_page(request, "messaging/outreach/unsubscribe.html", patient, context)


@method_decorator([login_not_required, csrf_exempt], name="dispatch")
class SmsInboundView(View):
    """Twilio posts replies here; a signed request saying STOP opts the number out."""

    def post(self, request):
        if not _twilio_signature_ok(request):
            return HttpResponse(status=403)
        sms = SmsInboundForm(request.POST)
        if not sms.is_valid():
            return HttpResponse(status=400)
        sms_inbound(from_number=sms.cleaned_data["From"], body=sms.cleaned_data["Body"])
        return HttpResponse('<?xml version="1.0"?><Response/>', content_type="text/xml")


def _twilio_signature_ok(request) -> bool:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL and the sorted form fields."""
    secret = settings.TWILIO_AUTH_TOKEN
    if not secret:
        return False
    payload = request.build_absolute_uri() + "".join(
        f"{key}{value}" for key, value in sorted(request.POST.items())
    )
    expected = base64.b64encode(
        hmac.new(secret.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    return hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", ""))


class FeatureForm(forms.Form):
    feature = forms.ChoiceField(
        label=_("Feature of the month"),
        choices=[(key, key.title()) for key in FEATURE_TEXTS],
    )
    text_en = forms.CharField(
        label=_("Text (English)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("{first_name} and {portal_url} are filled in for each patient."),
    )
    text_es = forms.CharField(
        label=_("Text (Spanish)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


# Patients named per rule on the overview (the count is of all of them).
PREVIEW_SHOWN = 20


class OutreachOverviewView(View):
    """What the workers did last night, and who tonight's rules would reach."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(MANAGE_MESSAGING):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def post(self, request):
        form = FeatureForm(request.POST)
        if form.is_valid():
            try:
                feature_of_month_set(month=timezone.localdate(), **form.cleaned_data)
                messages.success(request, _("This month's feature is set."))
                return redirect("messaging:outreach")
            except ValueError:
                form.add_error("text_en", _("Use only {first_name} and {portal_url} in braces."))
        return self.get(request, form=form, status=400)

    def get(self, request, form=None, status=200):
        last = NightlyRun.objects.first()
        counted = tonights_preview(today=timezone.localdate(), shown=PREVIEW_SHOWN)
        preview = counted.rules
        shown = {p for rule_preview in preview.values() for p in rule_preview.patients}
        access_log_record_list(request=request, resource="outreach_preview", patients=shown)
        context = {
            "last": last,
            "rule_rows": _rule_rows(last, preview),
            "failures": _failures_shown(),
            "failure_days": RECENT_DAYS,
            "rules": OutreachRule,
            "preview": [(OutreachRule(k), v) for k, v in preview.items() if v.total],
            "counted_at": counted.counted_at,
            "preview_minutes": settings.OUTREACH_PREVIEW_MINUTES,
            "switched_off": set(
                OutreachSetting.objects.filter(enabled=False).values_list("rule", flat=True)
            ),
            "frequent_rules": FREQUENT_RULE_KEYS,
            "frequent_today": [
                (OutreachRule(k), tally) for k, tally in frequent_counts_today().items()
            ],
            "uncertain": Communication.objects.filter(status="sending").count(),
            "failed": Communication.objects.filter(status="queued", attempts__gt=0).count(),
            "feature_form": form or FeatureForm(initial=_feature_initial()),
        }
        return render(request, "messaging/outreach/overview.html", context, status=status)


class OutreachPreviewRecountView(StaffPermissionRequiredMixin, View):
    """The "Count again" button: tonight's preview counted now, not the one kept."""

    permission_required = MANAGE_MESSAGING
    http_method_names = ["post"]

    def post(self, request):
        tonights_preview(today=timezone.localdate(), shown=PREVIEW_SHOWN, recount=True)
        messages.success(request, _("Tonight's preview has been counted again."))
        return redirect("messaging:outreach")


def _rule_rows(last, preview: dict) -> list[dict]:
    """One row per rule, by its label: on or off, tonight's count, last night's tallies.

    A rule the workers do not run yet has no preview (None); a rule that did
    not run last night has no tallies.
    """
    switched_off = set(OutreachSetting.objects.filter(enabled=False).values_list("rule", flat=True))
    counts = last.counts if last else {}
    rows = []
    for rule in OutreachRule:
        tally = counts.get(rule.value) or {}
        rows.append(
            {
                "rule": rule,
                "enabled": rule.value not in switched_off,
                "tonight": preview[rule.value].total if rule.value in preview else None,
                "last": tally,
                "last_off": bool(tally.get("switched_off")),
            }
        )
    return rows


def _failures_shown() -> list:
    """The nightly jobs' failed steps of the last days (rollup and outreach), newest first.

    Patients appear by internal id only, linked to their record (whose
    opening is access-logged): this page lists no patient data for them.
    """
    failures = list(nightly_failures_recent()[:FAILURES_SHOWN])
    for failure in failures:
        failure.rule_label = rule_label(failure.rule)
    return failures


def _feature_initial() -> dict:
    today = timezone.localdate()
    chosen = FeatureOfMonth.objects.filter(month=today.replace(day=1)).first()
    if chosen:
        return {"feature": chosen.feature, "text_en": chosen.text_en, "text_es": chosen.text_es}
    feature = FEATURE_ROTATION[(today.month - 1) % len(FEATURE_ROTATION)]
    text = FEATURE_TEXTS[feature]
    return {
        "feature": feature,
        "text_en": shipped_text(text, "en"),
        "text_es": shipped_text(text, "es"),
    }


# --- The managers' outreach settings: each rule on or off, its wording, its numbers ----

# The dashboard figure each rule serves, shown beside it (metrics/figures.py names them).
RULE_FIGURES = {
    OutreachRule.ANNUAL_EXAM_RECALL: gettext_lazy("Annual exams self-scheduled"),
    OutreachRule.FEEDBACK_CHANGE: gettext_lazy("Patient satisfaction"),
}
WORDING_LABELS = {
    "subject_en": gettext_lazy("Subject (English)"),
    "body_en": gettext_lazy("Text (English)"),
    "subject_es": gettext_lazy("Subject (Spanish)"),
    "body_es": gettext_lazy("Text (Spanish)"),
}


class OutreachSettingForm(forms.Form):
    """One rule's choices; the wording and number fields are the rule's own (__init__).

    The bounds and placeholders are checked by outreach.outreach_setting_save,
    which names the field at fault.
    """

    rule = forms.ChoiceField(choices=OutreachRule.choices, widget=forms.HiddenInput)
    enabled = forms.BooleanField(label=gettext_lazy("On"), required=False)

    def __init__(self, *args, rule: str, **kwargs):
        kwargs.setdefault("auto_id", f"id_{rule}_%s")
        super().__init__(*args, **kwargs)
        self.rule = rule
        if rule_has_wording(rule):
            names = ", ".join("{" + n + "}" for n in sorted(rule_placeholders(rule)))
            for name, label in WORDING_LABELS.items():
                part, language = name.split("_")
                shipped = shipped_text(TEXTS[rule][part], language)
                widget = (
                    forms.TextInput(attrs={"placeholder": shipped})
                    if part == "subject"
                    else forms.Textarea(attrs={"rows": 3, "placeholder": shipped})
                )
                self.fields[name] = forms.CharField(
                    label=label,
                    required=False,
                    strip=False,
                    widget=widget,
                    help_text=_("Blank: the shipped wording (shown in gray).")
                    + (
                        " " + _("You may use %(names)s.") % {"names": names}
                        if part == "body"
                        else ""
                    ),
                )
        for name, default in RULE_OPTIONS.get(rule, {}).items():
            if isinstance(default, int):
                low, high = OPTION_BOUNDS[name]
                self.fields[name] = forms.IntegerField(
                    label=option_label(name),
                    widget=forms.NumberInput(attrs={"min": low, "max": high}),
                    help_text=_("From %(low)d to %(high)d; %(default)d unless set.")
                    % {"low": low, "high": high, "default": default},
                )
            else:
                self.fields[name] = forms.CharField(
                    label=option_label(name), required=False, widget=forms.TextInput()
                )

    def clean_rule(self):
        if self.cleaned_data["rule"] != self.rule:
            raise forms.ValidationError(_("Choose one of the rules."))
        return self.cleaned_data["rule"]


def _setting_initial(setting) -> dict:
    options = RULE_OPTIONS.get(setting.rule, {})
    return {
        "rule": setting.rule,
        "enabled": setting.enabled,
        **{name: getattr(setting, name) for name in WORDING_LABELS},
        **{name: setting.options.get(name, default) for name, default in options.items()},
    }


class OutreachSettingsView(StaffPermissionRequiredMixin, View):
    """Every nightly rule: on or off, its wording in English and Spanish, its numbers."""

    permission_required = MANAGE_MESSAGING

    def get(self, request, bound=None, status=200):
        cards = []
        for rule in OutreachRule:
            setting = outreach_setting(rule.value)
            form = (
                bound
                if bound is not None and bound.rule == rule.value
                else OutreachSettingForm(rule=rule.value, initial=_setting_initial(setting))
            )
            cards.append(
                {
                    "rule": rule,
                    "setting": setting,
                    "form": form,
                    "has_wording": rule_has_wording(rule.value),
                    "figure": RULE_FIGURES.get(rule.value, ""),
                }
            )
        return render(request, "messaging/outreach/settings.html", {"cards": cards}, status=status)

    def post(self, request):
        rule = request.POST.get("rule", "")
        if rule not in OutreachRule.values:
            messages.error(request, _("Choose one of the rules."))
            return self.get(request, status=400)
        label = OutreachRule(rule).label
        if "restore" in request.POST:
            outreach_setting_restore_wording(rule=rule, user=request.user)
            messages.success(request, _("%(rule)s: the shipped wording is back.") % {"rule": label})
            return redirect(f"{reverse('messaging:outreach_settings')}#rule-{rule}")
        form = OutreachSettingForm(request.POST, rule=rule)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("rule")
            enabled = data.pop("enabled")
            wording = {name: data.pop(name) for name in WORDING_LABELS if name in data}
            try:
                outreach_setting_save(
                    rule=rule, enabled=enabled, user=request.user, options=data, **wording
                )
            except SettingsError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            else:
                messages.success(request, _("%(rule)s: saved.") % {"rule": label})
                return redirect(f"{reverse('messaging:outreach_settings')}#rule-{rule}")
        messages.error(request, _("%(rule)s: not saved, see below.") % {"rule": label})
        return self.get(request, bound=form, status=400)


class PatientCommunicationsView(View):
    """Everything sent to one patient, by which rule or person, and how it went.

    Replies to the patient's messages are listed only for those who may see
    the message (communications_visible_to, the same rule as the API).
    """

    def get(self, request, pk):
        if not request.user.has_perm(VIEW_PATIENTS):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="communications",
            object_id=patient.pk,
            patient=patient,
        )
        rows = communications_visible_to(request.user, patient)[:200]
        return render(
            request,
            "messaging/outreach/patient_communications.html",
            {"patient": patient, "rows": rows},
        )
