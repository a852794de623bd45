from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Portal metrics")

    def ready(self):
        # The adoption program asks through portal_adoption.program_hooks, never importing us.
        from metrics.program_answers import register

        register()
