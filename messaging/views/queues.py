"""The triage queue pages: a team's queue, one message, the provider's tasks."""

from datetime import datetime
from typing import NamedTuple

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from messaging import services
from messaging.forms.queues import (
    CallForm,
    CloseForm,
    EscalateForm,
    ReclassifyForm,
    ReplyForm,
    RerouteForm,
    TakeNextForm,
    TemplateChoiceForm,
)
from messaging.models import Message, MessageStatus, Queue
from messaging.selectors import (
    QUEUE_PERMISSIONS,
    Sla,
    chart_notes_to_file,
    checkpoint_messages,
    may_see,
    overnight_since,
    queue_counts,
    queue_messages,
    queues_for,
    sla_state,
    templates_for,
    urgent_open,
    with_preview,
)
from patients.services import patient_set_phone_preference
from portal_adoption.csv_export import csv_download
from portal_adoption.middleware import background_poll
from portal_adoption.models import AccessAction
from portal_adoption.roles import MANAGE_MESSAGING, WORK_CLINICAL_QUEUE, WORK_PROVIDER_TASKS
from portal_adoption.services import access_log_record, access_log_record_list

# A screen of rows a nurse reads; "Take next" picks from the top anyway, and the
# pages after it are there to look further down (issue 15: not 100 rows nobody scrolls to).
QUEUE_PAGE_SIZE = 25
# A checkpoint is a review of the day's state: it lists up to this many at once.
CHECKPOINT_ROWS = 100
SUBJECT_SHOWN = 60
PREVIEW_SHOWN = 120
CHECKPOINTS = {
    "morning": gettext_lazy("Morning: overnight messages to triage and route"),
    "noon": gettext_lazy("Noon: routine replies done, clinical questions escalated"),
    "end-of-day": gettext_lazy("End of day: what is still open"),
}


def _queue_or_404(queue: str) -> str:
    if queue not in Queue.values or queue == Queue.PROVIDER:
        raise Http404
    return queue


class QueueAccessMixin:
    def check_queue(self, queue: str) -> str:
        queue = _queue_or_404(queue)
        if not self.request.user.has_perm(QUEUE_PERMISSIONS[queue]):
            raise PermissionDenied
        return queue


class Row(NamedTuple):
    """One line of a message list, every cell worked out here so the template only prints.

    The message, its SLA state, how old it is and its first words come first
    (tests and the checkpoint pages read them); the rest is what the row
    shows, formatted once in Python instead of by per-row filters and includes.
    """

    message: Message
    sla: str
    age: str
    preview: str
    url: str
    patient_name: str
    subject: str
    received_iso: str
    received_at: str
    due_at: str
    sla_class: str
    sla_label: str
    status_label: str
    taken_by: str

    def __repr__(self):
        # Contexts get printed (Django's template debug log): never the words of a body.
        return f"Row(message={self.message!r}, sla={self.sla!r})"


def message_age(received_at: datetime, now: datetime) -> str:
    """ "2 h ago": how long the patient has been waiting, in the largest whole unit."""
    minutes = max(int((now - received_at).total_seconds() // 60), 0)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return ngettext("%(n)d min ago", "%(n)d min ago", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d h ago", "%(n)d h ago", hours) % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


SLA_BADGES = {
    Sla.OVERDUE: ("text-bg-danger", gettext_lazy("Overdue")),
    Sla.DUE_SOON: ("text-bg-warning", gettext_lazy("Due soon")),
    Sla.ON_TIME: ("text-bg-success", gettext_lazy("On time")),
}
SHORT_TIME = "D H:i"


def _rows(messages_list) -> list[Row]:
    """The rows of a list page; its messages come from with_preview()."""
    now = timezone.now()
    zone = timezone.get_current_timezone()
    # One reverse() for the page: every row's link differs only by its id.
    detail_url = reverse("messaging:detail", args=[0])[:-2] + "{}/"
    badges = {sla: (css, str(label)) for sla, (css, label) in SLA_BADGES.items()}
    rows = []
    for m in messages_list:
        sla = sla_state(m, now=now)
        received = timezone.localtime(m.received_at, zone)
        owner = m.owner
        taken_by = ""
        if owner is not None:
            taken_by = _("Taken by %(name)s") % {
                "name": owner.get_full_name() or owner.get_username()
            }
        rows.append(
            Row(
                message=m,
                sla=sla,
                age=message_age(m.received_at, now),
                # One line: the line breaks of the body would break the table's rows.
                preview=Truncator(" ".join(m.body_start.split())).chars(PREVIEW_SHOWN),
                url=detail_url.format(m.pk),
                patient_name=f"{m.patient.family_name}, {m.patient.given_name}",
                subject=Truncator(m.subject).chars(SUBJECT_SHOWN) if m.subject else "",
                received_iso=received.isoformat(),
                received_at=date_format(received, SHORT_TIME),
                due_at=date_format(timezone.localtime(m.internal_due_at, zone), SHORT_TIME),
                sla_class=badges[sla][0],
                sla_label=badges[sla][1],
                status_label=m.get_status_display(),
                taken_by=taken_by,
            )
        )
    return rows


class QueuesView(View):
    """Every queue this person may work, with where each stands."""

    def get(self, request):
        queues = [q for q in queues_for(request.user) if q != Queue.PROVIDER]
        if not queues and not request.user.has_perm(WORK_PROVIDER_TASKS):
            raise PermissionDenied
        if len(queues) == 1:
            return redirect("messaging:queue", queue=queues[0])
        if not queues:
            return redirect("messaging:tasks")
        summary = [(Queue(q), queue_counts(q)) for q in queues]
        return render(request, "messaging/queues.html", {"summary": summary})


class CountedPaginator(Paginator):
    """A paginator told the number of rows: the queue's counts have it already."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # count is a cached_property: this is its value


class QueueView(QueueAccessMixin, View):
    def get(self, request, queue):
        queue = self.check_queue(queue)
        counts = queue_counts(queue)
        paginator = CountedPaginator(
            with_preview(queue_messages(queue)), QUEUE_PAGE_SIZE, count=counts["open"]
        )
        page = paginator.get_page(request.GET.get("page"))
        shown = list(page.object_list)
        # The rows show the first words of each body: one entry for the page, naming
        # every patient on it, stands for those reads (the detail page logs the whole body).
        access_log_record_list(
            request=request, resource="message_queue", patients={m.patient for m in shown}
        )
        context = {
            "queue": Queue(queue),
            "rows": _rows(shown),
            "counts": counts,
            "page": page,
            "checkpoints": CHECKPOINTS,
            "take_next_form": TakeNextForm(),
        }
        return render(request, "messaging/queue.html", context)


class TakeNextView(QueueAccessMixin, View):
    def post(self, request, queue):
        queue = self.check_queue(queue)
        form = TakeNextForm(request.POST)
        key = form.cleaned_data["idempotency_key"] if form.is_valid() else ""
        try:
            message = services.message_claim_next(queue=queue, by=request.user, idempotency_key=key)
        except services.MessagingError as error:
            messages.error(request, str(error))
            return redirect("messaging:queue", queue=queue)
        if message is None:
            messages.info(request, _("Nothing waiting in this queue. Well done."))
            return redirect("messaging:queue", queue=queue)
        access_log_record(
            request=request,
            action=AccessAction.CHANGE,
            resource="message",
            object_id=message.pk,
            patient=message.patient,
        )
        return redirect("messaging:detail", pk=message.pk)


class CheckpointView(QueueAccessMixin, View):
    def get(self, request, queue, checkpoint):
        queue = self.check_queue(queue)
        if checkpoint not in CHECKPOINTS:
            raise Http404
        key = "end" if checkpoint == "end-of-day" else checkpoint
        shown = list(with_preview(checkpoint_messages(queue, key))[:CHECKPOINT_ROWS])
        access_log_record_list(
            request=request, resource="message_queue", patients={m.patient for m in shown}
        )
        context = {
            "queue": Queue(queue),
            "rows": _rows(shown),
            "checkpoint": checkpoint,
            "checkpoint_label": CHECKPOINTS[checkpoint],
            "checkpoints": CHECKPOINTS,
            "overnight_since": overnight_since() if key == "morning" else None,
        }
        return render(request, "messaging/checkpoint.html", context)


class ProviderTasksView(View):
    """Messages escalated to this provider."""

    def get(self, request):
        provider = getattr(request.user, "provider", None)
        if not request.user.has_perm(WORK_PROVIDER_TASKS):
            raise PermissionDenied
        shown = (
            list(with_preview(queue_messages(Queue.PROVIDER, provider=provider)))
            if provider
            else []
        )
        access_log_record_list(
            request=request, resource="provider_tasks", patients={m.patient for m in shown}
        )
        context = {"rows": _rows(shown), "provider": provider}
        return render(request, "messaging/tasks.html", context)


class MessageMixin:
    """Loads a message the user may see, and logs that its body was read."""

    def message(self, pk) -> Message:
        message = get_object_or_404(
            Message.objects.select_related("patient", "owner", "escalated_to"), pk=pk
        )
        if not may_see(self.request.user, message):
            raise PermissionDenied
        return message

    def back(self, message):
        return redirect("messaging:detail", pk=message.pk)


class MessageDetailView(MessageMixin, View):
    def get(self, request, pk):
        message = self.message(pk)
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="message",
            object_id=message.pk,
            patient=message.patient,
        )
        services.message_touch(message=message, by=request.user)
        return render(request, "messaging/detail.html", self.context(message))

    def context(self, message, **forms):
        template = self._chosen_template(message)
        reply_body = (
            services.template_render(template, message=message, by=self.request.user)
            if template
            else ""
        )
        return {
            "message": message,
            "sla": sla_state(message),
            "history": message.transitions.select_related("by"),
            "replies": message.replies.select_related("sent_by"),
            "calls": message.calls.select_related("called_by"),
            "chart_note": getattr(message, "chart_note", None),
            "templates": templates_for(message.category),
            "reply_form": forms.get("reply_form")
            or ReplyForm(initial={"body": reply_body, "template": template and template.pk}),
            "call_form": forms.get("call_form") or CallForm(),
            "escalate_form": forms.get("escalate_form") or EscalateForm(),
            "reroute_form": forms.get("reroute_form") or RerouteForm(),
            "reclassify_form": ReclassifyForm(initial={"category": message.category}),
            "close_form": forms.get("close_form")
            or CloseForm(initial={"chart_note": services.chart_note_draft(message)}),
            "is_open": message.status != "closed",
            **self._next_in_queue(message),
        }

    def _next_in_queue(self, message) -> dict:
        """Once she has answered or closed it, the way on: "Take next" from the same queue.

        Not on a provider's task list (there is no next to take there), nor in
        a queue she does not work.
        """
        queue = message.queue
        if message.status not in (MessageStatus.ANSWERED, MessageStatus.CLOSED):
            return {}
        if queue == Queue.PROVIDER or not self.request.user.has_perm(QUEUE_PERMISSIONS[queue]):
            return {}
        return {
            "next_queue": Queue(queue),
            "next_waiting": queue_counts(queue)["unclaimed"],
            "take_next_form": TakeNextForm(),
        }

    def _chosen_template(self, message):
        # A link from the page's own template buttons; anything else starts a blank reply.
        choice = TemplateChoiceForm(self.request.GET)
        if not choice.is_valid() or choice.cleaned_data["template"] is None:
            return None
        return templates_for(message.category).filter(pk=choice.cleaned_data["template"]).first()

    def invalid(self, message, **forms):
        # The page drawn again shows the message body: a read, logged as the page's GET is.
        access_log_record(
            request=self.request,
            action=AccessAction.VIEW,
            resource="message",
            object_id=message.pk,
            patient=message.patient,
        )
        messages.error(self.request, _("Please correct the form below."))
        return render(
            self.request, "messaging/detail.html", self.context(message, **forms), status=400
        )


class MessageActionView(MessageDetailView):
    """Base of the POST actions: run the service, flash the outcome, back to the message."""

    def repeated(self, pk, form, *, to_status: str, success):
        """The second request of a double click on an action that moves the message.

        The first one may have moved it out of this person's sight: answer as
        it did (same flash, same place), not with a 403.
        """
        key = form.cleaned_data["idempotency_key"] if form.is_valid() else ""
        first = services.message_changed_with_key(
            by=self.request.user, idempotency_key=key, to_status=to_status
        )
        if first is None or first.pk != pk:
            return None
        messages.success(self.request, success)
        return _leave_if_hidden(self.request, first, self.back(first))

    def act(self, message, action, success):
        try:
            action()
        except services.MessagingError as error:
            messages.error(self.request, str(error))
            return self.back(message)
        return self.done(message, success)

    def done(self, message, success):
        access_log_record(
            request=self.request,
            action=AccessAction.CHANGE,
            resource="message",
            object_id=message.pk,
            patient=message.patient,
        )
        messages.success(self.request, success)
        return self.back(message)


class ReplyView(MessageActionView):
    def post(self, request, pk):
        message = self.message(pk)
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return self.invalid(message, reply_form=form)
        chosen = form.cleaned_data["template"]
        template = templates_for(message.category).filter(pk=chosen).first() if chosen else None
        return self.act(
            message,
            lambda: services.message_reply(
                message=message,
                body=form.cleaned_data["body"],
                by=request.user,
                template=template,
                idempotency_key=form.cleaned_data["idempotency_key"],
            ),
            _("Reply sent: it is in the outbox for the portal."),
        )


class CallView(MessageActionView):
    def post(self, request, pk):
        message = self.message(pk)
        form = CallForm(request.POST)
        if not form.is_valid():
            return self.invalid(message, call_form=form)
        return self.act(
            message,
            lambda: services.message_log_call(
                message=message,
                summary=form.cleaned_data["summary"],
                by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            ),
            _("Call logged."),
        )


ESCALATED = gettext_lazy("Sent to the provider's task list.")


class EscalateView(MessageActionView):
    def post(self, request, pk):
        form = EscalateForm(request.POST)
        repeat = self.repeated(
            pk, form, to_status=MessageStatus.WAITING_PROVIDER, success=ESCALATED
        )
        if repeat:
            return repeat
        message = self.message(pk)
        if not form.is_valid():
            return self.invalid(message, escalate_form=form)
        result = self.act(
            message,
            lambda: services.message_escalate(
                message=message,
                note=form.cleaned_data["note"],
                by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            ),
            ESCALATED,
        )
        return _leave_if_hidden(request, message, result)


def _leave_if_hidden(request, message, result):
    """After a change that moves the message out of this person's sight, back to the queues."""
    message.refresh_from_db()
    if may_see(request.user, message):
        return result
    return redirect("messaging:queues")


REROUTED = gettext_lazy("Sent to the other team's queue.")
RECLASSIFIED = gettext_lazy("Category changed.")


class RerouteView(MessageActionView):
    def post(self, request, pk):
        form = RerouteForm(request.POST)
        repeat = self.repeated(pk, form, to_status=MessageStatus.NEW, success=REROUTED)
        if repeat:
            return repeat
        message = self.message(pk)
        if not form.is_valid():
            return self.invalid(message, reroute_form=form)
        result = self.act(
            message,
            lambda: services.message_reroute(
                message=message,
                queue=form.cleaned_data["queue"],
                note=form.cleaned_data["note"],
                by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            ),
            REROUTED,
        )
        return _leave_if_hidden(request, message, result)


class ReclassifyView(MessageActionView):
    def post(self, request, pk):
        form = ReclassifyForm(request.POST)
        repeat = self.repeated(pk, form, to_status=MessageStatus.NEW, success=RECLASSIFIED)
        if repeat:
            return repeat
        message = self.message(pk)
        if not form.is_valid():
            return self.back(message)
        result = self.act(
            message,
            lambda: services.message_reclassify(
                message=message,
                category=form.cleaned_data["category"],
                by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            ),
            RECLASSIFIED,
        )
        return _leave_if_hidden(request, message, result)


class CareRelatedView(MessageActionView):
    def post(self, request, pk):
        message = self.message(pk)
        care_related = request.POST.get("care_related") == "1"
        return self.act(
            message,
            lambda: services.message_set_care_related(message=message, care_related=care_related),
            _("Saved."),
        )


class PhonePreferenceView(MessageActionView):
    """The nurse learns the patient prefers the phone for clinical matters (or not)."""

    def post(self, request, pk):
        message = self.message(pk)
        prefers = request.POST.get("prefers_phone") == "1"
        return self.act(
            message,
            lambda: patient_set_phone_preference(patient=message.patient, prefers_phone=prefers),
            _("Saved: the queue shows the patient's preference."),
        )


class CloseView(MessageActionView):
    def post(self, request, pk):
        message = self.message(pk)
        form = CloseForm(request.POST)
        if not form.is_valid():
            return self.invalid(message, close_form=form)
        try:
            services.message_close_with_outcome(
                message=message,
                by=request.user,
                note=form.cleaned_data["chart_note"],
                outcome=form.cleaned_data["outcome"],
                outcome_typed=form.cleaned_data["outcome_typed"],
            )
        except services.MessagingError as error:
            # Back to the form as she filled it in: her edits of the note are kept.
            form.add_error(None, str(error))
            return self.invalid(message, close_form=form)
        return self.done(message, _("Closed."))


class NotesToFileView(View):
    """Chart notes waiting to go into the EHR, and their export."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not (user.has_perm(MANAGE_MESSAGING) or user.has_perm(WORK_CLINICAL_QUEUE)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        notes = list(chart_notes_to_file()[:500])
        access_log_record_list(
            request=request, resource="chart_notes", patients={n.message.patient for n in notes}
        )
        return render(request, "messaging/notes.html", {"notes": notes})

    def post(self, request):
        notes = list(chart_notes_to_file())
        if not notes:
            messages.info(request, _("No notes waiting to be filed."))
            return redirect("messaging:notes")
        access_log_record_list(
            request=request,
            resource="chart_notes_export",
            patients={n.message.patient for n in notes},
        )
        header = ["mrn", "patient", "message_received", "note", "written_by", "written_at"]
        rows = [header] + [
            [
                note.message.patient.external_id,
                note.message.patient.full_name,
                timezone.localtime(note.message.received_at).isoformat(),
                note.text,
                note.written_by.get_full_name() or note.written_by.get_username(),
                timezone.localtime(note.written_at).isoformat(),
            ]
            for note in notes
        ]
        response = csv_download(rows, filename="chart-notes.csv")
        services.chart_notes_mark_exported(note_ids=[n.pk for n in notes])
        return response


@method_decorator(background_poll, name="dispatch")
class UrgentAlertView(View):
    """The banner every nurse sees while an urgent message waits, untaken and unanswered."""

    def get(self, request):
        if not request.user.has_perm(WORK_CLINICAL_QUEUE):
            raise PermissionDenied
        count = urgent_open().count()
        return render(request, "messaging/_urgent_alert.html", {"urgent_count": count})
