from django.urls import path

from metrics import api, forecast_api

urlpatterns = [
    path(
        "metrics/monthly/<str:month>/", api.MonthlyMetricsApi.as_view(), name="api_metrics_monthly"
    ),
    path("metrics/forecast/", forecast_api.ForecastApi.as_view(), name="api_metrics_forecast"),
]
