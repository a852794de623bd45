"""The rollout plan's pages under /program/: the plan (or "My tasks"), and its actions."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from portal_adoption.dates import FilterDateField
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_PROGRAM, Role
from program.models.plan import PLAN_WEEKS, Phase, PlanTask
from program.selectors.plan import current_plan, my_tasks, plan_overview, user_may_tick
from program.services import plan as services

NOTE_MAX_LENGTH = services.NOTE_MAX_LENGTH


def owner_choices():
    people = (
        get_user_model()
        .objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("first_name", "username")
    )
    return [
        (gettext_lazy("Roles"), [(f"role:{value}", label) for value, label in Role.choices]),
        (
            gettext_lazy("People"),
            [(f"user:{user.pk}", user.get_full_name() or user.username) for user in people],
        ),
    ]


class PlanStartForm(forms.Form):
    start_date = FilterDateField(
        label=gettext_lazy("Start date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": gettext_lazy("Pick the plan's start date.")},
    )


class TaskOwnerForm(forms.Form):
    phase = forms.ChoiceField(label=gettext_lazy("Phase"), choices=Phase.choices)
    due_week = forms.TypedChoiceField(
        label=gettext_lazy("Due week"),
        choices=[("", "—")] + [(n, n) for n in range(1, PLAN_WEEKS + 1)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Ongoing tasks are due at the end of every month."),
    )
    owner = forms.ChoiceField(label=gettext_lazy("Owner"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owner_choices()

    def owner_fields(self) -> dict:
        kind, _sep, value = self.cleaned_data["owner"].partition(":")
        if kind == "user":
            return {"owner_user": get_user_model().objects.get(pk=int(value)), "owner_role": ""}
        return {"owner_user": None, "owner_role": value}


class TaskAddForm(TaskOwnerForm):
    title = forms.CharField(label=gettext_lazy("Task"), max_length=services.TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    field_order = ["title", "phase", "due_week", "owner", "description"]


class TickForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=NOTE_MAX_LENGTH, required=False)


def _refused(form, error: services.PlanError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error))


def plan_page(request, *, status=200, start_form=None, add_form=None):
    """The plan for a manager, "My tasks" for everyone else."""
    plan = current_plan()
    today = timezone.localdate()
    manager = request.user.has_perm(MANAGE_PROGRAM)
    context = {"plan": plan, "manager": manager, "today": today}
    if manager:
        context["start_form"] = start_form or PlanStartForm()
        if plan is not None:
            context.update(plan_overview(plan, today))
            context["add_form"] = add_form or TaskAddForm()
            context["phase_choices"] = Phase.choices
            context["week_numbers"] = range(1, PLAN_WEEKS + 1)
            context["owner_options"] = owner_choices()
    elif plan is not None:
        context["my_rows"] = my_tasks(request.user, plan, today)
    context["note_max"] = NOTE_MAX_LENGTH
    return render(request, "program/plan.html", context, status=status)


class PlanView(View):
    """Every signed-in member of staff: managers see the plan, the others their tasks."""

    def get(self, request):
        return plan_page(request)


class ManagerView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_PROGRAM


class PlanStartView(ManagerView):
    def post(self, request):
        form = PlanStartForm(request.POST)
        if not form.is_valid():
            return plan_page(request, start_form=form, status=400)
        restarting = current_plan() is not None
        try:
            plan = services.plan_start(start_date=form.cleaned_data["start_date"], by=request.user)
        except services.PlanError as error:
            _refused(form, error)
            return plan_page(request, start_form=form, status=400)
        if restarting:
            text = _("The plan starts again on %(date)s. The previous plan is kept as history.")
        else:
            text = _("The plan starts on %(date)s: here are its 20 weeks.")
        messages.success(request, text % {"date": plan.start_date.isoformat()})
        return redirect("program:plan")


def _task(pk) -> PlanTask:
    return get_object_or_404(PlanTask.objects.select_related("plan"), pk=pk, plan__current=True)


class TaskTickView(View):
    """The owner, anyone holding the owner role, or a manager."""

    def post(self, request, pk):
        task = _task(pk)
        if not user_may_tick(request.user, task):
            raise PermissionDenied
        form = TickForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.errors["note"][0])
            return redirect("program:plan")
        try:
            services.task_tick(task=task, by=request.user, note=form.cleaned_data["note"])
        except services.PlanError as error:
            messages.error(request, str(error))
            return redirect("program:plan")
        messages.success(request, _("“%(task)s” is done.") % {"task": task.title})
        return redirect("program:plan")


class TaskUntickView(View):
    def post(self, request, pk):
        task = _task(pk)
        if not user_may_tick(request.user, task):
            raise PermissionDenied
        if services.task_untick(task=task, by=request.user):
            messages.success(request, _("“%(task)s” is open again.") % {"task": task.title})
        return redirect("program:plan")


class TaskAddView(ManagerView):
    def post(self, request):
        plan = current_plan()
        if plan is None:
            messages.error(request, _("Start the plan first."))
            return redirect("program:plan")
        form = TaskAddForm(request.POST)
        if not form.is_valid():
            return plan_page(request, add_form=form, status=400)
        data = form.cleaned_data
        try:
            task = services.task_add(
                plan=plan,
                by=request.user,
                phase=data["phase"],
                title=data["title"],
                due_week=data["due_week"],
                description=data["description"],
                **form.owner_fields(),
            )
        except services.PlanError as error:
            _refused(form, error)
            return plan_page(request, add_form=form, status=400)
        messages.success(request, _("“%(task)s” was added to the plan.") % {"task": task.title})
        return redirect("program:plan")


class TaskMoveView(ManagerView):
    def post(self, request, pk):
        task = _task(pk)
        form = TaskOwnerForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a phase, a due week and an owner."))
            return redirect("program:plan")
        data = form.cleaned_data
        try:
            services.task_move(
                task=task,
                by=request.user,
                phase=data["phase"],
                due_week=data["due_week"],
                **form.owner_fields(),
            )
        except services.PlanError as error:
            messages.error(request, str(error))
            return redirect("program:plan")
        messages.success(request, _("“%(task)s” was moved.") % {"task": task.title})
        return redirect("program:plan")


class TaskDropView(ManagerView):
    def post(self, request, pk):
        task = _task(pk)
        if services.task_drop(task=task, by=request.user):
            messages.success(
                request,
                _("“%(task)s” was dropped from the plan; restore it any time.")
                % {"task": task.title},
            )
        return redirect("program:plan")


class TaskRestoreView(ManagerView):
    def post(self, request, pk):
        task = _task(pk)
        if services.task_restore(task=task, by=request.user):
            messages.success(request, _("“%(task)s” is back in the plan.") % {"task": task.title})
        return redirect("program:plan")
