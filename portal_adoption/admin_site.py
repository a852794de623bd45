from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _


class StaffAdminSite(admin.AdminSite):
    """Django's admin, for administrators only, behind the application's login.

    A signed-in user without the administrator role gets the 403 page (and an
    access-log row) instead of the admin's second login form.
    """

    site_header = _("Portal Adoption Manager administration")
    site_title = _("Administration")

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        guarded.__dict__.update(inner.__dict__)
        return guarded

    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next", request.get_full_path()))
