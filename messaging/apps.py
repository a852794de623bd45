from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Message triage")

    def ready(self):
        # Registers the deploy check against console and file backends outside DEBUG.
        from messaging import checks  # noqa: F401

        # The satisfaction chart (metrics) marks the months with a published
        # "what we changed" note, asking through portal_adoption.feedback_hooks.
        from messaging.selectors.feedback import published_change_markers
        from portal_adoption.feedback_hooks import register_published_changes

        register_published_changes(published_change_markers)

        # The response-time report reads tallies rolled up with the dashboard's months:
        # metrics' rollup runs every hook of portal_adoption.rollup_hooks.
        from messaging.rollups import (
            RESPONSE_TIMES,
            RESULTS_EDUCATION,
            bill_pay_months_changed,
            bill_pay_rollup,
            response_arrivals,
            response_months_changed,
            response_tallies_rollup,
            results_education_months_changed,
            results_education_rollup,
        )
        from portal_adoption.rollup_hooks import MonthlyRollupHook, register_monthly_rollup

        register_monthly_rollup(
            MonthlyRollupHook(
                name=RESPONSE_TIMES,
                rollup=response_tallies_rollup,
                read=response_arrivals,
                changed_months=response_months_changed,
            )
        )
        register_monthly_rollup(
            MonthlyRollupHook(
                name="messaging.bill_pay",
                rollup=bill_pay_rollup,
                changed_months=bill_pay_months_changed,
            )
        )
        register_monthly_rollup(
            MonthlyRollupHook(
                name=RESULTS_EDUCATION,
                rollup=results_education_rollup,
                changed_months=results_education_months_changed,
            )
        )
