"""The message queue by API (architecture.md, "Contracts").

The portal integration posts patients' messages and collects the replies
from the outbox with its key; staff claim and reply with their session.
Every answer that carries patient data writes the access log (VIEW or LIST),
and every write that touches a message or a patient a CHANGE row, as the
pages do.
"""

import re

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from messaging.models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    LARGEST_ID,
    REPLY_MAX_LENGTH,
    Category,
    Message,
    MessageStatus,
    OutboxItem,
    Queue,
)
from messaging.selectors import (
    QUEUE_PERMISSIONS,
    communications_visible_to,
    may_see,
    outbox_pending,
    sla_state,
    templates_for,
)
from messaging.services import (
    MESSAGE_ID_MAX_LENGTH,
    Inbound,
    MessageConflict,
    MessagingError,
    message_claim_next,
    message_receive,
    message_reply,
    outbox_ack,
    template_render,
)
from patients.models import Patient
from portal_adoption.api import ApiView
from portal_adoption.dates import event_window, require_in_window
from portal_adoption.models import AccessAction
from portal_adoption.permissions import api_permission
from portal_adoption.roles import VIEW_PATIENTS
from portal_adoption.services import access_log_record, access_log_record_list

# The portal integration's permissions (its service account's group, roles.py).
RECEIVE_MESSAGES = "messaging.add_message"
COLLECT_OUTBOX = "messaging.view_outboxitem"

DETAIL = inline_serializer("MessagingDetail", {"detail": serializers.CharField()})


def _detail(text: str, code: int) -> Response:
    return Response({"detail": text}, status=code)


def _log_change(request, *, resource: str, object_id, patient) -> None:
    """A write through the API leaves the same CHANGE row a page action does."""
    access_log_record(
        request=request,
        action=AccessAction.CHANGE,
        resource=resource,
        object_id=object_id,
        patient=patient,
    )


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=format_lazy(
        gettext_lazy(
            "A key of your choosing, 1 to {max} visible ASCII characters (a UUID is best). "
            "The same request sent again with the same key does nothing new and answers "
            "as the first one did; the key used before for something else answers 409."
        ),
        max=IDEMPOTENCY_KEY_MAX_LENGTH,
    ),
)


def _idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if key and not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise serializers.ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    _(
                        "Idempotency-Key must be 1 to %(max)d visible ASCII characters, "
                        "for example a UUID."
                    )
                    % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}
                ]
            }
        )
    return key


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a time zone offset: a time without one is ambiguous, so refused."""

    default_error_messages = {
        "naive": gettext_lazy(
            "{field} needs a time zone offset, e.g. 2026-01-14T09:05:00-05:00 or "
            "2026-01-14T14:05:00Z."
        ),
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive", field=self.field_name)
        return super().enforce_timezone(value)


class MessageReceiveApi(ApiView):
    """A patient's message from the portal, stored once, classified and queued."""

    permission_classes = [api_permission(RECEIVE_MESSAGES)]

    class InputSerializer(serializers.Serializer):
        message_id = serializers.CharField(
            # The stored event's id is derived from it: see MESSAGE_ID_MAX_LENGTH.
            max_length=MESSAGE_ID_MAX_LENGTH,
            help_text=gettext_lazy("The portal's id: the idempotency key."),
        )
        patient_external_id = serializers.CharField(
            max_length=64, help_text=gettext_lazy("The patient's MRN, as in the roster feed.")
        )
        subject = serializers.CharField(
            max_length=300, allow_blank=True, required=False, default="", trim_whitespace=False
        )
        # Stored exactly as the patient wrote it.
        body = serializers.CharField(trim_whitespace=False)
        sent_at = OffsetDateTimeField(
            help_text=gettext_lazy(
                "When the patient sent it: ISO 8601 with an offset, from 1900-01-01 to one day "
                "ahead of now."
            )
        )
        thread_id = serializers.CharField(
            max_length=128, allow_blank=True, required=False, default=""
        )

        class Meta:
            ref_name = "InboundMessage"

        def validate_body(self, value: str) -> str:
            if not value.strip():
                raise serializers.ValidationError(_("The message has no text."))
            return value

        def validate_sent_at(self, value):
            require_in_window(value, field="sent_at", window=event_window())
            return value

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        message_id = serializers.CharField()
        category = serializers.ChoiceField(choices=Category.choices)
        queue = serializers.ChoiceField(choices=Queue.choices)
        urgent = serializers.BooleanField()
        status = serializers.ChoiceField(choices=MessageStatus.choices)
        internal_due_at = serializers.DateTimeField()
        external_due_at = serializers.DateTimeField()

        class Meta:
            ref_name = "StoredMessage"

    @extend_schema(
        operation_id="message_receive",
        summary=gettext_lazy("Deliver a patient's message"),
        description=gettext_lazy(
            "The message is classified, flagged urgent when it names a red-flag symptom, and "
            "put in its team's queue with its due times. message_id is the idempotency key: "
            "the same message again answers 200 with the stored one; the same id with "
            "different content answers 409 and changes nothing. The answer never repeats "
            "the message's text."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OpenApiResponse(OutputSerializer, gettext_lazy("Stored already.")),
            400: OpenApiResponse(description=gettext_lazy("Errors by field.")),
            409: OpenApiResponse(DETAIL, gettext_lazy("The id is stored with other content.")),
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = Patient.objects.filter(external_id=data["patient_external_id"]).first()
        if patient is None:
            raise serializers.ValidationError(
                {
                    "patient_external_id": [
                        _("No patient with this MRN on the roster: send the patient first.")
                    ]
                }
            )
        inbound = Inbound(
            message_id=data["message_id"],
            patient=patient,
            subject=data["subject"],
            body=data["body"],
            sent_at=data["sent_at"],
            thread_id=data["thread_id"],
        )
        try:
            message, created = message_receive(inbound=inbound)
        except MessageConflict as error:
            return _detail(str(error), status.HTTP_409_CONFLICT)
        _log_change(request, resource="message", object_id=message.pk, patient=patient)
        return Response(
            self.OutputSerializer(message).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class QueueClaimApi(ApiView):
    """Take the next message of a team's queue: urgent first, then the earliest target."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        message_id = serializers.CharField()
        thread_id = serializers.CharField()
        patient = inline_serializer(
            "ClaimedMessagePatient",
            {
                "external_id": serializers.CharField(),
                "given_name": serializers.CharField(),
                "family_name": serializers.CharField(),
                "preferred_language": serializers.CharField(),
                "prefers_phone_for_clinical": serializers.BooleanField(),
            },
        )
        subject = serializers.CharField()
        body = serializers.CharField()
        sent_at = serializers.DateTimeField()
        received_at = serializers.DateTimeField()
        category = serializers.ChoiceField(choices=Category.choices)
        queue = serializers.ChoiceField(choices=Queue.choices)
        urgent = serializers.BooleanField()
        red_flags = serializers.ListField(child=serializers.CharField())
        status = serializers.ChoiceField(choices=MessageStatus.choices)
        sla = serializers.SerializerMethodField()
        internal_due_at = serializers.DateTimeField()
        external_due_at = serializers.DateTimeField()
        lease_expires_at = serializers.DateTimeField()

        class Meta:
            ref_name = "ClaimedMessage"

        def get_sla(self, message: Message) -> str:
            return sla_state(message)

    @extend_schema(
        operation_id="queue_claim",
        summary=gettext_lazy("Take the next message of a queue"),
        description=gettext_lazy(
            "The caller needs the queue's role. Two people never get the same message; the "
            "claim lapses after 30 minutes untouched. Queues: nursing, front_desk, billing "
            "(providers take work from their task list). With an Idempotency-Key, a retried "
            "claim answers with the message the first one took instead of taking another."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses={
            200: OutputSerializer,
            204: OpenApiResponse(description=gettext_lazy("The queue is empty.")),
            400: OpenApiResponse(DETAIL, gettext_lazy("The provider task list.")),
            403: OpenApiResponse(DETAIL, gettext_lazy("Not this person's queue.")),
            404: OpenApiResponse(DETAIL, gettext_lazy("No such queue.")),
            409: OpenApiResponse(
                DETAIL, gettext_lazy("The Idempotency-Key was used for something else.")
            ),
        },
    )
    def post(self, request, queue: str):
        if queue not in Queue.values:
            return _detail(
                _("There is no queue “%(queue)s”: use one of %(queues)s.")
                % {
                    "queue": queue,
                    "queues": ", ".join(q for q in Queue.values if q != Queue.PROVIDER),
                },
                status.HTTP_404_NOT_FOUND,
            )
        if queue == Queue.PROVIDER:
            return _detail(
                _(
                    "Messages are not claimed from the provider queue: providers take work from "
                    "their task list."
                ),
                status.HTTP_400_BAD_REQUEST,
            )
        if not request.user.has_perm(QUEUE_PERMISSIONS[queue]):
            self.permission_denied(request, message=_("This queue belongs to another team."))
        try:
            message = message_claim_next(
                queue=queue, by=request.user, idempotency_key=_idempotency_key(request)
            )
        except MessageConflict as error:
            return _detail(str(error), status.HTTP_409_CONFLICT)
        if message is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        _log_change(request, resource="message", object_id=message.pk, patient=message.patient)
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="message",
            object_id=message.pk,
            patient=message.patient,
        )
        return Response(self.OutputSerializer(message).data)


class MessageReplyApi(ApiView):
    """Answer a patient's message: the reply goes to the outbox for the portal."""

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(
            allow_blank=True,
            required=False,
            default="",
            max_length=REPLY_MAX_LENGTH,
            help_text=gettext_lazy("The reply; may be left empty when a template is chosen."),
        )
        template = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            max_value=LARGEST_ID,
            help_text=gettext_lazy(
                "The id of an active reply template of the message's category; its text is "
                "used when body is empty."
            ),
        )

        class Meta:
            ref_name = "MessageReplyRequest"

    class OutputSerializer(serializers.Serializer):
        reply_id = serializers.IntegerField()
        outbox_id = serializers.IntegerField()
        first_reply_at = serializers.DateTimeField()

        class Meta:
            ref_name = "MessageReplySent"

    @extend_schema(
        operation_id="message_reply",
        summary=gettext_lazy("Reply to a patient's message"),
        description=gettext_lazy(
            "For staff who may see the message (its team, or the provider it was escalated "
            "to). The first reply stamps the response time; each reply becomes a "
            "message_to_patient event. Send an Idempotency-Key header so that a retry "
            "never sends the patient a second copy."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description=gettext_lazy("No text, unknown template, closed.")),
            403: OpenApiResponse(DETAIL, gettext_lazy("Another team's message.")),
            404: OpenApiResponse(DETAIL, gettext_lazy("No such message.")),
            409: OpenApiResponse(
                DETAIL, gettext_lazy("The Idempotency-Key was used for a different reply.")
            ),
        },
    )
    def post(self, request, pk: int):
        message = get_object_or_404(Message.objects.select_related("patient"), pk=pk)
        if not may_see(request.user, message):
            self.permission_denied(request, message=_("This message belongs to another team."))
        key = _idempotency_key(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body, template = serializer.validated_data["body"], None
        if serializer.validated_data["template"] is not None:
            template = (
                templates_for(message.category)
                .filter(pk=serializer.validated_data["template"])
                .first()
            )
            if template is None:
                raise serializers.ValidationError(
                    {
                        "template": [
                            _("No template in use with this id for %(category)s messages.")
                            % {"category": Category(message.category).label}
                        ]
                    }
                )
            if not body.strip():
                body = template_render(template, message=message, by=request.user)
        try:
            reply = message_reply(
                message=message,
                body=body,
                by=request.user,
                template=template,
                idempotency_key=key,
            )
        except MessageConflict as error:
            return _detail(str(error), status.HTTP_409_CONFLICT)
        except MessagingError as error:
            return _detail(str(error), status.HTTP_400_BAD_REQUEST)
        _log_change(request, resource="message", object_id=message.pk, patient=message.patient)
        answer = {
            "reply_id": reply.pk,
            "outbox_id": reply.outbox_item.pk,
            "first_reply_at": reply.message.first_reply_at,
        }
        return Response(self.OutputSerializer(answer).data, status=status.HTTP_201_CREATED)


class OutboxListApi(ApiView):
    """Replies waiting for the portal integration to deliver them, oldest first."""

    permission_classes = [api_permission(COLLECT_OUTBOX)]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        message_id = serializers.CharField(
            source="reply.message.message_id",
            help_text=gettext_lazy("The patient's message this answers (the portal's id)."),
        )
        patient_external_id = serializers.CharField(source="reply.message.patient.external_id")
        body = serializers.CharField(source="reply.body")
        created_at = serializers.DateTimeField()
        automatic = serializers.BooleanField(
            source="reply.automatic",
            help_text=gettext_lazy("Sent by the system (the red-flag answer), not by staff."),
        )

        class Meta:
            ref_name = "OutboxItem"

    @extend_schema(
        operation_id="outbox_list",
        summary=gettext_lazy("Replies to deliver"),
        description=gettext_lazy(
            "Up to 500 unacknowledged items, oldest first. Deliver each one, then acknowledge "
            "it (POST outbox/<id>/ack/); ask again until the list is empty."
        ),
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        items = outbox_pending()
        patients = {item.reply.message.patient.pk: item.reply.message.patient for item in items}
        access_log_record_list(request=request, resource="outbox", patients=patients.values())
        return Response(self.OutputSerializer(items, many=True).data)


class OutboxAckApi(ApiView):
    """The portal has delivered an outbox item; acknowledging twice is harmless."""

    permission_classes = [api_permission(COLLECT_OUTBOX)]

    @extend_schema(
        operation_id="outbox_ack",
        summary=gettext_lazy("Acknowledge a delivered reply"),
        request=None,
        responses={
            200: inline_serializer(
                "OutboxAck",
                {
                    "acked": serializers.BooleanField(
                        help_text=gettext_lazy("false when it was acknowledged already")
                    )
                },
            ),
            404: OpenApiResponse(DETAIL, gettext_lazy("No such outbox item.")),
        },
    )
    def post(self, request, pk: int):
        item = get_object_or_404(
            OutboxItem.objects.select_related("reply__message__patient"), pk=pk
        )
        acked = outbox_ack(item=item)
        _log_change(
            request, resource="outbox", object_id=item.pk, patient=item.reply.message.patient
        )
        return Response({"acked": acked})


class CommunicationsApi(ApiView):
    """What was sent to a patient, by whom or which job, as far as the caller may see.

    Reminders and campaigns are shown to everyone who may see the patient; a
    reply to a patient's message only to those who may see that message
    (selectors.communications_visible_to, as on the page).
    """

    permission_classes = [api_permission(VIEW_PATIENTS)]

    class InputSerializer(serializers.Serializer):
        patient = serializers.CharField(
            max_length=Patient._meta.get_field("external_id").max_length,
            help_text=gettext_lazy("The patient's external_id (MRN), as in the roster feed."),
            error_messages={
                "required": gettext_lazy("Give the patient's external_id."),
                "blank": gettext_lazy("Give the patient's external_id."),
            },
        )

        class Meta:
            ref_name = "CommunicationsRequest"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        sent_at = serializers.DateTimeField(allow_null=True)
        rule = serializers.CharField()
        channel = serializers.CharField()
        status = serializers.CharField()
        reason = serializers.CharField()
        subject = serializers.CharField()
        body = serializers.CharField()
        sent_by = serializers.CharField(source="sent_by.username", allow_null=True, default=None)
        job = serializers.CharField()

        class Meta:
            ref_name = "Communication"

    ANSWERS = {
        200: OutputSerializer(many=True),
        400: OpenApiResponse(description=gettext_lazy("No patient, or no patient with this id.")),
    }

    @extend_schema(
        operation_id="communications_list",
        summary=gettext_lazy("A patient's communications log (patient in the query string)"),
        description=gettext_lazy(
            "Kept for the contract of architecture.md. The MRN in the query string ends up "
            "in proxies' and servers' request logs: prefer POST with the patient in the body. "
            "Reminders and campaigns are listed for everyone who may see the patient; a reply "
            "to a patient's message only for those who may see that message."
        ),
        parameters=[
            OpenApiParameter(
                "patient",
                str,
                required=True,
                description=gettext_lazy("The patient's external_id (MRN)."),
            )
        ],
        responses=ANSWERS,
    )
    def get(self, request):
        return self._log_for(request, self.InputSerializer(data=request.query_params))

    @extend_schema(
        operation_id="communications_search",
        summary=gettext_lazy("A patient's communications log (patient in the body: recommended)"),
        description=gettext_lazy(
            'The same answer as GET, with {"patient": "<external_id>"} in the JSON body, '
            "so that no patient identifier appears in a URL."
        ),
        request=InputSerializer,
        responses=ANSWERS,
    )
    def post(self, request):
        return self._log_for(request, self.InputSerializer(data=request.data))

    def _log_for(self, request, serializer) -> Response:
        serializer.is_valid(raise_exception=True)
        external_id = serializer.validated_data["patient"]
        patient = Patient.objects.filter(external_id=external_id).first()
        if patient is None:
            raise serializers.ValidationError({"patient": _("No patient has this external_id.")})
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="communications",
            object_id=patient.pk,
            patient=patient,
        )
        rows = communications_visible_to(request.user, patient)[:500]
        return Response(self.OutputSerializer(rows, many=True).data)
