"""Hostile input to every page and endpoint of the messaging app answers 400 (or is
ignored), never 500, and stores nothing half-written.

The table below names, for every URL the messaging app serves, what it reads
from the request: query parameters, form fields (taken from the form class
itself, so a field added later is walked too), JSON fields and headers. A
test fails when a messaging URL is missing from the table, so a new page or
endpoint cannot skip the walk.
"""

import hashlib
import hmac
import json
from base64 import b64encode
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.core import signing
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.forms import feedback as feedback_forms
from messaging.forms import manage as manage_forms
from messaging.forms import queues as message_forms
from messaging.models import (
    CallLog,
    Communication,
    Message,
    MessageTransition,
    OutboxItem,
    RedFlag,
    Reply,
    ReplyTemplate,
    RoutingRule,
    SurveyInvitation,
)
from messaging.outreach import SURVEY_SALT, UNSUBSCRIBE_SALT
from messaging.services import Inbound, message_receive
from messaging.views import bill_pay as bill_report_views
from messaging.views import reports as report_views
from messaging.views import results_education as results_report_views
from messaging.views.outreach import WORDING_LABELS, FeatureForm
from portal_adoption.models import PracticeClosure
from portal_adoption.roles import Role
from portal_adoption.services import integration_token_create

# Raw, already percent-encoded: what a browser or a script could put on the wire.
# %ED%A0%80 is a lone surrogate (U+D800) in UTF-8 form.
HOSTILE_WIRE_VALUES = [
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%C2%B2",
    "0001-01-01",
    "9999-12-31",
    "0001-01",
    "99999999999999999999999",
    "-1",
    "x" * 6000,
]
HOSTILE_JSON_VALUES = [
    "\x00",
    "a\x00b",
    "\ud800",
    "²",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "x" * 6000,
    10**30,
    -1,
    None,
    True,
    [],
    {},
]


HOSTILE_HEADER_VALUES = ["\x00", "x" * 65, "ключ", "a b", "²"]


def fields_of(form_class) -> tuple[str, ...]:
    return tuple(form_class.base_fields)


@dataclass(frozen=True)
class Inputs:
    """What one URL reads, who may use it, and harmless values for what is not under test."""

    target: str | None = None
    query: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    method: str = "get"
    who: str = "manager"
    benign: dict = field(default_factory=dict)


REPLY = {"body": "We will call you today.", "template": "", "idempotency_key": "k-1"}
INBOUND = {
    "message_id": "hostile-1",
    "patient_external_id": "MRN-ROSA",
    "subject": "Question",
    "body": "Is my rash spreading?",
    "sent_at": "2026-01-14T09:05:00-05:00",
    "thread_id": "t-1",
}

INPUTS = {
    "messaging:queues": Inputs(),
    "messaging:queue": Inputs(target="queue"),
    "messaging:take_next": Inputs(
        target="queue", form=fields_of(message_forms.TakeNextForm), method="post"
    ),
    "messaging:checkpoint": Inputs(target="checkpoint"),
    "messaging:tasks": Inputs(who="provider"),
    "messaging:urgent_alert": Inputs(),
    "messaging:notes": Inputs(method="post"),
    "messaging:detail": Inputs(target="message", query=fields_of(message_forms.TemplateChoiceForm)),
    "messaging:reply": Inputs(
        target="message", form=fields_of(message_forms.ReplyForm), method="post", benign=REPLY
    ),
    "messaging:call": Inputs(
        target="message",
        form=fields_of(message_forms.CallForm),
        method="post",
        benign={"summary": "Talked it through."},
    ),
    "messaging:escalate": Inputs(
        target="message",
        form=fields_of(message_forms.EscalateForm),
        method="post",
        benign={"note": "Please advise."},
    ),
    "messaging:reroute": Inputs(
        target="message",
        form=fields_of(message_forms.RerouteForm),
        method="post",
        benign={"note": "Billing question.", "queue": "billing"},
    ),
    "messaging:reclassify": Inputs(
        target="message", form=fields_of(message_forms.ReclassifyForm), method="post"
    ),
    "messaging:care_related": Inputs(target="message", form=("care_related",), method="post"),
    "messaging:close": Inputs(
        target="message", form=fields_of(message_forms.CloseForm), method="post"
    ),
    "messaging:phone_preference": Inputs(target="message", form=("prefers_phone",), method="post"),
    "messaging:outreach": Inputs(
        form=fields_of(FeatureForm),
        method="post",
        benign={"feature": "payments", "text_en": "Hi {first_name}"},
    ),
    "messaging:outreach_recount": Inputs(method="post"),
    "messaging:outreach_settings": Inputs(
        form=("rule", "enabled", *WORDING_LABELS, "per_week"),
        method="post",
        benign={"rule": "annual_exam_recall", "per_week": "50"},
    ),
    "messaging:patient_communications": Inputs(target="patient"),
    "messaging:settings": Inputs(),
    "messaging:rules": Inputs(
        form=fields_of(manage_forms.RoutingRuleForm),
        method="post",
        benign={"category": "billing", "phrase": "invoice total"},
    ),
    "messaging:rule_default": Inputs(
        form=fields_of(manage_forms.RoutingDefaultForm), method="post"
    ),
    "messaging:rule_test": Inputs(form=fields_of(manage_forms.RuleTestForm), method="post"),
    "messaging:rule_delete": Inputs(target="rule", method="post"),
    "messaging:red_flags": Inputs(
        form=fields_of(manage_forms.RedFlagForm),
        method="post",
        benign={"phrase": "cannot breathe", "language": "en"},
    ),
    "messaging:red_flag_delete": Inputs(target="red_flag", method="post"),
    "messaging:templates": Inputs(),
    "messaging:template_new": Inputs(
        query=("category",),
        form=fields_of(manage_forms.ReplyTemplateForm),
        method="post",
        benign={"category": "clinical", "name": "Seen", "body": "Hi {first_name}"},
    ),
    "messaging:template_edit": Inputs(
        target="reply_template",
        form=fields_of(manage_forms.ReplyTemplateForm),
        method="post",
        benign={"category": "clinical", "name": "Seen", "body": "Hi {first_name}"},
    ),
    "messaging:template_toggle": Inputs(target="reply_template", method="post"),
    # The seven days' fields are made in the form's __init__: see hours_fields().
    "messaging:hours": Inputs(form=("*hours*",), method="post"),
    "messaging:closure_add": Inputs(
        form=fields_of(manage_forms.PracticeClosureForm),
        method="post",
        benign={"date": "2199-12-30", "name": "Staff training"},
    ),
    "messaging:closure_delete": Inputs(target="closure", method="post"),
    "messaging:report_response_times": Inputs(query=fields_of(report_views.ResponseTimesForm)),
    "messaging:report_bill_pay": Inputs(query=fields_of(bill_report_views.BillPayForm)),
    "messaging:report_results_education": Inputs(
        query=fields_of(results_report_views.ResultsEducationForm)
    ),
    "outreach:survey": Inputs(
        target="survey",
        form=("score", "comment"),
        method="post",
        who="anonymous",
        benign={"score": "4"},
    ),
    "outreach:unsubscribe": Inputs(target="unsubscribe", method="post", who="anonymous"),
    "outreach:sms_inbound": Inputs(
        form=("From", "Body"), method="post", who="twilio", benign={"Body": "STOP"}
    ),
    # Closing the feedback loop (issue 13).
    "messaging:feedback": Inputs(query=fields_of(feedback_forms.FeedbackFilterForm)),
    "messaging:feedback_tag": Inputs(
        target="survey_comment",
        form=fields_of(feedback_forms.CommentTagForm),
        method="post",
        benign={"tag": "login", "action": "add"},
    ),
    "messaging:feedback_publish": Inputs(
        form=fields_of(feedback_forms.FeedbackChangeForm),
        method="post",
        benign={"tag": "login", "text_en": "Sign-in is one step now.", "idempotency_key": "k-2"},
    ),
    "api_messages": Inputs(json=tuple(INBOUND), method="post", who="portal", benign=INBOUND),
    "api_message_reply": Inputs(
        target="message",
        json=("body", "template"),
        headers=("Idempotency-Key",),
        method="post",
        benign={"body": "Call us."},
    ),
    "api_queue_claim": Inputs(target="queue", method="post"),
    "api_outbox": Inputs(who="portal"),
    "api_outbox_ack": Inputs(target="outbox", method="post", who="portal"),
    "api_communications": Inputs(
        query=("patient",), json=("patient",), method="post", benign={"patient": "MRN-ROSA"}
    ),
}


def messaging_url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from messaging_url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            view = getattr(entry.callback, "view_class", entry.callback)
            if view.__module__.startswith("messaging."):
                yield f"{namespace}{entry.name}"


def test_every_messaging_url_is_walked_with_hostile_input():
    missing = set(messaging_url_names()) - set(INPUTS)
    assert not missing, f"add these URLs to INPUTS with what they read: {sorted(missing)}"


# --- Making the records a URL names -------------------------------------------------


def make_message(patient, queue_text="my rash is spreading"):
    inbound = Inbound(
        message_id=f"hostile-{timezone.now().timestamp()}",
        patient=patient,
        subject="Rash",
        body=queue_text,
        sent_at=timezone.now(),
    )
    return message_receive(inbound=inbound)[0]


def url_of(name, inputs, patient):
    target = inputs.target
    if target is None:
        return reverse(name)
    if target == "queue":
        return reverse(name, kwargs={"queue": "nursing"})
    if target == "checkpoint":
        return reverse(name, kwargs={"queue": "nursing", "checkpoint": "noon"})
    if target == "survey":
        return reverse(name, kwargs={"token": survey_token(patient)})
    if target == "unsubscribe":
        return reverse(name, kwargs={"token": signing.dumps(patient.pk, salt=UNSUBSCRIBE_SALT)})
    return reverse(name, kwargs={"pk": make_record(target, patient).pk})


def make_record(target, patient):
    if target == "message":
        return make_message(patient)
    if target == "patient":
        return patient
    if target == "rule":
        return RoutingRule.objects.create(category="billing", phrase="hostile phrase")
    if target == "red_flag":
        return RedFlag.objects.create(phrase="hostile flag")
    if target == "reply_template":
        return ReplyTemplate.objects.create(category="clinical", name="T", body="Hi")
    if target == "closure":
        return PracticeClosure.objects.create(date=timezone.localdate(), name="Hostile")
    if target == "outbox":
        message = make_message(patient, "I have chest pain")
        return OutboxItem.objects.get(reply__message=message)
    if target == "survey_comment":
        from tests.messaging.test_feedback import survey_comment

        return survey_comment(patient, comment="Hostile walk")
    raise ValueError(target)


def survey_token(patient):
    communication = Communication.objects.create(
        patient=patient,
        rule="satisfaction_survey",
        period=f"hostile-{Communication.objects.count()}",
        channel="email",
        body="b",
    )
    invitation = SurveyInvitation.objects.create(
        communication=communication,
        patient=patient,
        expires_at=timezone.now() + timezone.timedelta(days=1),
    )
    return signing.dumps(invitation.pk, salt=SURVEY_SALT)


# --- Sending ------------------------------------------------------------------------


@pytest.fixture
def callers(personas, settings, db):
    settings.TWILIO_AUTH_TOKEN = "hostile-test-token"
    _token, key = integration_token_create(name="Portal", created_by=None)
    portal = APIClient()
    portal.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    clients = {"portal": portal, "anonymous": APIClient(), "twilio": APIClient()}
    for who, role in (("manager", Role.MANAGER), ("provider", Role.PROVIDER)):
        clients[who] = APIClient()
        clients[who].force_login(personas[role])
    return clients


def wire(data: dict) -> str:
    """Form or query data: benign values quoted, hostile ones already raw."""
    return "&".join(f"{quote(k)}={v}" for k, v in data.items())


def benign_wire(inputs: Inputs) -> dict:
    return {k: quote(str(v)) for k, v in inputs.benign.items() if k not in inputs.json}


def twilio_signature(url: str, body: str) -> str:
    payload = (
        "http://testserver"
        + url
        + "".join(f"{key}{value}" for key, value in sorted(QueryDict(body).items()))
    )
    digest = hmac.new(b"hostile-test-token", payload.encode(), hashlib.sha1).digest()
    return b64encode(digest).decode()


def send_form(client, inputs, url, data):
    body = wire(data)
    if inputs.method == "get":
        return client.get(f"{url}?{body}")
    headers = {}
    if inputs.who == "twilio":
        headers["X-Twilio-Signature"] = twilio_signature(url, body)
    return client.generic(
        "POST", url, body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def hours_fields():
    return tuple(manage_forms.BusinessHoursForm().fields)


def cases():
    for name, inputs in sorted(INPUTS.items()):
        for place in ("query", "form", "json", "headers"):
            for field_name in getattr(inputs, place):
                yield pytest.param(name, place, field_name, id=f"{name}-{place}-{field_name}")


@pytest.mark.parametrize(("name", "place", "field_name"), list(cases()))
def test_hostile_values_never_answer_500(callers, patient, name, place, field_name):
    inputs = INPUTS[name]
    client = callers[inputs.who]
    names = hours_fields() if field_name == "*hours*" else (field_name,)
    failures = []
    for target_field in names:
        values = {"json": HOSTILE_JSON_VALUES, "headers": HOSTILE_HEADER_VALUES}.get(
            place, HOSTILE_WIRE_VALUES
        )
        for value in values:
            url = url_of(name, inputs, patient)
            response = send(client, inputs, url, place, target_field, value)
            if response.status_code >= 500:
                failures.append((target_field, value, response.status_code))
    assert not failures


def send(client, inputs, url, place, field_name, value):
    if place == "query":
        return client.get(f"{url}?{wire({field_name: value})}")
    if place == "form":
        return send_form(client, inputs, url, {**benign_wire(inputs), field_name: value})
    if place == "json":
        payload = {**inputs.benign, field_name: value}
        return client.generic("POST", url, json.dumps(payload), content_type="application/json")
    return client.post(url, inputs.benign, format="json", headers={field_name: value})


def test_nothing_is_half_written_by_hostile_values(callers, patient):
    """A hostile reply, call or escalation stores none of its rows."""
    message = make_message(patient)
    client = callers["manager"]
    before = MessageTransition.objects.count()
    for name, data in (
        ("messaging:reply", {"body": "a%00b"}),
        ("messaging:call", {"summary": "a%00b"}),
        ("messaging:escalate", {"note": "a%00b"}),
    ):
        url = reverse(name, kwargs={"pk": message.pk})
        response = send_form(client, INPUTS[name], url, data)
        assert response.status_code == 400
    assert not Reply.objects.filter(message=message).exists()
    assert not CallLog.objects.exists()
    assert MessageTransition.objects.count() == before
    assert Message.objects.get(pk=message.pk).status == "new"


# --- The cases the audit found, and their neighbours, one by one --------------------


@pytest.mark.parametrize("chosen", ["²", "3.0", "99999999999999999999", "-3", "%00", "1e3"])
def test_an_odd_template_choice_opens_the_message_with_a_blank_reply(
    client, manager, patient, chosen
):
    message = make_message(patient)
    ReplyTemplate.objects.create(category="clinical", name="Seen", body="Seen soon")
    client.force_login(manager)
    response = client.get(reverse("messaging:detail", args=[message.pk]) + f"?template={chosen}")
    assert response.status_code == 200
    assert response.context["reply_form"]["body"].value() == ""


def test_a_template_of_another_category_is_not_offered_by_the_query_string(
    client, manager, patient
):
    message = make_message(patient)
    billing = ReplyTemplate.objects.create(category="billing", name="Paid", body="Paid, thanks")
    client.force_login(manager)
    url = reverse("messaging:detail", args=[message.pk]) + f"?template={billing.pk}"
    assert client.get(url).context["reply_form"]["body"].value() == ""


@pytest.mark.parametrize("day", ["9999-12-31", "2200-01-01"])
def test_a_closure_beyond_the_date_window_is_refused_naming_the_window(client, manager, day):
    client.force_login(manager)
    response = client.post(reverse("messaging:closure_add"), {"date": day, "name": "Far away"})
    assert response.status_code == 400
    assert "2199-12-31" in response.context["closure_form"].errors["date"][0]
    assert not PracticeClosure.objects.exists()


@pytest.mark.parametrize("month", ["0001-01", "1899-12"])
def test_a_report_month_before_the_window_is_a_400_naming_the_window(client, manager, month):
    client.force_login(manager)
    response = client.get(reverse("messaging:report_response_times"), {"month": month})
    assert response.status_code == 400
    assert "1900-01-01" in response.context["form"].errors["month"][0]


def test_a_survey_comment_with_a_nul_byte_is_refused_and_the_link_still_works(client, patient):
    url = reverse("outreach:survey", kwargs={"token": survey_token(patient)})
    refused = client.post(url, {"score": "4", "comment": "good\x00"})
    assert refused.status_code == 400
    assert not SurveyInvitation.objects.filter(answered_at__isnull=False).exists()
    assert client.post(url, {"score": "4", "comment": "good"}).status_code == 200


def test_an_sms_with_a_nul_byte_in_the_sender_is_refused(callers, patient):
    body = "From=%2B1202%00&Body=STOP"
    url = reverse("outreach:sms_inbound")
    response = callers["twilio"].generic(
        "POST",
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": twilio_signature(url, body)},
    )
    assert response.status_code == 400


def test_taking_the_next_message_from_the_page_is_logged_as_a_change(client, nurse, patient):
    from portal_adoption.models import AccessAction, AccessLogEntry

    message = make_message(patient)
    client.force_login(nurse)
    client.post(reverse("messaging:take_next", args=["nursing"]))
    change = AccessLogEntry.objects.get(action=AccessAction.CHANGE)
    assert (change.object_id, change.patient, change.user) == (str(message.pk), patient, nurse)


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "1", "{", '{"a": ' * 50 + "1" + "}" * 50])
@pytest.mark.parametrize("name", sorted(n for n, i in INPUTS.items() if i.json))
def test_a_json_body_that_is_not_an_object_is_a_400(callers, patient, name, body):
    inputs = INPUTS[name]
    url = url_of(name, inputs, patient)
    response = callers[inputs.who].generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400
