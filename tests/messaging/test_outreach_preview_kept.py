"""The nightly workers page counts tonight's preview at most once every few minutes (issue 15).

Counting who each rule would reach reads the whole roster; the page keeps the
count (ids and totals, never names) for settings.OUTREACH_PREVIEW_MINUTES, says
when it counted, counts again at once when a rule's settings, the month's
feature or a nightly run change the answer, and on "Count again".
"""

import datetime as dt
import pickle

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging import outreach
from messaging.models import Communication, OutreachSetting
from messaging.outreach import outreach_run
from messaging.outreach.preview import preview_cache_key
from messaging.views.outreach import PREVIEW_SHOWN
from patients.models import EventType
from portal_adoption.models import AccessLogEntry
from tests.factories import ActivityEventFactory, PatientFactory

FEATURE = "feature_of_month"
RECALL = "annual_exam_recall"


def page() -> str:
    return reverse("messaging:outreach")


def enrolled(count: int, **fields) -> list:
    """Patients enrolled yesterday: every one is due the feature of the month tonight."""
    patients = PatientFactory.create_batch(count, **fields)
    for patient in patients:
        ActivityEventFactory(
            patient=patient,
            type=EventType.PORTAL_ACTIVATED,
            occurred_at=timezone.now() - dt.timedelta(days=1),
        )
    return patients


def tonight(response, rule: str = FEATURE):
    return next(row["tonight"] for row in response.context["rule_rows"] if row["rule"] == rule)


class Counting:
    """Counts the roster-wide counts (outreach_preview); `fail` makes one an error."""

    def __init__(self, monkeypatch):
        self.calls = 0
        self.fail = False
        real = outreach.outreach_preview

        def outreach_preview(**kwargs):
            self.calls += 1
            if self.fail:
                raise AssertionError("the whole roster was counted again")
            return real(**kwargs)

        monkeypatch.setattr(outreach, "outreach_preview", outreach_preview)


@pytest.fixture
def counting(monkeypatch):
    return Counting(monkeypatch)


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def test_a_manager_loading_the_page_again_within_minutes_waits_for_no_count(signed_in, counting):
    enrolled(3)
    with CaptureQueriesContext(connection) as counted:
        first = signed_in.get(page())
    enrolled(2)
    counting.fail = True

    with CaptureQueriesContext(connection) as kept:
        again = signed_in.get(page())

    assert again.status_code == 200
    assert counting.calls == 1
    assert tonight(first) == tonight(again) == 3
    assert len(kept) < len(counted) - 10


def test_switching_a_rule_off_shows_on_the_page_at_once(signed_in, counting):
    enrolled(3)
    assert tonight(signed_in.get(page())) == 3

    saved = signed_in.post(reverse("messaging:outreach_settings"), {"rule": FEATURE})
    assert saved.status_code == 302
    off = signed_in.get(page())

    assert tonight(off) == 0
    assert "Feature of the month · 3" not in off.content.decode()
    # Switched on again behind the settings page's back (the admin, a script): the same.
    OutreachSetting.objects.filter(rule=FEATURE).update(enabled=True)
    assert tonight(signed_in.get(page())) == 3
    assert counting.calls == 3


def test_changing_a_rules_number_shows_on_the_page_at_once(signed_in):
    enrolled(3)
    assert tonight(signed_in.get(page()), RECALL) == 3

    saved = signed_in.post(
        reverse("messaging:outreach_settings"), {"rule": RECALL, "enabled": "on", "per_week": 2}
    )

    assert saved.status_code == 302
    assert tonight(signed_in.get(page()), RECALL) == 2


def test_setting_the_feature_of_the_month_counts_again_at_once(signed_in, counting):
    enrolled(3)
    signed_in.get(page())
    signed_in.get(page())
    assert counting.calls == 1

    chosen = signed_in.post(
        page(), {"feature": "payments", "text_en": "Hi {first_name}, pay online: {portal_url}"}
    )
    after = signed_in.get(page())

    assert chosen.status_code == 302
    assert counting.calls == 2
    assert tonight(after) == 3


def test_last_nights_run_shows_on_the_page_at_once(signed_in):
    enrolled(3)
    assert tonight(signed_in.get(page())) == 3

    outreach_run(synchronous=True)

    assert tonight(signed_in.get(page())) == 0


def test_the_nightly_run_reaches_patients_the_pages_kept_count_does_not_show(signed_in):
    enrolled(3)
    assert tonight(signed_in.get(page())) == 3
    enrolled(2)

    outreach_run(synchronous=True)

    assert Communication.objects.filter(rule=FEATURE).count() == 5


def test_count_again_counts_now_and_says_so(signed_in, counting):
    enrolled(3)
    signed_in.get(page())
    enrolled(2)
    assert tonight(signed_in.get(page())) == 3

    recounted = signed_in.post(reverse("messaging:outreach_recount"), follow=True)

    assert recounted.redirect_chain == [(page(), 302)]
    assert tonight(recounted) == 5
    assert "Tonight&#x27;s preview has been counted again." in recounted.content.decode()
    assert counting.calls == 2


def test_count_again_is_a_managers_post(client, signed_in, nurse):
    assert signed_in.get(reverse("messaging:outreach_recount")).status_code == 405
    client.force_login(nurse)
    assert client.post(reverse("messaging:outreach_recount")).status_code == 403


def test_the_page_says_when_tonights_preview_was_counted(signed_in):
    enrolled(1)
    before = timezone.now()

    first = signed_in.get(page())
    again = signed_in.get(page())

    counted_at = first.context["counted_at"]
    assert before <= counted_at <= timezone.now()
    assert again.context["counted_at"] == counted_at
    shown = timezone.localtime(counted_at).strftime("%H:%M")
    assert f"Counted at {shown}." in again.content.decode()


def test_the_kept_count_holds_patients_ids_and_no_names(signed_in):
    patients = enrolled(3, given_name="Zephyrine", family_name="Marchbanks")

    response = signed_in.get(page())

    assert "Zephyrine Marchbanks" in response.content.decode()
    key = preview_cache_key(today=timezone.localdate(), shown=PREVIEW_SHOWN)
    kept = cache.get(key)
    total, ids = kept["rules"][FEATURE]
    assert (total, sorted(ids)) == (3, sorted(p.pk for p in patients))
    blob = pickle.dumps(kept)
    for text in ("Zephyrine", "Marchbanks", patients[0].email, patients[0].external_id):
        assert text.encode() not in blob


def test_a_renamed_patient_shows_under_the_new_name_before_the_next_count(signed_in, counting):
    (patient,) = enrolled(1, given_name="Rosa")
    signed_in.get(page())
    patient.given_name = "Rosalind"
    patient.save()

    again = signed_in.get(page()).content.decode()

    assert counting.calls == 1
    assert "Rosalind" in again


def test_every_load_logs_the_patients_shown_even_from_the_kept_count(signed_in, counting):
    patients = enrolled(3)

    signed_in.get(page())
    signed_in.get(page())

    assert counting.calls == 1
    entries = AccessLogEntry.objects.filter(resource="outreach_preview")
    assert entries.count() == 2
    for entry in entries:
        listed = set(entry.listed_patients.values_list("patient_id", flat=True))
        assert listed == {p.pk for p in patients}
