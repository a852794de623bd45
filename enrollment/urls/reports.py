"""Managers' enrollment reports. Included under the "enrollment" namespace at /enrollment/."""

from django.urls import path

from enrollment.views import reports as views

urlpatterns = [
    path("reports/staff/", views.StaffReportView.as_view(), name="report_staff"),
    path("reports/declines/", views.DeclineReportView.as_view(), name="report_declines"),
    path("reports/incentives/", views.IncentiveReportView.as_view(), name="report_incentives"),
]
