from django.urls import path

from metrics import api
from metrics.electronic_access import api as electronic_access_api
from metrics.equity import api as equity_api
from metrics.forecast import api as forecast_api
from metrics.funnel import api as funnel_api

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
    path("metrics/funnel/<str:month>/", funnel_api.FunnelApi.as_view(), name="api_metrics_funnel"),
]
