"""POST /api/v1/fhir/Bundle: an EHR sends a FHIR R4 Bundle (activity-feed.md)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from patients.api import import_answer
from patients.feed_import import FeedFileInvalid, ImportReport
from patients.fhir import fhir_import
from portal_adoption.api import ApiView
from portal_adoption.json_input import JSONParser
from portal_adoption.permissions import api_permission
from portal_adoption.roles import IMPORT_FEED


class FhirJsonParser(JSONParser):
    """FHIR's own media type for JSON; the content is plain JSON."""

    media_type = "application/fhir+json"


FHIR_ANSWER = inline_serializer(
    name="FhirBundleImport",
    fields={
        "received": serializers.IntegerField(help_text=_("Feed records read from the Bundle.")),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(help_text=_("Already stored: nothing changed.")),
        "rejected": serializers.IntegerField(),
        "errors": inline_serializer(
            name="FhirBundleError",
            many=True,
            fields={
                "index": serializers.IntegerField(
                    help_text=_("The entry's index in Bundle.entry.")
                ),
                "field": serializers.CharField(),
                "reason": serializers.CharField(),
            },
        ),
        "skipped": serializers.IntegerField(help_text=_("Entries that do not map to the feed.")),
        "skipped_entries": inline_serializer(
            name="FhirBundleSkipped",
            many=True,
            fields={
                "index": serializers.IntegerField(
                    allow_null=True, help_text=_("null when entries are counted by type.")
                ),
                "resource_type": serializers.CharField(),
                "count": serializers.IntegerField(),
                "reason": serializers.CharField(),
            },
        ),
    },
)
REFUSAL = inline_serializer(name="FhirBundleRefused", fields={"detail": serializers.CharField()})


class FhirBundleApi(ApiView):
    """Patients, appointments, messages, results, visits and statements from an EHR."""

    permission_classes = [api_permission(IMPORT_FEED)]
    parser_classes = [JSONParser, FhirJsonParser]

    @extend_schema(
        operation_id="fhir_bundle_import",
        summary=_("Import a FHIR R4 Bundle"),
        description=_(
            "Patient entries become roster records; Appointment (with created), Communication "
            "and DiagnosticReport (with issued) entries become events; an Appointment's "
            "appointmentType.coding[0].code gives its appointment_type (annual_exam, "
            "follow_up, sick_visit, procedure, other, or v2-0276 ROUTINE, FOLLOWUP, WALKIN; "
            "any other code leaves it unknown). An Encounter with status finished and "
            "period.end becomes visit_completed at period.end; an Invoice with date and "
            "totalGross becomes statement_issued (object_id from identifier[0].value or the "
            "id, amount from totalGross.value, due_date from paymentTerms when it is a "
            "YYYY-MM-DD date). Other entries are "
            "counted as skipped, with the reason. The Bundle is one import: its accepted "
            "records are written together; rejected ones are listed with their entry index. "
            "Dates and times are checked like every feed record's: birthDate from 1900-01-01 "
            "to today; created, sent, issued, period.end and date from 1900-01-01 to one day "
            "ahead of now; a due date from 1900-01-01 to 2199-12-31. "
            "JSON nested more than 64 levels deep is refused whole with 400."
        ),
        request={
            "application/fhir+json": OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses={
            200: FHIR_ANSWER,
            400: OpenApiResponse(REFUSAL, description=_("Not a Bundle: nothing was written.")),
        },
    )
    def post(self, request):
        try:
            report = fhir_import(request.data, user=request.user)
        except FeedFileInvalid as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(fhir_answer(report))


def fhir_answer(report: ImportReport) -> dict:
    """The bulk API's answer (same counts and errors), plus what was skipped."""
    return {
        **import_answer(report),
        "skipped": report.skipped,
        "skipped_entries": report.skipped_entries,
    }
