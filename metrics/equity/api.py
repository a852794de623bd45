"""Equity gaps as JSON: GET metrics/equity/<YYYY-MM>/ (metrics.api's conventions)."""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from metrics.equity.selectors import equity_gaps
from metrics.selectors import month_parse
from portal_adoption.api import ApiView
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_DASHBOARD


class EquityRateSerializer(serializers.Serializer):
    fewer_than_30 = serializers.BooleanField(
        help_text=gettext_lazy("The group has fewer than 30 patients: no rate is given.")
    )
    rate = serializers.FloatField(
        allow_null=True, help_text=gettext_lazy("A fraction from 0 to 1, three decimals.")
    )
    gap_points = serializers.FloatField(
        allow_null=True,
        help_text=gettext_lazy("Points below the practice's rate (negative: above)."),
    )
    flagged = serializers.BooleanField()
    remedy = serializers.CharField(allow_null=True)


class EquityGroupSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=["language", "age", "location"])
    key = serializers.CharField()
    label = serializers.CharField()
    enrollment_rate = EquityRateSerializer()
    active_user_rate = EquityRateSerializer()


class EquityGapsApi(ApiView):
    """One month's enrollment and active user rates by language, age band and location."""

    permission_classes = [api_permission(VIEW_DASHBOARD)]

    class OutputSerializer(serializers.Serializer):
        month = serializers.CharField(help_text=gettext_lazy("YYYY-MM"))
        computed_at = serializers.DateTimeField(
            allow_null=True,
            help_text=gettext_lazy("When the month was rolled up; null: no figures yet."),
        )
        practice = serializers.DictField(
            child=serializers.FloatField(allow_null=True),
            help_text=gettext_lazy("The practice's rates: the dashboard's, unrounded."),
        )
        min_group = serializers.IntegerField()
        gap_points = serializers.FloatField()
        groups = EquityGroupSerializer(many=True)

        class Meta:
            ref_name = "EquityGaps"

    @extend_schema(
        operation_id="metrics_equity",
        summary=gettext_lazy("Equity gaps"),
        description=gettext_lazy(
            "The enrollment rate and the active user rate of one month by preferred language, "
            "age band (age on the month's last day) and location, beside the practice's. A "
            "group of fewer than 30 patients (the rate's denominator) has no rate. A group of "
            "30 or more more than 10 points below the practice is flagged, with the playbook's "
            "remedy."
        ),
        parameters=[
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description=gettext_lazy("YYYY-MM, e.g. 2026-01"),
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
        answer = equity_gaps(first_day)
        return Response(self.OutputSerializer(answer).data)
