"""The enrollment funnel as JSON: GET metrics/funnel/<YYYY-MM>/?by= (metrics.api's
conventions: a bad month or breakdown is a 400 naming it)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from metrics.funnel.selectors import DEFINITION, STEP_KEYS, funnel
from metrics.models import FunnelBy
from metrics.selectors import month_key, month_parse
from portal_adoption.api import ApiView
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_DASHBOARD


class FunnelRowSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text=gettext_lazy("practice, or the group's id (0: none recorded)")
    )
    label = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    due_90 = serializers.IntegerField(
        help_text=gettext_lazy("Multi-feature users whose day 90 had passed.")
    )
    conversions = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text=gettext_lazy("Each step over the step before, a fraction; null: no base."),
    )
    biggest_drop = serializers.CharField(
        allow_null=True,
        help_text=gettext_lazy("The step key of this row's lowest conversion over 30 or more."),
    )


class FunnelDropSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=STEP_KEYS)
    label = serializers.CharField()
    after = serializers.CharField()
    conversion = serializers.FloatField()
    base = serializers.IntegerField()
    action = serializers.CharField()


class FunnelApi(ApiView):
    """One monthly cohort's enrollment funnel, for the practice or broken down."""

    permission_classes = [api_permission(VIEW_DASHBOARD)]

    class OutputSerializer(serializers.Serializer):
        month = serializers.SerializerMethodField()
        by = serializers.ChoiceField(choices=FunnelBy.choices)
        computed_at = serializers.DateTimeField(
            allow_null=True,
            help_text=gettext_lazy("When the cohort was rolled up; null: not yet."),
        )
        steps = serializers.ListField(child=serializers.DictField())
        practice = FunnelRowSerializer()
        groups = FunnelRowSerializer(many=True)
        biggest_drop = FunnelDropSerializer(allow_null=True)
        min_base = serializers.IntegerField()

        class Meta:
            ref_name = "EnrollmentFunnel"

        def get_month(self, data) -> str:
            return month_key(data["month"])

    @extend_schema(
        operation_id="metrics_funnel",
        summary=gettext_lazy("The enrollment funnel"),
        description=DEFINITION,
        parameters=[
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description=gettext_lazy("The cohort's month, YYYY-MM, e.g. 2026-01"),
            ),
            OpenApiParameter(
                "by",
                OpenApiTypes.STR,
                enum=FunnelBy.values,
                required=False,
                description=gettext_lazy("practice (the default), location, provider or staff"),
            ),
        ],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description=gettext_lazy("Errors by parameter.")),
        },
    )
    def get(self, request, month: str):
        errors = {}
        try:
            first_day = month_parse(month)
        except ValueError as error:
            errors["month"] = [str(error)]
        by = request.query_params.get("by") or FunnelBy.PRACTICE.value
        if by not in FunnelBy.values:
            errors["by"] = [
                _("by must be one of: %(choices)s.") % {"choices": ", ".join(FunnelBy.values)}
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return Response(self.OutputSerializer(funnel(first_day, by)).data)
