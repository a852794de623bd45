from django.urls import path

from metrics import api, electronic_access_api, equity_api, forecast_api

urlpatterns = [
    path(
        "metrics/monthly/<str:month>/", api.MonthlyMetricsApi.as_view(), name="api_metrics_monthly"
    ),
    path(
        "metrics/electronic-access/",
        electronic_access_api.ElectronicAccessApi.as_view(),
        name="api_metrics_electronic_access",
    ),
    path(
        "metrics/equity/<str:month>/", equity_api.EquityGapsApi.as_view(), name="api_metrics_equity"
    ),
    path("metrics/forecast/", forecast_api.ForecastApi.as_view(), name="api_metrics_forecast"),
]
