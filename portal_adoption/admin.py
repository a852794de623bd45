from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from portal_adoption.models import AccessLogEntry, User


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("Practice"), {"fields": ("location",)}))
    list_display = ("username", "first_name", "last_name", "location", "is_active")
    list_filter = ("groups", "location", "is_active")


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the access log is evidence and is never edited."""

    list_display = (
        "occurred_at",
        "username",
        "action",
        "outcome",
        "resource",
        "object_id",
        "ip_address",
    )
    list_filter = ("action", "outcome", "resource")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
