"""Managers' response-time and bill-pay reports.

Included under the "messaging" namespace at /messages/.
"""

from django.urls import path

from messaging.views import bill_pay as bill_report_views
from messaging.views import reports as views
from messaging.views import results_education as results_report_views

urlpatterns = [
    path(
        "reports/response-times/",
        views.ResponseTimesReportView.as_view(),
        name="report_response_times",
    ),
    path(
        "reports/bill-pay/",
        bill_report_views.BillPayReportView.as_view(),
        name="report_bill_pay",
    ),
    path(
        "reports/results-education/",
        results_report_views.ResultsEducationReportView.as_view(),
        name="report_results_education",
    ),
]
