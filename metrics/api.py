"""The dashboard as JSON (architecture.md, "Contracts"): GET metrics/monthly/<YYYY-MM>/."""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from metrics.selectors import ScopeError, dashboard, month_parse
from portal_adoption.api import ApiView
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_DASHBOARD

FIGURES_DOC = gettext_lazy(
    "Every figure of metrics.md by its snake_case key (architecture.md): rates and shares "
    "are fractions from 0 to 1, unrounded; money is a decimal string; a figure without "
    "data is null."
)


class MonthlyMetricsApi(ApiView):
    """One month's dashboard for the practice, a location or a provider."""

    permission_classes = [api_permission(VIEW_DASHBOARD)]

    class OutputSerializer(serializers.Serializer):
        month = serializers.CharField(help_text=gettext_lazy("YYYY-MM"))
        scope = inline_serializer(
            "MetricsScope",
            {
                "kind": serializers.ChoiceField(choices=["practice", "location", "provider"]),
                "id": serializers.IntegerField(allow_null=True),
                "name": serializers.CharField(),
            },
        )
        figures = serializers.DictField(
            child=serializers.JSONField(allow_null=True), help_text=FIGURES_DOC
        )
        previous = serializers.DictField(
            child=serializers.JSONField(allow_null=True),
            help_text=gettext_lazy("The same figures for the month before."),
        )
        targets = serializers.DictField(
            child=serializers.FloatField(),
            help_text=gettext_lazy("The targets in force, by figure (a rate as a fraction)."),
        )
        opportunities = inline_serializer(
            "MetricsOpportunity",
            {
                "figure": serializers.CharField(),
                "label": serializers.CharField(),
                "value": serializers.JSONField(),
                "target": serializers.FloatField(),
                "shortfall": serializers.FloatField(
                    help_text=gettext_lazy("How far below the target, relative to the target.")
                ),
                "action": serializers.CharField(),
            },
            many=True,
        )

        class Meta:
            ref_name = "MonthlyMetrics"

    @extend_schema(
        operation_id="metrics_monthly",
        summary=gettext_lazy("The monthly dashboard"),
        description=gettext_lazy(
            "The figures of one month from the nightly rollup, the month before, the targets "
            "and up to three key opportunities (the figures furthest below their target, "
            "relative to it). Filter by location or by provider (an id, or the code the feed "
            "uses), not both; without either, the whole practice."
        ),
        parameters=[
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description=gettext_lazy("YYYY-MM, e.g. 2026-01"),
            ),
            OpenApiParameter(
                "location",
                OpenApiTypes.STR,
                required=False,
                description=gettext_lazy("A location's id or code."),
            ),
            OpenApiParameter(
                "provider",
                OpenApiTypes.STR,
                required=False,
                description=gettext_lazy("A provider's id or code."),
            ),
        ],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description=gettext_lazy("Errors by parameter.")),
        },
    )
    def get(self, request, month: str):
        try:
            first_day = month_parse(month)
        except ValueError as error:
            raise serializers.ValidationError({"month": [str(error)]}) from error
        try:
            answer = dashboard(
                first_day,
                location_id=request.query_params.get("location") or None,
                provider_id=request.query_params.get("provider") or None,
            )
        except ScopeError as error:
            raise serializers.ValidationError({error.field: [str(error)]}) from error
        return Response(answer)
