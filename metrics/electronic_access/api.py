"""The CMS electronic-access measure as JSON: GET metrics/electronic-access/?start=&end=.

It lists named patients (those not counted), so every answer is written to
the access log, one row for the list (access_log_record_list).
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from metrics.electronic_access.forms import PerformancePeriodForm
from metrics.electronic_access.selectors import electronic_access
from portal_adoption.api import ApiView
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_DASHBOARD
from portal_adoption.services import access_log_record_list


class NotCountedSerializer(serializers.Serializer):
    patient_id = serializers.IntegerField(source="patient.pk")
    patient_external_id = serializers.CharField(source="patient.external_id")
    given_name = serializers.CharField(source="patient.given_name")
    family_name = serializers.CharField(source="patient.family_name")
    visits = serializers.ListField(
        child=serializers.DateField(),
        help_text=gettext_lazy("The local days of the patient's visits in the period."),
    )
    deadline = serializers.DateField(
        help_text=gettext_lazy(
            "The 4th business day after the last visit: access given by its end counts."
        )
    )
    first_access_at = serializers.DateTimeField(
        source="access_at",
        allow_null=True,
        help_text=gettext_lazy("The first invitation or activation, if after the deadline."),
    )
    still_in_time = serializers.BooleanField(
        help_text=gettext_lazy("The deadline has not passed: access given now counts.")
    )

    class Meta:
        ref_name = "ElectronicAccessNotCounted"


class ElectronicAccessSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    rate = serializers.FloatField(
        allow_null=True,
        help_text=gettext_lazy(
            "Numerator / denominator as a fraction from 0 to 1, unrounded; null without "
            "any visit in the period."
        ),
    )
    not_counted = NotCountedSerializer(many=True)

    class Meta:
        ref_name = "ElectronicAccess"


class ElectronicAccessApi(ApiView):
    """Provide Patients Electronic Access (CMS Promoting Interoperability) for a period."""

    permission_classes = [api_permission(VIEW_DASHBOARD)]

    @extend_schema(
        operation_id="metrics_electronic_access",
        summary=gettext_lazy("The CMS electronic-access measure"),
        description=gettext_lazy(
            "For a performance period (a calendar year, or any 90 consecutive days): the "
            "unique patients with a visit_completed event in it (denominator), those given "
            "portal access (portal_invited or portal_activated) before or no later than 4 "
            "business days after a visit in the period on the practice's business calendar "
            "(numerator), and the patients not counted with their visit days. Each answer "
            "is written to the access log. The official CMS specification governs "
            "submission."
        ),
        parameters=[
            OpenApiParameter(
                "start",
                OpenApiTypes.DATE,
                required=True,
                description=gettext_lazy("YYYY-MM-DD: January 1, or the first of 90 days."),
            ),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATE,
                required=True,
                description=gettext_lazy("YYYY-MM-DD: December 31 of that year, or the 90th day."),
            ),
        ],
        responses={
            200: ElectronicAccessSerializer,
            400: OpenApiResponse(description=gettext_lazy("Errors by parameter.")),
        },
    )
    def get(self, request):
        form = PerformancePeriodForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: [str(e) for e in errors] for name, errors in form.errors.items()}
            )
        measure = electronic_access(form.cleaned_data["start"], form.cleaned_data["end"])
        access_log_record_list(
            request=request,
            resource="electronic_access",
            patients=[row.patient for row in measure.not_counted],
        )
        return Response(ElectronicAccessSerializer(measure).data)
