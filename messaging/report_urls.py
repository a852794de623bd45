"""Managers' response-time report. Included under the "messaging" namespace at /messages/."""

from django.urls import path

from messaging import report_views as views
from messaging import results_report_views

urlpatterns = [
    path(
        "reports/response-times/",
        views.ResponseTimesReportView.as_view(),
        name="report_response_times",
    ),
    path(
        "reports/results-education/",
        results_report_views.ResultsEducationReportView.as_view(),
        name="report_results_education",
    ),
]
