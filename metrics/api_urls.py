from django.urls import path

from metrics import api

urlpatterns = [
    path(
        "metrics/monthly/<str:month>/", api.MonthlyMetricsApi.as_view(), name="api_metrics_monthly"
    ),
]
