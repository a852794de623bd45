"""The staff member's own account: signing in."""

from django.conf import settings
from django.contrib.auth import views as auth_views

from portal_adoption.middleware import IDLE_NOTICE_KEY


class StaffLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.request.session.pop(IDLE_NOTICE_KEY, False):
            context["idle_minutes"] = settings.SESSION_IDLE_MINUTES
        return context
