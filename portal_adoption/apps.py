from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalAdoptionConfig(AppConfig):
    default = True
    name = "portal_adoption"
    verbose_name = _("Staff and access")

    def ready(self):
        from portal_adoption import checks  # noqa: F401  (registers the deploy checks)
        from portal_adoption.services import roles_sync_after_migrate
        from portal_adoption.timestamps import use_iso_timestamps

        # Groups and their permissions follow the code after every migrate.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="roles_sync")
        # Timestamps read at C speed on PostgreSQL (portal_adoption/timestamps.py).
        connection_created.connect(use_iso_timestamps, dispatch_uid="iso_timestamps")


class StaffAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "portal_adoption.admin_site.StaffAdminSite"
