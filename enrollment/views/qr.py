"""QR self-enrollment: the clerk shows a code, the patient finishes on their own phone.

Clerk side: htmx fragments (the code, then its status every few seconds).
Patient side: plain pages in the patient's language, opened without a staff
login; the signed, single-use token in the address is the only key, and the
pages show the contact details on file masked, never in full.
"""

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from enrollment.models import Enrollment, QrInvitation
from enrollment.patient_texts import patient_texts
from enrollment.playbook import script_language
from enrollment.services import (
    ContactError,
    EnrollmentError,
    QrUnusable,
    contact_check,
    qr_invitation_create,
    qr_invitation_for_token,
    qr_invitation_redeem,
)
from patients.languages import PATIENT_LANGUAGES
from patients.models import NotificationChannel
from portal_adoption.middleware import background_poll
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import ENROLL_PATIENTS

WAITING, FINISHED, EXPIRED = "waiting", "finished", "expired"
# The code on the clerk's screen is the patient's key: no copy may stay in a cache.
no_store = method_decorator(never_cache, name="dispatch")


# --- The clerk's screen ----------------------------------------------------------


@no_store
class QrCreateView(StaffPermissionRequiredMixin, View):
    """Show a new code for an open enrollment (posted by htmx from the checklist)."""

    permission_required = ENROLL_PATIENTS

    def post(self, request, pk):
        enrollment = get_object_or_404(Enrollment, pk=pk)
        try:
            invitation, token = qr_invitation_create(enrollment=enrollment, by=request.user)
        except EnrollmentError as error:
            # htmx only swaps 2xx responses, and the clerk must see why no code came.
            return render(request, "enrollment/qr/qr_panel.html", {"error": error})
        url = request.build_absolute_uri(reverse("qr_patient:start", args=[token]))
        context = {"invitation": invitation, "state": WAITING, "svg": qr_svg(url)}
        return render(request, "enrollment/qr/qr_panel.html", context)


@no_store
@method_decorator(background_poll, name="dispatch")
class QrStatusView(StaffPermissionRequiredMixin, View):
    """Polled every 3 seconds while the code waits for the patient's phone."""

    permission_required = ENROLL_PATIENTS

    def get(self, request, pk):
        invitation = get_object_or_404(QrInvitation, pk=pk)
        state = qr_state(invitation)
        context = {"invitation": invitation, "state": state}
        if state == EXPIRED:
            response = render(request, "enrollment/qr/qr_panel.html", context)
            # The dead code must leave the screen too, not only the status line.
            response["HX-Retarget"] = "#qr-panel"
            response["HX-Reswap"] = "outerHTML"
            return response
        response = render(request, "enrollment/qr/qr_status.html", context)
        if state == FINISHED:
            # The checklist on the page was drawn before steps 1-3 were answered.
            response["HX-Refresh"] = "true"
        return response


def qr_state(invitation: QrInvitation) -> str:
    if invitation.used_at:
        return FINISHED
    return EXPIRED if invitation.expires_at <= timezone.now() else WAITING


def qr_svg(url: str) -> str:
    """The code as inline SVG.

    segno draws with fill and stroke attributes, never style ones, so the
    strict CSP (no inline style) lets it through; the white background keeps
    it scannable on the grey page.
    """
    code = segno.make(url, error="m")
    title = _("QR code to scan with the patient's phone")
    # segno's own markup from our own URL; it escapes the title.
    return mark_safe(
        code.svg_inline(scale=6, light="#fff", svgclass="qr-code img-fluid", title=title)
    )


# --- The patient's phone -----------------------------------------------------------


class QrContactForm(forms.Form):
    """What the phone posts. Blank contact fields keep what is on file."""

    email = forms.CharField(required=False, max_length=254)
    mobile_phone = forms.CharField(required=False, max_length=32)
    notification_channel = forms.CharField(required=False, max_length=8)
    consent = forms.BooleanField(required=False)


@method_decorator([login_not_required, never_cache], name="dispatch")
class QrPatientStartView(View):
    """Confirm contact details, consent, then the links to the portal and the app."""

    def dispatch(self, request, token):
        try:
            self.invitation = qr_invitation_for_token(token)
        except QrUnusable:
            return qr_unusable(request)
        self.patient = self.invitation.enrollment.patient
        self.language = script_language(self.patient.preferred_language)
        return super().dispatch(request, token)

    def get(self, request, token):
        channel = self.patient.notification_channel or NotificationChannel.EMAIL
        return self._render(values={"notification_channel": channel})

    def post(self, request, token):
        form = QrContactForm(request.POST)
        try:
            qr_invitation_redeem(token=token, details=self._checked(form))
        except ContactError as error:
            return self._render(values=form.data, error_field=error.field, status=400)
        except QrUnusable:
            return qr_unusable(request)
        links = {
            "portal_activation_url": settings.PORTAL_ACTIVATION_URL,
            "app_store_url": settings.APP_STORE_URL,
            "play_store_url": settings.PLAY_STORE_URL,
        }
        return self._page("enrollment/qr/patient_done.html", links)

    def _checked(self, form: QrContactForm):
        if not form.is_valid():
            raise ContactError(next(iter(form.errors)), "")
        data = form.cleaned_data
        # The page never shows the details on file in full, so they cannot be
        # edited in place: a blank field means "what you have is right".
        details = contact_check(
            email=data["email"] or self.patient.email,
            mobile_phone=data["mobile_phone"] or self.patient.mobile_phone,
            notification_channel=data["notification_channel"],
        )
        # Checked after the contact fields: the first problem named is the first on screen.
        if not data["consent"]:
            raise ContactError("consent", "")
        return details

    def _render(self, *, values, error_field="", status=200):
        context = {
            "values": values,
            "error_field": error_field,
            "email_on_file": email_masked(self.patient.email),
            "mobile_on_file": phone_masked(self.patient.mobile_phone),
        }
        return self._page("enrollment/qr/patient_start.html", context, status)

    def _page(self, template, context, status=200):
        texts = patient_texts(self.language, first_name=self.patient.given_name)
        context |= {"t": texts, "language": self.language}
        # The page follows the patient's language, not the phone's.
        with translation.override(self.language):
            return render(self.request, template, context, status=status)


def qr_unusable(request):
    """Used, expired or forged: the patient's language is unknown, so every one is shown.

    410 either way: a forged code does not tell a prober more than a used one.
    """
    versions = [(language, patient_texts(language)) for language in PATIENT_LANGUAGES]
    context = {"language": "en", "versions": versions}
    with translation.override("en"):
        return render(request, "enrollment/qr/patient_unusable.html", context, status=410)


def email_masked(email: str) -> str:
    """r•••@example.org: enough for the patient to recognize, too little to read."""
    local, at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}" if at and local else ""


def phone_masked(phone: str) -> str:
    """•••-•••-0143: the last four digits only."""
    digits = "".join(c for c in phone if c.isdigit())
    return f"•••-•••-{digits[-4:]}" if len(digits) >= 4 else ""
