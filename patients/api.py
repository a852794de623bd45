from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from patients.feed_import import ImportReport, MalformedRecord, events_import, patients_import
from patients.models import EventSource
from patients.rules import FieldError
from patients.selectors import patient_list
from portal_adoption.api import ApiView, RequestTooLarge
from portal_adoption.models import AccessAction
from portal_adoption.permissions import api_permission
from portal_adoption.roles import IMPORT_FEED, VIEW_PATIENTS
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


IMPORT_ANSWER = inline_serializer(
    "ImportAnswer",
    {
        "received": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": inline_serializer(
            "ImportError",
            {
                "index": serializers.IntegerField(),
                "field": serializers.CharField(),
                "reason": serializers.CharField(),
            },
            many=True,
        ),
    },
)


def import_answer(report: ImportReport) -> dict:
    return {
        **report.counts(),
        "errors": [
            {"index": r.position, "field": r.field, "reason": r.reason}
            for r in sorted(report.rejections, key=lambda r: r.position)
        ],
    }


class FeedBulkApi(ApiView):
    """The feed by REST: `{"records": [...]}`, checked whole, accepted ones written at once."""

    permission_classes = [api_permission(IMPORT_FEED)]
    importer = None

    def post(self, request):
        records = _records_of(request.data)
        report = type(self).importer(
            enumerate(records), source=EventSource.FEED_API, user=request.user
        )
        return Response(import_answer(report), status=status.HTTP_200_OK)


def _records_of(body) -> list:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise serializers.ValidationError(
            {"records": _('Send a JSON object {"records": [ {...}, ... ]}.')}
        )
    records = body["records"]
    if len(records) > settings.FEED_MAX_RECORDS:
        raise RequestTooLarge(
            _("%(count)d records in one request: send at most %(max)d a request.")
            % {"count": len(records), "max": settings.FEED_MAX_RECORDS}
        )
    return [record if isinstance(record, dict) else _not_an_object(record) for record in records]


def _not_an_object(value) -> MalformedRecord:
    error = FieldError("record", _('each record must be a JSON object {"field": value, ...}.'))
    return MalformedRecord([error], {"value": str(value)[:200]})


BULK_REQUEST = inline_serializer(
    "FeedRecords", {"records": serializers.ListField(child=serializers.DictField())}
)
# The feed's own documentation of what it accepts (README, "Dates the application accepts").
FEED_RULES_DOC = gettext_lazy(
    "Dates are YYYY-MM-DD; times are ISO 8601 with an offset. birth_date must be from "
    "1900-01-01 to today; registered_on, deactivated_on and occurred_at from 1900-01-01 to "
    "one day ahead of now (a time is judged by its UTC day). A record outside its window, or "
    "holding a NUL or a lone surrogate in any field, is rejected on its own, with its index, "
    "the field and the reason; the other records are stored. JSON nested more than 64 levels "
    "deep is refused whole with 400. An event may carry appointment_type (appointment_booked "
    "only): annual_exam, follow_up, sick_visit, procedure or other; any other value rejects "
    "the record. visit_completed (object_id: the encounter; channel front_desk or other) "
    "records a visit that ended; statement_issued (object_id: the statement; channel mail, "
    "portal or other) records a billing statement, with amount the balance due (required, "
    "positive) and an optional due_date (YYYY-MM-DD, from 1900-01-01 to 2199-12-31), which "
    "no other type may carry; a payment with the same object_id pays it."
)


class PatientsBulkApi(FeedBulkApi):
    importer = staticmethod(patients_import)

    @extend_schema(
        request=BULK_REQUEST,
        responses=IMPORT_ANSWER,
        operation_id="patients_bulk",
        description=FEED_RULES_DOC,
    )
    def post(self, request):
        return super().post(request)


class EventsBulkApi(FeedBulkApi):
    importer = staticmethod(events_import)

    @extend_schema(
        request=BULK_REQUEST,
        responses=IMPORT_ANSWER,
        operation_id="events_bulk",
        description=FEED_RULES_DOC,
    )
    def post(self, request):
        return super().post(request)
