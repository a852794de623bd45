from django.urls import path

from metrics import api, equity_api

urlpatterns = [
    path(
        "metrics/monthly/<str:month>/", api.MonthlyMetricsApi.as_view(), name="api_metrics_monthly"
    ),
    path(
        "metrics/equity/<str:month>/", equity_api.EquityGapsApi.as_view(), name="api_metrics_equity"
    ),
]
