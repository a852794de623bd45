"""Managers' settings for the triage queue: routing rules and their test box, red
flags, reply templates, business hours and closures. MANAGE_MESSAGING only."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views import View

from messaging.forms.manage import (
    BusinessHoursForm,
    PracticeClosureForm,
    RedFlagForm,
    ReplyTemplateForm,
    RoutingDefaultForm,
    RoutingRuleForm,
    RuleTestForm,
)
from messaging.models import Category, RedFlag, ReplyTemplate, RoutingRule
from messaging.services import manage as services
from portal_adoption.models import PracticeClosure
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_MESSAGING


class MessagingManagerView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_MESSAGING


class SettingsIndexView(MessagingManagerView):
    """/messages/settings/ itself: the routing rules come first."""

    def get(self, request):
        return redirect("messaging:rules")


def _refused(form, error: services.SettingsError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


# --- Routing rules ----------------------------------------------------------------


def _rules_page(request, *, form=None, default_form=None, test_form=None, result=None, status=200):
    routing = services.routing_settings()
    rules = list(RoutingRule.objects.order_by("phrase"))
    context = {
        "tab": "rules",
        "columns": [(c, [r for r in rules if r.category == c.value]) for c in Category],
        "default_category": Category(routing.default_category),
        "form": form or RoutingRuleForm(),
        "default_form": default_form
        or RoutingDefaultForm(initial={"default_category": routing.default_category}),
        "test_form": test_form or RuleTestForm(),
        "result": result,
    }
    return render(request, "messaging/manage/rules.html", context, status=status)


class RulesView(MessagingManagerView):
    """Phrases per category, in three columns; add one; the default; the test box."""

    def get(self, request):
        return _rules_page(request)

    def post(self, request):
        form = RoutingRuleForm(request.POST)
        if not form.is_valid():
            return _rules_page(request, form=form, status=400)
        try:
            rule = services.routing_rule_add(**form.cleaned_data)
        except services.SettingsError as error:
            _refused(form, error)
            return _rules_page(request, form=form, status=400)
        messages.success(
            request,
            _("“%(phrase)s” now counts a message towards %(category)s.")
            % {"phrase": rule.phrase, "category": rule.get_category_display()},
        )
        return redirect("messaging:rules")


class RuleDeleteView(MessagingManagerView):
    def post(self, request, pk):
        rule = get_object_or_404(RoutingRule, pk=pk)
        services.routing_rule_remove(rule=rule)
        messages.success(
            request,
            _("“%(phrase)s” removed: it no longer counts towards %(category)s.")
            % {"phrase": rule.phrase, "category": rule.get_category_display()},
        )
        return redirect("messaging:rules")


class RuleDefaultView(MessagingManagerView):
    def post(self, request):
        form = RoutingDefaultForm(request.POST)
        if not form.is_valid():
            return _rules_page(request, default_form=form, status=400)
        routing = services.routing_default_set(category=form.cleaned_data["default_category"])
        messages.success(
            request,
            _("Messages no phrase decides go to %(category)s from now on.")
            % {"category": routing.get_default_category_display()},
        )
        return redirect("messaging:rules")


class RuleTestView(MessagingManagerView):
    """How sample text would be classified. A manager's made-up text: never stored or logged."""

    def post(self, request):
        form = RuleTestForm(request.POST)
        result = services.rule_test(form.cleaned_data["text"]) if form.is_valid() else None
        if request.htmx:
            # htmx swaps 2xx answers only: the fragment shows a missing text itself.
            context = {"test_form": form, "result": result}
            return render(request, "messaging/manage/_rule_test.html", context)
        return _rules_page(request, test_form=form, result=result, status=200 if result else 400)


# --- Red flags --------------------------------------------------------------------


class RedFlagsView(MessagingManagerView):
    """The red-flag symptoms by language; add one."""

    template_name = "messaging/manage/red_flags.html"

    def get(self, request):
        return self._render(RedFlagForm())

    def post(self, request):
        form = RedFlagForm(request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            flag = services.red_flag_add(**form.cleaned_data)
        except services.SettingsError as error:
            _refused(form, error)
            return self._render(form, status=400)
        messages.success(
            request,
            _(
                "“%(phrase)s” is a red flag now: a message naming it goes to the top of "
                "the nursing queue."
            )
            % {"phrase": flag.phrase},
        )
        return redirect("messaging:red_flags")

    def _render(self, form, status=200):
        flags = list(RedFlag.objects.order_by("phrase"))
        languages = [
            (code, name, [f for f in flags if f.language == code])
            for code, name in settings.LANGUAGES
        ]
        context = {"tab": "red_flags", "form": form, "languages": languages}
        return render(self.request, self.template_name, context, status=status)


class RedFlagDeleteView(MessagingManagerView):
    def post(self, request, pk):
        flag = get_object_or_404(RedFlag, pk=pk)
        services.red_flag_remove(flag=flag)
        messages.success(
            request,
            _("“%(phrase)s” is no longer a red flag.") % {"phrase": flag.phrase},
        )
        return redirect("messaging:red_flags")


# --- Reply templates --------------------------------------------------------------


class TemplatesView(MessagingManagerView):
    """The reply templates by category, those in use first."""

    def get(self, request):
        templates = list(ReplyTemplate.objects.order_by("-active", "name"))
        context = {
            "tab": "templates",
            "columns": [(c, [t for t in templates if t.category == c.value]) for c in Category],
        }
        return render(request, "messaging/manage/templates.html", context)


class TemplateFormView(MessagingManagerView):
    """Write a new template (no pk) or change one."""

    template_name = "messaging/manage/template_form.html"

    def get(self, request, pk=None):
        template = self._template(pk)
        initial = {"category": request.GET.get("category", Category.CLINICAL)}
        if template:
            initial = {"category": template.category, "name": template.name, "body": template.body}
        return self._render(ReplyTemplateForm(initial=initial), template)

    def post(self, request, pk=None):
        template = self._template(pk)
        form = ReplyTemplateForm(request.POST)
        if not form.is_valid():
            return self._render(form, template, status=400)
        try:
            saved = services.reply_template_save(**form.cleaned_data, template=template)
        except services.SettingsError as error:
            _refused(form, error)
            return self._render(form, template, status=400)
        message = _("Template “%(name)s” saved.") if template else _("Template “%(name)s” added.")
        messages.success(request, message % {"name": saved.name})
        return redirect("messaging:templates")

    def _template(self, pk):
        return get_object_or_404(ReplyTemplate, pk=pk) if pk is not None else None

    def _render(self, form, template, status=200):
        user = self.request.user
        preview = None
        if template:
            staff_name = user.get_full_name() or user.get_username()
            preview = services.template_preview(template.body, staff_name=staff_name)
        context = {
            "tab": "templates",
            "form": form,
            "template": template,
            "preview": preview,
            "practice_phone": settings.PRACTICE_PHONE,
        }
        return render(self.request, self.template_name, context, status=status)


class TemplateToggleView(MessagingManagerView):
    """Take a template out of use, or put it back. Replies sent with it keep it."""

    def post(self, request, pk):
        template = get_object_or_404(ReplyTemplate, pk=pk)
        services.reply_template_set_active(template=template, active=not template.active)
        if template.active:
            message = _("“%(name)s” is in use again: staff can choose it in the queue.")
        else:
            message = _("“%(name)s” is out of use: staff no longer see it in the queue.")
        messages.success(request, message % {"name": template.name})
        return redirect("messaging:templates")


# --- Business hours and closures --------------------------------------------------


def _hours_page(request, *, form=None, closure_form=None, status=200):
    today = timezone.localdate()
    context = {
        "tab": "hours",
        "form": form or BusinessHoursForm(),
        "closure_form": closure_form or PracticeClosureForm(),
        "holidays": services.public_holidays(start=today),
        "closures": PracticeClosure.objects.filter(date__gte=today),
    }
    return render(request, "messaging/manage/hours.html", context, status=status)


class HoursView(MessagingManagerView):
    """The week's opening hours (one form), the public holidays and the closures."""

    def get(self, request):
        return _hours_page(request)

    def post(self, request):
        form = BusinessHoursForm(request.POST)
        if not form.is_valid():
            return _hours_page(request, form=form, status=400)
        try:
            services.business_week_set(days=form.days())
        except services.SettingsError as error:
            _refused(form, error)
            return _hours_page(request, form=form, status=400)
        messages.success(
            request,
            _("Opening hours saved. Messages arriving from now on are due by the new hours."),
        )
        return redirect("messaging:hours")


class ClosureAddView(MessagingManagerView):
    def post(self, request):
        form = PracticeClosureForm(request.POST)
        if not form.is_valid():
            return _hours_page(request, closure_form=form, status=400)
        try:
            closure = services.practice_closure_add(**form.cleaned_data)
        except services.SettingsError as error:
            _refused(form, error)
            return _hours_page(request, closure_form=form, status=400)
        messages.success(
            request,
            _("Closed on %(date)s (%(name)s): the response clock skips that day.")
            % {"date": formats.date_format(closure.date, "DATE_FORMAT"), "name": closure.name},
        )
        return redirect("messaging:hours")


class ClosureDeleteView(MessagingManagerView):
    def post(self, request, pk):
        closure = get_object_or_404(PracticeClosure, pk=pk)
        services.practice_closure_remove(closure=closure)
        messages.success(
            request,
            _("%(date)s is an ordinary day again.")
            % {"date": formats.date_format(closure.date, "DATE_FORMAT")},
        )
        return redirect("messaging:hours")
