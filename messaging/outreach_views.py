"""The patient's survey and unsubscribe pages (no login), the SMS webhook, and the
managers' view of what the nightly workers did."""

import base64
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from messaging.models import Communication, NightlyRun, OutreachChannel, OutreachRule
from messaging.outreach import (
    LinkUnusable,
    opt_out,
    outreach_preview,
    patient_for_unsubscribe,
    sms_inbound,
    survey_answer,
    survey_for_token,
)
from portal_adoption.roles import MANAGE_MESSAGING
from portal_adoption.services import access_log_record_list

SCORES = [1, 2, 3, 4, 5]


@method_decorator(login_not_required, name="dispatch")
class SurveyView(View):
    """One question, 1 to 5, and an optional comment; the link works once."""

    def get(self, request, token):
        try:
            invitation = survey_for_token(token)
        except LinkUnusable:
            return render(request, "messaging/outreach/link_used.html", status=410)
        return render(
            request,
            "messaging/outreach/survey.html",
            {"first_name": invitation.patient.given_name, "scores": SCORES},
        )

    def post(self, request, token):
        try:
            score = int(request.POST.get("score", ""))
            survey_answer(token=token, score=score, comment=request.POST.get("comment", ""))
        except LinkUnusable:
            return render(request, "messaging/outreach/link_used.html", status=410)
        except ValueError:
            return render(
                request,
                "messaging/outreach/survey.html",
                {"scores": SCORES, "error": _("Choose a number from 1 to 5.")},
                status=400,
            )
        return render(request, "messaging/outreach/thanks.html")


@method_decorator(login_not_required, name="dispatch")
class UnsubscribeView(View):
    """The link at the foot of every email: confirm, and no more email from the workers."""

    def get(self, request, token):
        try:
            patient_for_unsubscribe(token)
        except LinkUnusable:
            return render(request, "messaging/outreach/link_used.html", status=410)
        return render(request, "messaging/outreach/unsubscribe.html")

    def post(self, request, token):
        try:
            patient = patient_for_unsubscribe(token)
        except LinkUnusable:
            return render(request, "messaging/outreach/link_used.html", status=410)
        opt_out(patient=patient, channel=OutreachChannel.EMAIL, source="unsubscribe link")
        return render(request, "messaging/outreach/unsubscribe.html", {"done": True})


@method_decorator([login_not_required, csrf_exempt], name="dispatch")
class SmsInboundView(View):
    """Twilio posts replies here; a signed request saying STOP opts the number out."""

    def post(self, request):
        if not _twilio_signature_ok(request):
            return HttpResponse(status=403)
        sms_inbound(from_number=request.POST.get("From", ""), body=request.POST.get("Body", ""))
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


class OutreachOverviewView(View):
    """What the workers did last night, and who tonight's rules would reach."""

    def get(self, request):
        if not request.user.has_perm(MANAGE_MESSAGING):
            raise PermissionDenied
        last = NightlyRun.objects.first()
        preview = outreach_preview(today=timezone.localdate())
        shown = {p for patients in preview.values() for p in patients[:20]}
        access_log_record_list(request=request, resource="outreach_preview", patients=shown)
        context = {
            "last": last,
            "rules": OutreachRule,
            "preview": [(OutreachRule(k), v) for k, v in preview.items()],
            "uncertain": Communication.objects.filter(status="sending").count(),
            "failed": Communication.objects.filter(status="queued", attempts__gt=0).count(),
        }
        return render(request, "messaging/outreach/overview.html", context)
