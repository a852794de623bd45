"""The managers' feedback page: survey comments with score, date and enrollment age,
their tags, the counts by tag per month, and "what we changed" notes.

MANAGE_MESSAGING, not VIEW_DASHBOARD: the comments are patient-written free
text shown with the patient's name (patient data, not aggregates), and
publishing a note sends patients messages, as the nightly workers' page
does. Every list of comments shown is written to the access log; the
comments themselves go nowhere but the escaped page.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from messaging.forms.feedback import CommentTagForm, FeedbackChangeForm, FeedbackFilterForm
from messaging.models import FeedbackTag, OutreachRule, SurveyInvitation
from messaging.selectors.feedback import (
    enrollment_age,
    feedback_changes_recent,
    feedback_comments,
    month_label,
    tag_counts_by_month,
)
from messaging.services.feedback import (
    FeedbackError,
    comment_tag_add,
    comment_tag_remove,
    feedback_change_publish,
)
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_MESSAGING
from portal_adoption.services import access_log_record, access_log_record_list

PER_PAGE = 50


class FeedbackManagerView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_MESSAGING


def _feedback_page(request, *, change_form=None, status=200):
    filters = FeedbackFilterForm(request.GET)
    context = {
        "filters": filters,
        "tags": FeedbackTag,
        "change_form": change_form or FeedbackChangeForm(),
        "changes": feedback_changes_recent(),
        "counts": tag_counts_by_month(timezone.localdate()),
        "rule_label": OutreachRule.FEEDBACK_CHANGE.label,
    }
    if not filters.is_valid():
        context["filter_errors"] = [e for errors in filters.errors.values() for e in errors]
        return render(request, "messaging/feedback/page.html", context, status=400)
    month, tag = filters.cleaned_data["month"], filters.cleaned_data["tag"]
    page = Paginator(feedback_comments(month=month, tag=tag), PER_PAGE).get_page(
        filters.cleaned_data["page"] or 1
    )
    comments = list(page.object_list)
    for comment in comments:
        comment.enrollment_age = enrollment_age(comment.activated_at, comment.answered_at)
        comment.tag_values = {t.tag for t in comment.tags.all()}
    # Each patient whose comment is on the page: one access-log row (the text is not logged).
    shown = {comment.patient_id: comment.patient for comment in comments}
    access_log_record_list(request=request, resource="survey_comments", patients=shown.values())
    query = {k: v for k, v in (("month", _month_key(month)), ("tag", tag)) if v}
    context.update(
        {
            "page": page,
            "comments": comments,
            "query_string": urlencode(query),
            "return_month": query.get("month", ""),
            "return_tag": tag,
            "month_shown": month_label(month) if month else "",
        }
    )
    return render(request, "messaging/feedback/page.html", context, status=status)


def _month_key(month) -> str:
    return f"{month:%Y-%m}" if month else ""


class FeedbackView(FeedbackManagerView):
    """/messages/feedback/: the comments, newest first, 50 a page."""

    def get(self, request):
        return _feedback_page(request)


class CommentTagView(FeedbackManagerView):
    """Add or remove one tag on one comment (plain POST, back to the list)."""

    def post(self, request, pk):
        invitation = get_object_or_404(SurveyInvitation, pk=pk)
        form = CommentTagForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a tag, then add or remove it."))
            return _feedback_page(request, status=400)
        tag, action = form.cleaned_data["tag"], form.cleaned_data["action"]
        label = FeedbackTag(tag).label
        try:
            if action == "add":
                done = comment_tag_add(invitation=invitation, tag=tag, by=request.user)
                text = _("Tagged “%(tag)s”.") if done else _("It was tagged “%(tag)s” already.")
            else:
                done = comment_tag_remove(invitation=invitation, tag=tag)
                text = _("“%(tag)s” removed.") if done else _("It was not tagged “%(tag)s”.")
        except FeedbackError as error:
            messages.error(request, str(error))
            return _feedback_page(request, status=400)
        if done:
            access_log_record(
                request=request,
                action=AccessAction.CHANGE,
                resource="survey_comment_tags",
                object_id=invitation.pk,
                patient=invitation.patient,
            )
        (messages.success if done else messages.info)(request, text % {"tag": label})
        back = {
            k: v
            for k, v in (
                ("month", _month_key(form.cleaned_data["return_month"])),
                ("tag", form.cleaned_data["return_tag"]),
            )
            if v
        }
        url = reverse("messaging:feedback")
        return redirect(f"{url}?{urlencode(back)}#comment-{invitation.pk}" if back else url)


class FeedbackPublishView(FeedbackManagerView):
    """Publish a "what we changed" note; each patient who commented on the tag gets one message."""

    def post(self, request):
        form = FeedbackChangeForm(request.POST)
        if not form.is_valid():
            return _feedback_page(request, change_form=form, status=400)
        try:
            change, published = feedback_change_publish(**form.cleaned_data, by=request.user)
        except FeedbackError as error:
            form.add_error(None, str(error))
            return _feedback_page(request, change_form=form, status=400)
        tag = FeedbackTag(change.tag).label
        if not published:
            messages.info(request, _("This note was published already; nothing was sent again."))
        elif change.outcome.get("switched_off"):
            messages.warning(
                request,
                _(
                    "The note on “%(tag)s” is published. The rule “%(rule)s” is switched "
                    "off, so no patient was sent a message."
                )
                % {"tag": tag, "rule": OutreachRule.FEEDBACK_CHANGE.label},
            )
        else:
            sent, held = change.outcome.get("claimed", 0), change.outcome.get("suppressed", 0)
            text = ngettext(
                "The note on “%(tag)s” is published: %(sent)d patient who commented on it "
                "gets a message.",
                "The note on “%(tag)s” is published: %(sent)d patients who commented on it "
                "get a message.",
                sent,
            ) % {"tag": tag, "sent": sent}
            if held:
                text += " " + ngettext(
                    "%(held)d does not (opted out or no contact details).",
                    "%(held)d do not (opted out or no contact details).",
                    held,
                ) % {"held": held}
            failed = change.outcome.get("failed", 0)
            if failed:
                text += " " + ngettext(
                    "%(failed)d message could not be written: the nightly workers' page lists it.",
                    "%(failed)d messages could not be written: the nightly workers' page "
                    "lists them.",
                    failed,
                ) % {"failed": failed}
            messages.success(request, text)
        return redirect("messaging:feedback")
