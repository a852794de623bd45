from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramConfig(AppConfig):
    """The adoption program: the 20-week rollout plan, staff training and recognition.

    It sits above the daily tools: it may read `patients`, `enrollment` and
    `messaging`, never `metrics` (architecture.md). What only the rollups know
    (targets saved, the figures a phase reached) reaches it through
    `portal_adoption.program_hooks`, where `metrics` registers its answers.
    """

    name = "program"
    verbose_name = _("Adoption program")
