"""Maria keeps the triage queue's settings: routing rules and their test box, red flags,
reply templates, opening hours and closures. Nobody else may."""

import datetime as dt

import holidays
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from messaging.models import Category, RedFlag, ReplyTemplate, RoutingRule, RoutingSettings
from messaging.selectors import templates_for
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.models import AccessLogEntry, BusinessHours, PracticeClosure, Weekday
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

HTMX = {"HTTP_HX_REQUEST": "true"}


def sample(client, text, **headers):
    """What the test box says about a sample text."""
    return client.post(reverse("messaging:rule_test"), {"text": text}, **headers)


@pytest.fixture
def maria(client, manager):
    client.force_login(manager)
    return client


# --- Routing rules and the test box -----------------------------------------------


def test_a_phrase_the_manager_adds_decides_the_sample_in_the_sample(maria):
    before = sample(maria, "Where do I park my car?", **HTMX)
    assert before.context["result"].outcome == "no_match"

    added = maria.post(
        reverse("messaging:rules"), {"category": "administrative", "phrase": "  Park  "}
    )
    assert added.status_code == 302
    assert RoutingRule.objects.filter(category="administrative", phrase="Park").exists()
    assert (
        "now counts a message towards Administrative"
        in maria.get(reverse("messaging:rules")).content.decode()
    )

    response = sample(maria, "Where do I PARK my car?", **HTMX)
    assert response.status_code == 200
    assert response.templates[0].name == "messaging/manage/_rule_test.html"
    result = response.context["result"]
    assert (result.category, result.outcome) == ("administrative", "rule")
    assert dict((c, p) for c, _label, p in result.matches)["administrative"] == ["Park"]
    html = response.content.decode()
    assert "Administrative (Front desk queue)" in html
    assert "<html" not in html  # a fragment for htmx


def test_the_test_box_works_without_htmx_too(maria):
    response = sample(maria, "Question about my invoice")
    assert response.status_code == 200
    assert response.context["result"].category == Category.BILLING
    html = response.content.decode()
    assert "<html" in html and "Billing (Billing queue)" in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)


def test_an_empty_sample_asks_for_text(maria):
    response = sample(maria, "   ", **HTMX)
    assert response.status_code == 200  # htmx swaps it in
    assert response.context["result"] is None
    assert "Type a sample message to test." in response.content.decode()
    assert sample(maria, "").status_code == 400


def test_the_sample_text_is_neither_stored_nor_logged(maria, caplog):
    caplog.set_level("DEBUG")
    rules, flags = RoutingRule.objects.count(), RedFlag.objects.count()
    sample(maria, "Zebra-striped sample about my bill", **HTMX)
    assert "Zebra" not in caplog.text
    assert not AccessLogEntry.objects.filter(path__icontains="Zebra").exists()
    assert (RoutingRule.objects.count(), RedFlag.objects.count()) == (rules, flags)


def test_a_tie_goes_to_the_default_the_manager_set(maria):
    assert (
        maria.post(reverse("messaging:rule_default"), {"default_category": "billing"}).status_code
        == 302
    )
    assert RoutingSettings.objects.get().default_category == Category.BILLING
    assert "go to Billing from now on" in maria.get(reverse("messaging:rules")).content.decode()

    # "appointment" is administrative, "fever" clinical: one each, a tie.
    result = sample(maria, "Appointment for my fever", **HTMX).context["result"]
    assert (result.category, result.outcome) == ("billing", "tie")
    assert (
        "Several categories matched equally"
        in sample(maria, "Appointment for my fever", **HTMX).content.decode()
    )
    # No match goes there as well: never to a general pile.
    result = sample(maria, "Hello there", **HTMX).context["result"]
    assert (result.category, result.outcome) == ("billing", "no_match")


def test_removing_a_rule(maria):
    rule = RoutingRule.objects.get(category="clinical", phrase="refill")
    assert sample(maria, "A refill please", **HTMX).context["result"].outcome == "rule"
    response = maria.post(reverse("messaging:rule_delete", args=[rule.pk]))
    assert response.status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert "“refill” removed" in maria.get(reverse("messaging:rules")).content.decode()
    assert sample(maria, "A refill please", **HTMX).context["result"].outcome == "no_match"


@pytest.mark.parametrize(
    ("phrase", "error"),
    [
        ("   ", "Type a word or phrase."),
        ("Invoice", "“invoice” is a phrase for Billing already."),
        ("DOLOR", "“dolor” is a phrase for Clinical already."),
        ("?!", "A phrase needs at least one letter or digit."),
    ],
)
def test_an_empty_or_duplicate_phrase_is_refused_beside_the_phrase(maria, phrase, error):
    count = RoutingRule.objects.count()
    response = maria.post(reverse("messaging:rules"), {"category": "clinical", "phrase": phrase})
    assert response.status_code == 400
    assert response.context["form"].errors["phrase"] == [error]
    assert RoutingRule.objects.count() == count


def test_the_rules_page_shows_three_columns_and_the_default(maria):
    html = maria.get(reverse("messaging:rules")).content.decode()
    for label in ("Clinical", "Administrative", "Billing"):
        assert f'id="rules-{label.lower()}"' in html
    assert "Now: Clinical." in html
    assert "Test the rules" in html


# --- Red flags --------------------------------------------------------------------


def test_a_red_flag_the_manager_adds_is_reported_by_the_sample(maria):
    text = "Since this morning I have had chest tightness"
    assert sample(maria, text, **HTMX).context["result"].red_flags == []

    added = maria.post(
        reverse("messaging:red_flags"), {"phrase": "chest tightness", "language": "en"}
    )
    assert added.status_code == 302
    assert RedFlag.objects.get(phrase="chest tightness").language == "en"
    assert "is a red flag now" in maria.get(reverse("messaging:red_flags")).content.decode()

    response = sample(maria, "Question about my bill, and CHEST TIGHTNESS since lunch", **HTMX)
    result = response.context["result"]
    assert result.red_flags == ["chest tightness"]
    # Whatever its phrases say, a red flag sends the message to nursing.
    assert (result.category, result.final_category) == ("billing", "clinical")
    assert "Red flags found:" in response.content.decode()


def test_spanish_red_flags_match_with_or_without_accents(maria):
    # The stored default is "convulsion"; the patient types the accent.
    result = sample(maria, "Mi hijo tuvo una convulsión anoche", **HTMX).context["result"]
    assert result.red_flags == ["convulsion"]

    maria.post(reverse("messaging:red_flags"), {"phrase": "me desmayé", "language": "es"})
    assert RedFlag.objects.get(phrase="me desmayé").language == "es"
    result = sample(maria, "AYER ME DESMAYE en la cocina", **HTMX).context["result"]
    assert result.red_flags == ["me desmayé"]


def test_a_red_flag_that_matches_one_stored_is_refused(maria):
    response = maria.post(
        reverse("messaging:red_flags"), {"phrase": "Convulsión", "language": "es"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["phrase"] == ["“convulsion” is a red flag already."]


def test_removing_a_red_flag(maria):
    flag = RedFlag.objects.get(phrase="stroke")
    assert maria.post(reverse("messaging:red_flag_delete", args=[flag.pk])).status_code == 302
    assert not RedFlag.objects.filter(phrase="stroke").exists()
    assert (
        "“stroke” is no longer a red flag"
        in maria.get(reverse("messaging:red_flags")).content.decode()
    )


def test_the_red_flag_page_lists_by_language_and_says_negation_still_flags(maria):
    html = maria.get(reverse("messaging:red_flags")).content.decode()
    assert "Negation still flags." in html
    assert "dolor de pecho" in html and "chest pain" in html
    assert 'id="flags-en"' in html and 'id="flags-es"' in html
    result = sample(maria, "No chest pain, just a question", **HTMX).context["result"]
    assert result.red_flags == ["chest pain"]


# --- Reply templates --------------------------------------------------------------


def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(maria):
    response = maria.post(
        reverse("messaging:template_new"),
        {
            "category": "clinical",
            "name": "Refill received",
            "body": "Hi {first_name}, {patient_name} here: call {practice_phone}. {doctor}",
        },
    )
    assert response.status_code == 400
    [error] = response.context["form"].errors["body"]
    assert "{patient_name}" in error and "{doctor}" in error
    assert "{first_name}" not in error.split(".")[0]
    assert not ReplyTemplate.objects.exists()


def test_a_template_is_created_edited_and_taken_out_of_use(maria, manager):
    body = "Hello {first_name}, we received your request. {staff_name}, {practice_phone}"
    created = maria.post(
        reverse("messaging:template_new"),
        {"category": "clinical", "name": "Refill received", "body": body},
    )
    assert created.status_code == 302
    template = ReplyTemplate.objects.get()
    assert (template.category, template.name, template.active) == (
        "clinical",
        "Refill received",
        True,
    )
    assert list(templates_for("clinical")) == [template]
    listing = maria.get(reverse("messaging:templates")).content.decode()
    assert "Template “Refill received” added." in listing

    edit_page = maria.get(reverse("messaging:template_edit", args=[template.pk])).content.decode()
    signed = f"{manager.get_full_name()}, {settings.PRACTICE_PHONE}"
    assert f"Hello Rosa, we received your request. {signed}" in edit_page
    maria.post(
        reverse("messaging:template_edit", args=[template.pk]),
        {"category": "clinical", "name": "Refill on its way", "body": body},
    )
    template.refresh_from_db()
    assert template.name == "Refill on its way"

    toggled = maria.post(reverse("messaging:template_toggle", args=[template.pk]))
    assert toggled.status_code == 302
    template.refresh_from_db()
    assert template.active is False
    assert list(templates_for("clinical")) == []
    assert "is out of use" in maria.get(reverse("messaging:templates")).content.decode()
    maria.post(reverse("messaging:template_toggle", args=[template.pk]))
    template.refresh_from_db()
    assert template.active is True


def test_the_template_form_explains_the_placeholders(maria):
    html = maria.get(reverse("messaging:template_new") + "?category=billing").content.decode()
    for placeholder in ("{first_name}", "{practice_phone}", "{staff_name}"):
        assert placeholder in html
    assert '<option value="billing" selected>' in html


def test_empty_template_lists_say_what_to_do(maria):
    assert "No Clinical templates yet" in maria.get(reverse("messaging:templates")).content.decode()


# --- Hours and closures -------------------------------------------------------------


def week(**changes):
    """The hours form's data: the stored week (Monday to Friday, 8-17), with changes."""
    data = {}
    for weekday in Weekday.values:
        open_day = weekday < 5
        data[f"opens_{weekday}"] = "08:00" if open_day else ""
        data[f"closes_{weekday}"] = "17:00" if open_day else ""
        if open_day:
            data[f"open_{weekday}"] = "on"
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_manager_opens_saturday_morning_and_closes_wednesday(maria):
    saturday, wednesday = Weekday.SATURDAY, Weekday.WEDNESDAY
    response = maria.post(
        reverse("messaging:hours"),
        week(
            **{
                f"open_{saturday}": "on",
                f"opens_{saturday}": "09:00",
                f"closes_{saturday}": "12:00",
            },
            **{f"open_{wednesday}": None},
        ),
    )
    assert response.status_code == 302
    stored = {h.weekday: (h.opens, h.closes) for h in BusinessHours.objects.all()}
    assert stored[saturday] == (dt.time(9), dt.time(12))
    assert wednesday not in stored  # closed: no row
    assert stored[Weekday.MONDAY] == (dt.time(8), dt.time(17))
    page = maria.get(reverse("messaging:hours")).content.decode()
    assert "Opening hours saved." in page
    calendar = BusinessCalendar()
    assert calendar.hours[saturday] == (dt.time(9), dt.time(12))


def test_a_closing_time_before_the_opening_time_is_refused(maria):
    saturday = Weekday.SATURDAY
    response = maria.post(
        reverse("messaging:hours"),
        week(
            **{
                f"open_{saturday}": "on",
                f"opens_{saturday}": "12:00",
                f"closes_{saturday}": "09:00",
            }
        ),
    )
    assert response.status_code == 400
    assert response.context["form"].errors[f"closes_{saturday}"] == [
        "Saturday: the closing time 09:00 must be after the opening time 12:00."
    ]
    assert not BusinessHours.objects.filter(weekday=saturday).exists()


def test_an_open_day_needs_its_times_and_a_week_needs_an_open_day(maria):
    response = maria.post(reverse("messaging:hours"), week(opens_0=""))
    assert response.context["form"].errors["opens_0"] == ["Monday: give the opening time."]
    closed_week = {f"open_{d}": None for d in Weekday.values}
    response = maria.post(reverse("messaging:hours"), week(**closed_week))
    assert response.status_code == 400
    assert "open at least one day a week" in response.content.decode()
    assert BusinessHours.objects.count() == 5


def _quiet_tuesday() -> dt.date:
    """A Tuesday at least two weeks ahead, with no public holiday around it."""
    public = holidays.country_holidays(settings.PRACTICE_COUNTRY)
    day = timezone.localdate() + dt.timedelta(days=14)
    while day.weekday() != 1 or any(day + dt.timedelta(days=n) in public for n in (-1, 0, 1)):
        day += dt.timedelta(days=1)
    return day


def test_a_closure_is_added_and_the_calendar_skips_that_day(maria):
    tuesday = _quiet_tuesday()
    monday = tuesday - dt.timedelta(days=1)
    assert BusinessCalendar().next_open_day(monday).date == tuesday

    response = maria.post(
        reverse("messaging:closure_add"), {"date": tuesday.isoformat(), "name": "Staff training"}
    )
    assert response.status_code == 302
    assert PracticeClosure.objects.get().name == "Staff training"
    page = maria.get(reverse("messaging:hours")).content.decode()
    assert "the response clock skips that day" in page
    assert "Staff training" in page

    calendar = BusinessCalendar()
    assert not calendar.is_open_day(tuesday)
    assert calendar.next_open_day(monday).date == tuesday + dt.timedelta(days=1)


def test_a_closure_in_the_past_or_on_a_holiday_is_refused(maria):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = maria.post(
        reverse("messaging:closure_add"), {"date": yesterday.isoformat(), "name": "Oops"}
    )
    assert response.status_code == 400
    assert "is in the past" in response.context["closure_form"].errors["date"][0]

    next_year = timezone.localdate().year + 1
    response = maria.post(
        reverse("messaging:closure_add"), {"date": f"{next_year}-07-04", "name": "Fireworks"}
    )
    assert (
        "is a public holiday already (Independence Day)"
        in (response.context["closure_form"].errors["date"][0])
    )
    assert not PracticeClosure.objects.exists()


def test_removing_a_closure(maria):
    closure = PracticeClosure.objects.create(date=_quiet_tuesday(), name="Move")
    assert maria.post(reverse("messaging:closure_delete", args=[closure.pk])).status_code == 302
    assert not PracticeClosure.objects.exists()
    assert "is an ordinary day again" in maria.get(reverse("messaging:hours")).content.decode()


def test_the_hours_page_shows_the_next_public_holidays_and_says_what_to_do(maria):
    html = maria.get(reverse("messaging:hours")).content.decode()
    assert "Public holidays, next 12 months" in html
    assert "Independence Day" in html and "New Year" in html
    assert "No closures planned." in html


# --- Who may -----------------------------------------------------------------------

PAGES = [
    ("get", "messaging:settings", None),
    ("get", "messaging:rules", None),
    ("post", "messaging:rules", None),
    ("post", "messaging:rule_delete", 1),
    ("post", "messaging:rule_default", None),
    ("post", "messaging:rule_test", None),
    ("get", "messaging:red_flags", None),
    ("post", "messaging:red_flags", None),
    ("post", "messaging:red_flag_delete", 1),
    ("get", "messaging:templates", None),
    ("get", "messaging:template_new", None),
    ("post", "messaging:template_new", None),
    ("get", "messaging:template_edit", 1),
    ("post", "messaging:template_toggle", 1),
    ("get", "messaging:hours", None),
    ("post", "messaging:hours", None),
    ("post", "messaging:closure_add", None),
    ("post", "messaging:closure_delete", 1),
]


@pytest.mark.parametrize("persona", ["nurse", "front_desk_clerk"])
@pytest.mark.parametrize(("method", "name", "pk"), PAGES, ids=[f"{m} {n}" for m, n, _ in PAGES])
def test_only_managers_may_change_the_message_settings(
    client, db, request, persona, method, name, pk
):
    ReplyTemplate.objects.create(pk=1, category="clinical", name="T", body="Hi")
    PracticeClosure.objects.create(pk=1, date=_quiet_tuesday(), name="Move")
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[pk] if pk else [])
    response = getattr(client, method)(url, {"text": "chest pain", "phrase": "x"})
    assert response.status_code == 403
    assert ReplyTemplate.objects.get(pk=1).active is True
    assert PracticeClosure.objects.filter(pk=1).exists()


@pytest.mark.parametrize("persona", ["manager", "administrator"])
@pytest.mark.parametrize(
    "name", ["messaging:rules", "messaging:red_flags", "messaging:templates", "messaging:hours"]
)
def test_managers_and_administrators_get_every_page_under_the_csp(client, request, persona, name):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page"' in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert not EVENT_HANDLER.search(html)
