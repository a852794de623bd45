"""The forecast as JSON: GET metrics/forecast/?offer_rate=&acceptance= (issue 16, item 3)."""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from metrics.forecast.selectors import MODEL_STATEMENT, WhatIfForm, forecast
from metrics.selectors import month_key
from portal_adoption.api import ApiView
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_DASHBOARD


def _run(run: dict | None) -> dict | None:
    if run is None:
        return None
    return {
        "offer_rate": run["offer_rate"],
        "acceptance": run["acceptance"],
        "activation": run["activation"],
        "reaches_target": month_key(run["reaches_target"]) if run["reaches_target"] else None,
        "months": [
            {"month": month_key(month), "enrollment_rate": rate}
            for month, rate in zip(run["months"], run["rates"], strict=True)
        ],
    }


class ForecastApi(ApiView):
    """The enrollment rate projected for twelve months, at this pace and with a what-if."""

    permission_classes = [api_permission(VIEW_DASHBOARD)]

    @extend_schema(
        operation_id="metrics_forecast",
        summary=gettext_lazy("The enrollment forecast"),
        description=MODEL_STATEMENT,
        parameters=[
            OpenApiParameter(
                "offer_rate",
                OpenApiTypes.NUMBER,
                required=False,
                description=gettext_lazy("What-if offer rate in percent, 0 to 100."),
            ),
            OpenApiParameter(
                "acceptance",
                OpenApiTypes.NUMBER,
                required=False,
                description=gettext_lazy("What-if acceptance in percent, 0 to 100."),
            ),
        ],
        responses={
            200: OpenApiResponse(
                description=gettext_lazy(
                    "Rates are fractions from 0 to 1. `forecast` is null before any month "
                    "is rolled up; `what_if` is null unless a what-if rate was given; "
                    "`reaches_target` is the month (YYYY-MM) the target is reached, or null "
                    "when it is not within twelve months at that pace."
                )
            ),
            400: OpenApiResponse(description=gettext_lazy("Errors by parameter.")),
        },
    )
    def get(self, request):
        form = WhatIfForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: [str(error) for error in errors] for field, errors in form.errors.items()}
            )
        data = forecast(what_if=form.what_if())
        if data is None:
            return Response({"forecast": None})
        history = data["history"]
        return Response(
            {
                "forecast": {
                    "start": {
                        "month": month_key(data["start_month"]),
                        "enrollment_rate": data["start_rate"],
                        "panel": data["panel"],
                    },
                    "target": data["target"],
                    "already_at_target": data["already_at_target"],
                    "history": {
                        "first_month": month_key(history.first_month),
                        "last_month": month_key(history.last_month),
                        "visits": history.visits,
                        "visits_not_enrolled": history.visits_not_enrolled,
                        "offered": history.offered,
                        "invited": history.invited,
                        "activated": history.activated,
                    },
                    "pace": _run(data["pace"]),
                    "what_if": _run(data["what_if"]),
                }
            }
        )
