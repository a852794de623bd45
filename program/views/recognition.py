"""Recognition pages: the monthly board and naming the month's portal champion.

Managers only (MANAGE_PROGRAM): the board shows figures per member of staff,
which is more than the practice-wide dashboard (VIEW_DASHBOARD) shows, and
recognition is part of running the program. Everyone else sees only the
champion, on the home page. No page here shows patient data, so none writes
the access log (refusals are logged by the 403 handler).
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from portal_adoption.dates import MonthField
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_PROGRAM
from program.models.recognition import CHAMPION_REASON_MAX_LENGTH
from program.selectors.recognition import (
    SORT_BY_NAME,
    champion_candidates,
    champion_of,
    month_key,
    recognition_board,
    sort_choices,
    staff_name,
    this_month,
)
from program.services.recognition import RecognitionError, champion_name


class BoardFilterForm(forms.Form):
    """?month=YYYY-MM (this month by default) & sort=name|<column>."""

    month = MonthField(label=gettext_lazy("Month"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("Order"), required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sort"].choices = sort_choices()
        self.fields["sort"].widget.attrs["class"] = "form-select"

    def clean_sort(self):
        return self.cleaned_data.get("sort") or SORT_BY_NAME


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return staff_name(obj)


class ChampionForm(forms.Form):
    month = MonthField(
        label=gettext_lazy("Month"),
        widget=forms.HiddenInput,
        error_messages={"required": gettext_lazy("Choose a month.")},
    )
    user = StaffChoiceField(
        label=gettext_lazy("Portal champion"),
        queryset=champion_candidates(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why (optional)"),
        required=False,
        max_length=CHAMPION_REASON_MAX_LENGTH,
        help_text=gettext_lazy(
            "Everyone sees this on the home page. Do not name patients or include any "
            "patient details."
        ),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )


class RecognitionView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_PROGRAM
    template_name = "program/recognition.html"

    def _render(self, filter_form, champion_form, month, sort, status=200):
        context = {"form": filter_form, "champion_form": champion_form}
        if month is not None:
            board = recognition_board(month, sort=sort)
            context.update(
                {
                    "board": board,
                    "champion": champion_of(month),
                    "month_label": formats.date_format(month, "F Y"),
                    "sort_links": [
                        (key, label, _board_url(month, key)) for key, label in sort_choices()
                    ],
                    "previous_url": _board_url(board.previous_month, sort),
                    "next_url": _board_url(board.next_month, sort),
                }
            )
        return render(self.request, self.template_name, context, status=status)


def _board_url(month, sort=SORT_BY_NAME) -> str:
    query = {"month": month_key(month)}
    if sort != SORT_BY_NAME:
        query["sort"] = sort
    return f"{reverse('program:recognition')}?{urlencode(query)}"


class RecognitionBoardView(RecognitionView):
    """The month's figures per member of staff, and the month's champion."""

    def get(self, request):
        form = BoardFilterForm(request.GET)
        if not form.is_valid():
            return self._render(form, None, None, SORT_BY_NAME, status=400)
        month = form.cleaned_data["month"] or this_month()
        sort = form.cleaned_data["sort"]
        current = champion_of(month)
        champion_form = ChampionForm(
            initial={
                "month": month_key(month),
                "user": current.user_id if current else None,
                "reason": current.reason if current else "",
            }
        )
        return self._render(form, champion_form, month, sort)


class ChampionNameView(RecognitionView):
    """Name the month's champion; naming another replaces the one before."""

    def post(self, request):
        form = ChampionForm(request.POST)
        if not form.is_valid():
            return self._invalid(form)
        month = form.cleaned_data["month"]
        try:
            named = champion_name(
                month=month,
                user=form.cleaned_data["user"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except RecognitionError as error:
            form.add_error(None, str(error))
            return self._invalid(form)
        values = {
            "name": staff_name(named.champion.user),
            "month": formats.date_format(month, "F Y"),
        }
        if named.replaced_someone_else:
            values["before"] = staff_name(named.replaced)
            text = _("%(name)s is now the portal champion of %(month)s, in place of %(before)s.")
        elif named.replaced is not None:
            text = _("The portal champion of %(month)s is still %(name)s; the reason is updated.")
        else:
            text = _("%(name)s is the portal champion of %(month)s.")
        messages.success(request, text % values)
        return redirect(_board_url(month))

    def _invalid(self, form):
        month = form.cleaned_data.get("month") if hasattr(form, "cleaned_data") else None
        filter_form = BoardFilterForm({"month": month_key(month)} if month else {})
        filter_form.is_valid()
        return self._render(filter_form, form, month, SORT_BY_NAME, status=400)
