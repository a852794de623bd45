"""The staff member's own account: signing in, the password, two-step sign-in."""

from base64 import b32encode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from portal_adoption.forms import StaffLanguageForm
from portal_adoption.middleware import IDLE_NOTICE_KEY, second_factor_not_required
from portal_adoption.services import (
    access_log_record_throttled,
    staff_account_log,
    staff_language_set,
)
from portal_adoption.throttling import SIGN_IN_FAILURES, FailureCount
from portal_adoption.two_factor import (
    second_factor_authenticator,
    second_factor_pending,
    second_factor_recovery_codes_left,
    second_factor_required,
    two_factor_recovery_codes_renew,
    two_factor_setup_confirm,
    two_factor_setup_start,
    two_factor_turn_off,
    two_factor_verify,
    two_factor_verify_wait,
)


def too_many_attempts(request, failures: FailureCount):
    """429 for an address past the limit of failed attempts in this window."""
    minutes = max(1, -(-failures.retry_after // 60))
    response = render(
        request, "registration/too_many_attempts.html", {"minutes": minutes}, status=429
    )
    response["Retry-After"] = str(failures.retry_after)
    return response


class SignInThrottleMixin:
    """Refuses a POST from an address past its failed attempts, before any work."""

    def post(self, request, *args, **kwargs):
        failures = SIGN_IN_FAILURES.current(request)
        if failures.over:
            return too_many_attempts(request, failures)
        return super().post(request, *args, **kwargs)

    def count_failure(self):
        """One more failed attempt; past the limit, the answer is 429 (logged once)."""
        failures = SIGN_IN_FAILURES.record(self.request)
        if failures.first_over:
            access_log_record_throttled(request=self.request, kind="sign-in")
        return too_many_attempts(self.request, failures) if failures.over else None


class StaffLoginView(SignInThrottleMixin, auth_views.LoginView):
    redirect_authenticated_user = True

    def form_invalid(self, form):
        return self.count_failure() or super().form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.request.session.pop(IDLE_NOTICE_KEY, False):
            context["idle_minutes"] = settings.SESSION_IDLE_MINUTES
        return context


# --- Language ----------------------------------------------------------------------


class StaffLanguageView(View):
    """The language the staff member reads the interface in, from the next page on."""

    template_name = "registration/language.html"

    def get(self, request):
        form = StaffLanguageForm(initial={"language": request.user.language})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = StaffLanguageForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        user = staff_language_set(user=request.user, language=form.cleaned_data["language"])
        # Said in the language just chosen: the next page is in it too.
        with translation.override(user.language or translation.get_language()):
            messages.success(request, _("Your language is saved."))
        return redirect("account_language")


# --- Password ----------------------------------------------------------------------


class StaffPasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        staff_account_log(request=self.request, account=form.user, what="staff_password_changed")
        messages.success(self.request, _("Your password is changed."))
        return response


class StaffPasswordResetView(SignInThrottleMixin, auth_views.PasswordResetView):
    """The reset link goes by email; each request counts against the address's limit."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        # Links point at SITE_URL, never at whatever Host header the request carried.
        self.extra_email_context = {
            "site_url": settings.SITE_URL.rstrip("/"),
            "practice_name": settings.PRACTICE_NAME,
        }
        return self.count_failure() or super().form_valid(form)


class StaffPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        staff_account_log(request=self.request, account=form.user, what="staff_password_reset")
        return response


# --- Two-step sign-in ----------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


def _next_url(request) -> str:
    """Where to go after the step: a path of this site, else the home page.

    Only a path is taken ("/messages/"): a bare word would be looked up as a
    URL name by redirect(), and anything else could leave the site.
    """
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else resolve_url(settings.LOGIN_REDIRECT_URL)


@method_decorator([second_factor_not_required, never_cache], name="dispatch")
class TwoFactorVerifyView(View):
    """The second step of signing in: a code from the app, or a recovery code."""

    template_name = "registration/two_factor_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if not second_factor_pending(request):
            return redirect(_next_url(request))
        if second_factor_authenticator(request.user) is None:
            return redirect("two_factor_setup")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self._render(CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid() and two_factor_verify(request=request, token=form.cleaned_data["code"]):
            return redirect(_next_url(request))
        if two_factor_verify_wait(user=request.user):
            form.add_error(
                "code",
                _(
                    "Too many wrong codes: wait a little, then try again. "
                    "Each wrong code makes the wait longer."
                ),
            )
        elif form.is_valid():
            form.add_error("code", _("This code is not right. Type the code the app shows now."))
        return self._render(form, status=400)

    def _render(self, form, status=200):
        context = {"form": form, "next": _next_url(self.request)}
        return render(self.request, self.template_name, context, status=status)


@method_decorator([second_factor_not_required, never_cache], name="dispatch")
class TwoFactorSetupView(View):
    """Set up (or replace) the authenticator app: scan, type a code, keep the recovery codes."""

    template_name = "registration/two_factor_setup.html"

    def dispatch(self, request, *args, **kwargs):
        # With an authenticator already, only a verified session may replace it:
        # otherwise a stolen password would be enough to enroll a new phone.
        has_one = second_factor_authenticator(request.user) is not None
        if has_one and second_factor_pending(request):
            return redirect("two_factor_verify")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self._render(CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            codes = two_factor_setup_confirm(request=request, token=form.cleaned_data["code"])
            if codes is not None:
                return _recovery_codes_page(request, codes, first_time=True)
            form.add_error(
                "code",
                _("This code is not right. Check the phone's time, and type the code shown now."),
            )
        return self._render(form, status=400)

    def _render(self, form, status=200):
        device = two_factor_setup_start(user=self.request.user)
        context = {
            "form": form,
            "qr": authenticator_qr_svg(device.config_url),
            "secret": _grouped(b32encode(device.bin_key).decode()),
            "required": second_factor_required(self.request.user),
            "next": _next_url(self.request),
        }
        return render(self.request, self.template_name, context, status=status)


@method_decorator(never_cache, name="dispatch")
class TwoFactorView(View):
    """The staff member's two-step sign-in: whether it is on, and what to do."""

    def get(self, request):
        user = request.user
        context = {
            "authenticator": second_factor_authenticator(user),
            "codes_left": second_factor_recovery_codes_left(user),
            "required": second_factor_required(user),
        }
        return render(request, "registration/two_factor.html", context)


@method_decorator(never_cache, name="dispatch")
class TwoFactorRecoveryCodesView(View):
    def post(self, request):
        if second_factor_authenticator(request.user) is None:
            messages.error(request, _("Set up an authenticator app first."))
            return redirect("two_factor")
        codes = two_factor_recovery_codes_renew(request=request)
        return _recovery_codes_page(request, codes, first_time=False)


class TwoFactorOffView(View):
    def post(self, request):
        if second_factor_required(request.user):
            messages.error(
                request, _("Your role requires two-step sign-in: it cannot be turned off.")
            )
        else:
            two_factor_turn_off(request=request)
            messages.success(request, _("Two-step sign-in is off for your account."))
        return redirect("two_factor")


def _recovery_codes_page(request, codes, *, first_time):
    """Shown once, in this response only: never in a message, a cookie or a cache."""
    context = {"codes": codes, "first_time": first_time, "next": _next_url(request)}
    response = render(request, "registration/two_factor_recovery_codes.html", context)
    add_never_cache_headers(response)
    return response


def authenticator_qr_svg(config_url: str) -> str:
    """The authenticator's QR code as inline SVG (segno: attributes only, no style)."""
    code = segno.make(config_url, error="m")
    title = _("QR code to scan with your authenticator app")
    return mark_safe(
        code.svg_inline(scale=5, light="#fff", svgclass="qr-code img-fluid", title=title)
    )


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
