from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from patients.selectors import patient_list
from portal_adoption.api import ApiView
from portal_adoption.models import AccessAction
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_PATIENTS
from portal_adoption.services import access_log_record


class PatientDetailApi(ApiView):
    """One patient's roster record. Every read is written to the access log."""

    permission_classes = [api_permission(VIEW_PATIENTS)]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        external_id = serializers.CharField()
        given_name = serializers.CharField()
        family_name = serializers.CharField()
        birth_date = serializers.DateField()
        email = serializers.CharField()
        mobile_phone = serializers.CharField()
        preferred_language = serializers.CharField()
        location = serializers.CharField(source="location.code", allow_null=True)
        primary_provider = serializers.CharField(source="primary_provider.code", allow_null=True)
        registered_on = serializers.DateField()
        deactivated_on = serializers.DateField(allow_null=True)

        class Meta:
            ref_name = "Patient"

    @extend_schema(responses=OutputSerializer, operation_id="patient_detail")
    def get(self, request, pk: int):
        patient = get_object_or_404(patient_list(), pk=pk)
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="patient",
            object_id=patient.pk,
            patient=patient,
        )
        return Response(self.OutputSerializer(patient).data)
