"""The staff member's own account: signing in, and the password."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render

from portal_adoption.middleware import IDLE_NOTICE_KEY
from portal_adoption.services import access_log_record_throttled
from portal_adoption.throttling import SIGN_IN_FAILURES, FailureCount


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
