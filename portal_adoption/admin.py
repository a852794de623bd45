from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from portal_adoption.models import AccessAction, AccessLogEntry, IntegrationToken, User
from portal_adoption.services import (
    access_log_record,
    access_log_record_list,
    integration_token_create,
    integration_token_revoke,
)


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
    list_select_related = ("patient",)

    # Reading the log is itself logged, as on the access-log page: every
    # patient a list shows, and every entry opened.
    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            shown = {entry.patient for entry in changelist.result_list if entry.patient_id}
            access_log_record_list(request=request, resource="access_log", patients=shown)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        entry = (getattr(response, "context_data", None) or {}).get("original")
        if entry is not None:
            access_log_record(
                request=request,
                action=AccessAction.VIEW,
                resource="access_log",
                object_id=entry.pk,
                patient=entry.patient,
            )
        return response

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class IntegrationTokenCreateForm(forms.ModelForm):
    class Meta:
        model = IntegrationToken
        fields = ["name"]


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    """Administrators create a token per integration and revoke it when it must stop."""

    list_display = ("name", "key_prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = (
        "name",
        "account",
        "key_prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = IntegrationTokenCreateForm
            kwargs["fields"] = ["name"]
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = integration_token_create(name=obj.name, created_by=request.user)
        obj.pk = token.pk
        messages.warning(
            request,
            _(
                "The key for “%(name)s” is %(key)s — copy it into the integration now: "
                "it is not stored and will not be shown again."
            )
            % {"name": token.name, "key": key},
        )

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: the service account stays, so the access log keeps its author.
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            integration_token_revoke(token=token)
        messages.success(request, _("The selected tokens are revoked."))
