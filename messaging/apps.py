from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Message triage")

    def ready(self):
        # Registers the deploy check against console and file backends outside DEBUG.
        from messaging import checks  # noqa: F401
