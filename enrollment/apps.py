from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("Enrollment at check-in")

    def ready(self):
        # The incentive cohort report reads tallies rolled up with the dashboard's
        # months: metrics' rollup runs every hook of portal_adoption.rollup_hooks.
        from enrollment.rollups import (
            cohort_months_changed,
            cohort_open_months,
            cohort_tallies_rollup,
        )
        from portal_adoption.rollup_hooks import MonthlyRollupHook, register_monthly_rollup

        register_monthly_rollup(
            MonthlyRollupHook(
                name="enrollment.incentive_cohorts",
                rollup=cohort_tallies_rollup,
                changed_months=cohort_months_changed,
                open_months=cohort_open_months,
            )
        )
