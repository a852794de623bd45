"""How views say which role may use them."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from rest_framework.permissions import BasePermission

from portal_adoption.roles import READ_API_DOCS


class StaffPermissionRequiredMixin(PermissionRequiredMixin):
    """A logged-in user without the permission gets the 403 page (and a log row).

    Anonymous users never get this far: LoginRequiredMiddleware sends them
    to the login page first.
    """

    raise_exception = True


def api_permission(*codes: str) -> type[BasePermission]:
    """A DRF permission class requiring every named Django permission."""

    class HasPermissions(BasePermission):
        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(codes))

    HasPermissions.__name__ = "Has_" + "_".join(c.replace(".", "_") for c in codes)
    return HasPermissions


class MayReadApiDocs(BasePermission):
    """The API schema and docs page: managers, administrators and integrations."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(READ_API_DOCS))
