"""Staff training pages: my training for everyone; the matrix, sessions and modules for managers."""

import re

from django import forms
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from portal_adoption.dates import FilterDateField
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_PROGRAM, Role
from program.models.training import TrainingCompletion, TrainingModule
from program.selectors.training import (
    DUE_SOON_DAYS,
    GRACE_DAYS,
    my_training,
    required_roles,
    training_matrix,
    training_staff,
)
from program.services.training import (
    TrainingError,
    training_complete_self,
    training_completion_undo,
    training_module_create,
    training_module_set_active,
    training_module_update,
    training_session_record,
)

RECENT_COMPLETIONS = 30
MODULE_KEY = re.compile(r"[-a-zA-Z0-9_]{1,64}")


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class LeaderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class SessionForm(forms.Form):
    module = forms.ModelChoiceField(
        label=gettext_lazy("Module"), queryset=TrainingModule.objects.filter(active=True)
    )
    held_on = FilterDateField(
        label=gettext_lazy("Held on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    led_by = LeaderChoiceField(
        label=gettext_lazy("Led by"), queryset=training_staff(), required=False
    )
    attendees = StaffChoiceField(
        label=gettext_lazy("Attendees"),
        queryset=training_staff(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Querysets are evaluated per form, so a new hire appears without a restart.
        self.fields["led_by"].queryset = training_staff()
        self.fields["attendees"].queryset = training_staff()
        self.fields["module"].queryset = TrainingModule.objects.filter(active=True)


class ModuleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    text = forms.CharField(
        label=gettext_lazy("What it teaches"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        max_length=10_000,
    )
    required_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Required for"),
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("With no role ticked, nobody is required to take it."),
    )
    refresher_months = forms.IntegerField(
        label=gettext_lazy("Refresher every (months)"),
        min_value=1,
        max_value=60,
        required=False,
        help_text=gettext_lazy("Leave empty when the module never needs a refresher."),
    )
    order = forms.IntegerField(
        label=gettext_lazy("Order on the page"), min_value=0, max_value=999, initial=100
    )


class ManagerView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_PROGRAM


def _module_filter(request) -> tuple[TrainingModule | None, str | None]:
    """The module the matrix is narrowed to (?module=<key>), or an error to answer 400."""
    key = request.GET.get("module", "")
    if not key:
        return None, None
    module = None
    if MODULE_KEY.fullmatch(key):  # checked first: a NUL byte never reaches the database
        module = TrainingModule.objects.filter(key=key, active=True).first()
    if module is None:
        return None, _("There is no active training module with that key.")
    return module, None


def training_page(request, *, session_form=None, status=200):
    """My training for everyone; for managers also the matrix, sessions and modules."""
    context = {
        "mine": my_training(request.user),
        "grace_days": GRACE_DAYS,
        "due_soon_days": DUE_SOON_DAYS,
        "is_manager": request.user.has_perm(MANAGE_PROGRAM),
    }
    if context["is_manager"]:
        module, error = _module_filter(request)
        if error:
            return HttpResponseBadRequest(error)
        context.update(
            matrix=training_matrix(module=module),
            filtered_module=module,
            modules=[
                (m, [r.label for r in required_roles(m)]) for m in TrainingModule.objects.all()
            ],
            session_form=session_form or SessionForm(initial={"held_on": timezone.localdate()}),
            recent=TrainingCompletion.objects.select_related(
                "staff", "module", "recorded_by", "session"
            ).order_by("-created_at", "-pk")[:RECENT_COMPLETIONS],
        )
    return render(request, "program/training.html", context, status=status)


class TrainingView(View):
    """Every signed-in person: the modules their roles require (there may be none)."""

    def get(self, request):
        return training_page(request)


class TrainingDoneView(View):
    """A member of staff marks a module done today."""

    def post(self, request, pk):
        module = get_object_or_404(TrainingModule, pk=pk)
        try:
            _completion, created = training_complete_self(module=module, user=request.user)
        except TrainingError as error:
            messages.error(request, str(error))
            return redirect("program:training")
        if created:
            messages.success(
                request, _("“%(title)s” marked done today. Thank you.") % {"title": module}
            )
        else:
            messages.info(
                request, _("“%(title)s” was already marked done today.") % {"title": module}
            )
        return redirect(_next_page(request))


def _next_page(request) -> str:
    """Back to the home page when the button was there; otherwise the training page."""
    return "home" if request.POST.get("from") == "home" else "program:training"


class TrainingSessionView(ManagerView):
    """A manager records a session held: a completion for each attendee, all or nothing."""

    def post(self, request):
        form = SessionForm(request.POST)
        if not form.is_valid():
            return training_page(request, session_form=form, status=400)
        data = form.cleaned_data
        try:
            session, created = training_session_record(
                module=data["module"],
                held_on=data["held_on"],
                attendees=data["attendees"],
                led_by=data["led_by"],
                by=request.user,
            )
        except TrainingError as error:
            form.add_error(None, str(error))
            return training_page(request, session_form=form, status=400)
        messages.success(
            request,
            _("Session of %(date)s recorded: “%(title)s” done for %(count)s people.")
            % {
                "date": date_format(session.held_on, "DATE_FORMAT"),
                "title": session.module,
                "count": created,
            },
        )
        return redirect("program:training")


class CompletionUndoView(ManagerView):
    """Remove a completion recorded by mistake."""

    def post(self, request, pk):
        completion = training_completion_undo(completion_id=pk)
        if completion is None:
            messages.info(request, _("That completion was already removed."))
        else:
            messages.success(
                request,
                _("Removed: “%(title)s” by %(person)s on %(date)s.")
                % {
                    "title": completion.module,
                    "person": completion.staff.get_full_name() or completion.staff.username,
                    "date": date_format(completion.completed_on, "DATE_FORMAT"),
                },
            )
        return redirect("program:training")


class ModuleNewView(ManagerView):
    template_name = "program/training_module_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ModuleForm(), "module": None})

    def post(self, request):
        form = ModuleForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "module": None}, status=400)
        module = training_module_create(**form.cleaned_data)
        messages.success(request, _("Module “%(title)s” added.") % {"title": module})
        return redirect("program:training")


class ModuleEditView(ManagerView):
    template_name = "program/training_module_form.html"

    def get(self, request, pk):
        module = get_object_or_404(TrainingModule, pk=pk)
        form = ModuleForm(
            initial={
                "title": module.title,
                "text": module.text,
                "required_roles": module.required_roles,
                "refresher_months": module.refresher_months,
                "order": module.order,
            }
        )
        return render(request, self.template_name, {"form": form, "module": module})

    def post(self, request, pk):
        module = get_object_or_404(TrainingModule, pk=pk)
        form = ModuleForm(request.POST)
        if not form.is_valid():
            context = {"form": form, "module": module}
            return render(request, self.template_name, context, status=400)
        module = training_module_update(module=module, **form.cleaned_data)
        messages.success(request, _("Module “%(title)s” saved.") % {"title": module})
        return redirect("program:training")


class ModuleActiveView(ManagerView):
    """Deactivate a module, or teach it again."""

    def post(self, request, pk):
        module = get_object_or_404(TrainingModule, pk=pk)
        module = training_module_set_active(module=module, active=not module.active)
        if module.active:
            message = _("“%(title)s” is taught again: staff have %(days)s days to complete it.")
        else:
            message = _("“%(title)s” is deactivated: nobody is asked to take it anymore.")
        messages.success(request, message % {"title": module, "days": GRACE_DAYS})
        return redirect("program:training")
