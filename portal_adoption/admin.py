from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal_adoption.display import ACCESS_LOG_RESOURCES, access_target, code_words
from portal_adoption.models import AccessAction, AccessLogEntry, IntegrationToken, User
from portal_adoption.roles import Role
from portal_adoption.selectors import user_role_groups
from portal_adoption.services import (
    access_log_record,
    access_log_record_list,
    integration_token_create,
    integration_token_revoke,
    staff_account_log,
    staff_account_save,
)
from portal_adoption.two_factor import two_factor_reset


class RolesField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=Role.choices,
            coerce=Role,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label=_("Roles"),
            help_text=_(
                "What this person does in the practice; each role opens the pages it needs. "
                "Administrators also get this administration site."
            ),
            **kwargs,
        )


class StaffAccountCreationForm(AdminUserCreationForm):
    roles = RolesField()


class StaffAccountForm(UserChangeForm):
    """The fields an administrator may change. No superuser, staff or permission flags:
    roles are the only way to give access, and superusers come from createsuperuser."""

    roles = RolesField()

    class Meta(UserChangeForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email", "location", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = user_role_groups(self.instance)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Staff accounts: administrators give roles and nothing else.

    Every save goes through staff_account_save, which writes what changed to
    the access log; a superuser's account is read-only to anyone else.
    """

    form = StaffAccountForm
    add_form = StaffAccountCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Practice"), {"fields": ("location", "roles", "is_active")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2", "roles"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()
    list_display = ("username", "first_name", "last_name", "location", "roles", "is_active")
    list_filter = ("groups", "location", "is_active")

    @admin.display(description=_("Roles"))
    def roles(self, obj):
        return ", ".join(str(role.label) for role in user_role_groups(obj))

    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.action(
        description=_("Reset two-step sign-in (lost phone): set it up again at next sign-in"),
        permissions=["change"],
    )
    def reset_two_factor(self, request, queryset):
        accounts = [a for a in queryset if self.has_change_permission(request, a)]
        for account in accounts:
            two_factor_reset(request=request, account=account)
        messages.success(
            request,
            ngettext(
                "Two-step sign-in is reset for %(count)d account.",
                "Two-step sign-in is reset for %(count)d accounts.",
                len(accounts),
            )
            % {"count": len(accounts)},
        )

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        staff_account_save(
            request=request,
            account=form.instance,
            roles=form.cleaned_data["roles"],
            changed_fields=form.changed_data,
            created=not change,
        )

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        changed = request.method == "POST" and response.status_code == 302
        if changed and response.url != request.get_full_path():
            account = self.get_object(request, id)
            staff_account_log(request=request, account=account, what="staff_password_set")
        return response


class AccessLogResourceFilter(admin.SimpleListFilter):
    """The resource filter in words ("Message queue"), not the stored code."""

    title = _("What")
    parameter_name = "resource"

    def lookups(self, request, model_admin):
        codes = AccessLogEntry.objects.order_by().values_list("resource", flat=True).distinct()
        names = {str(code).partition(":")[0] for code in codes}
        labels = {name: str(ACCESS_LOG_RESOURCES.get(name) or code_words(name)) for name in names}
        return sorted(labels.items(), key=lambda item: item[1].lower())

    def queryset(self, request, queryset):
        name = self.value()
        if not name:
            return queryset
        return queryset.filter(Q(resource=name) | Q(resource__startswith=f"{name}:"))


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the access log is evidence and is never edited."""

    list_display = (
        "occurred_at",
        "username",
        "action",
        "outcome",
        "what",
        "ip_address",
    )
    list_filter = ("action", "outcome", AccessLogResourceFilter)
    date_hierarchy = "occurred_at"
    list_select_related = ("patient",)

    @admin.display(description=_("What"), ordering="resource")
    def what(self, entry):
        return access_target(entry)

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
