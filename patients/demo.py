"""A believable demo practice: a roster, a year of portal events, staff logins.

`manage.py demo_data` calls demo_load(). Everything before the "Loading"
section is pure and deterministic: the same DemoConfig gives the same rows,
so a demo can be rebuilt exactly and tests can compare digests.

How DemoPractice generates a practice:

1. One random.Random(seed) drives everything in a fixed order: locations,
   providers, the roster patient by patient, then the events patient by
   patient. The RNG state after the roster is kept, so events() replays the
   same stream however often it is called.
2. The window is the M calendar months ending with the month of `until`,
   cut at the end of `until` (the last month may be partial). Months are
   reckoned in the practice's time zone, as the dashboard reckons them.
3. Roster: 2-3 locations and 6-8 providers from fixed lists. Each patient
   gets a language first (en ~80%, es ~15%, a few others), then names from
   that language's lists, an age, contact details on example.org/.com and
   fictional 555-01XX numbers, a location and a provider working there.
   About 92% joined before the window, the rest during it; ~3% leave in it.
4. Each patient's portal story: enrolled before the window (~45% of the old
   panel), enrolled during it (~37% of the rest, spread evenly, so the rate
   climbs steadily to ~65%), or, for new patients, enrolled within weeks of
   joining (~70%); patients of 80 and older half as often (the group the
   equity gaps page flags). An invitation always comes before activation; about 35%
   of enrolled patients have the app. Each enrolled patient has an
   engagement level, which grows a little over the year.
5. Every month a patient is on the panel, needs arrive at monthly rates
   scaled by the share of the month on the panel: appointments, results,
   bills, questions and other calls. An enrolled patient meets a need in the
   portal with a probability set by engagement (each use is a login
   session); otherwise it goes to the phone or the front desk. So phone
   calls fall as enrollment rises.
6. Staff reply to messages within hours during business hours, next
   business morning for evening and weekend messages; most results are
   viewed the same day; survey scores average about 4.5. Every booking
   says what it is for (appointment_type): patients book follow-ups and
   sick visits in the portal more readily than annual exams, which the
   front desk still books by phone, so "annual exams self-scheduled" lags
   self-scheduling as a whole (the playbook's second opportunity). The
   types come from a second RNG of their own, so adding them left every
   other event of a seed as it was. Most bookings end in a visit
   (visit_completed, at the front desk or, for telehealth, "other") on a
   weekday one to three weeks later, when that day has come; the visits come
   from an RNG of their own too. They change no figure. Many invitations in
   the window follow a visit (about a quarter of them by more than the 4 business
   days the CMS electronic-access measure allows), from an RNG of their own.
7. Event ids and object ids are counters prefixed with the seed. Events are
   produced one patient at a time, so a load streams them in batches.
"""

import dataclasses
import math
import random
import secrets
import unicodedata
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate, islice
from typing import NamedTuple

from axes.utils import reset as axes_reset
from django.db import connection, transaction
from django.utils.translation import gettext as _

from patients.models import (
    FIRSTS_COLUMNS,
    ActivityEvent,
    AppointmentType,
    Channel,
    EventSource,
    EventType,
    Location,
    Patient,
    PatientFirsts,
    Provider,
)
from patients.rules import EventData
from patients.services import EVENT_CONTENT_FIELDS, patient_firsts_record
from portal_adoption.dates import practice_zone, previous_month
from portal_adoption.models import User
from portal_adoption.roles import Role
from portal_adoption.services import roles_sync, staff_set_roles
from portal_adoption.two_factor import second_factor_required, two_factor_demo_recovery_code


def _weights(table) -> tuple[list[float], list]:
    return list(accumulate(weight for _value, weight in table)), [v for v, _w in table]


def _pick(rng: random.Random, weighted: tuple[list[float], list]):
    cumulative, values = weighted
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


# --- What the practice looks like ------------------------------------------

LOCATIONS = (
    ("RIV", "Riverside Main Street"),
    ("HIL", "Hillcrest"),
    ("LAK", "Lakeside"),
)
PROVIDERS = (
    ("PRV-PATEL", "Dr. Anil Patel"),
    ("PRV-OKAFOR", "Dr. Grace Okafor"),
    ("PRV-NGUYEN", "Dr. Linh Nguyen"),
    ("PRV-BRENNAN", "Dr. Michael Brennan"),
    ("PRV-RAMIREZ", "Dr. Sofia Ramirez"),
    ("PRV-COHEN", "Dr. Rachel Cohen"),
    ("PRV-WALSH", "Kate Walsh, NP"),
    ("PRV-JOHNSON", "Marcus Johnson, PA"),
)
# The first site is the main one and sees most patients.
LOCATION_WEIGHTS = (55, 28, 17)

# Given names (female, male) and family names per language, space separated.
_NAME_TEXT = {
    "en": (
        "Emma Olivia Ava Sophia Isabella Mia Charlotte Amelia Harper Evelyn Abigail Emily "
        "Elizabeth Sofia Madison Avery Ella Scarlett Grace Chloe Victoria Riley Aria Lily "
        "Hannah Nora Zoey Layla Brooklyn Claire Alice Ruth Linda Barbara Susan Karen Nancy "
        "Patricia Jennifer Deborah Sharon Donna Carol Michelle Laura Jessica Ashley Megan",
        "Liam Noah William James Oliver Benjamin Elijah Lucas Mason Logan Alexander Ethan "
        "Jacob Michael Daniel Henry Jackson Sebastian Aiden Matthew Samuel David Joseph "
        "Carter Owen Wyatt John Jack Luke Gabriel Robert Richard Thomas Charles Christopher "
        "Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Edward Ronald",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
        "Martin Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King "
        "Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips "
        "Campbell Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan "
        "Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox Richardson Wood Watson "
        "Brooks Bennett Gray James Hughes Price Sanders Myers Long Ross Foster O'Brien "
        "Sullivan Russo Kowalski Schmidt Cohen Goldberg Patel Shah Kim Chen Nguyen",
    ),
    "es": (
        "María Sofía Valentina Camila Isabella Lucía Daniela Gabriela Ana Carmen Rosa "
        "Guadalupe Elena Paula Mariana Ximena Adriana Veronica Alejandra Natalia Fernanda "
        "Juana Teresa Beatriz Yolanda Leticia Marisol Luz",
        "José Juan Luis Carlos Miguel Jorge Antonio Francisco Alejandro Diego Javier Manuel "
        "Ricardo Fernando Eduardo Roberto Andrés Pedro Raúl Sergio Mateo Santiago Emiliano "
        "Héctor Rafael Arturo Jesús Ramón",
        "García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres "
        "Flores Rivera Gómez Díaz Cruz Morales Reyes Gutiérrez Ortiz Ramos Castillo Vargas "
        "Mendoza Romero Herrera Medina Aguilar Castro Jiménez Ruiz Álvarez Delgado Vega "
        "Soto Peña Rojas Guerrero Salazar Navarro Fuentes",
    ),
    "vi": (
        "Linh Anh Mai Lan Thu Hoa Ngoc Trang Huong Phuong",
        "Minh Huy Tuan Duc Quang Long Khoa Bao Thanh Nam",
        "Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do",
    ),
    "zh": (
        "Mei Li Xiu Ying Hui Jing Lan Yan Fang Xin",
        "Wei Jun Hao Lei Ming Jian Tao Bo Yong Qiang",
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou",
    ),
    "ar": (
        "Fatima Layla Mariam Noor Amira Yasmin Huda Salma Rania Zainab",
        "Omar Ahmed Youssef Khalid Hassan Ali Karim Samir Tariq Nabil",
        "Haddad Khalil Mansour Saleh Nasser Hamdan Aziz Farah Rahman Qasim",
    ),
    "ht": (
        "Marie Nadège Fabiola Guerline Widline Roseline Esther Mirlande",
        "Jean Pierre Jacques Wilner Fritz Ronald Jonas Reginald",
        "Jean-Baptiste Pierre Joseph Louis Charles Saint-Fleur Desir Francois Etienne",
    ),
    "ru": (
        "Anna Olga Irina Natalia Svetlana Elena Tatiana Yulia",
        "Dmitri Sergei Alexei Ivan Mikhail Andrei Nikolai Pavel",
        "Ivanov Petrov Smirnov Volkov Sokolov Kuznetsov Popov Morozov",
    ),
}
NAMES = {lang: tuple(tuple(names.split()) for names in lists) for lang, lists in _NAME_TEXT.items()}
LANGUAGE_WEIGHTS = _weights(
    (("en", 80), ("es", 15), ("vi", 1.5), ("zh", 1.2), ("ht", 1.0), ("ar", 0.7), ("ru", 0.6))
)
# Many English speakers have a family name from another community.
EN_BORROWED_FAMILY_NAME = 0.15
# Area codes near the default practice (New York); the numbers are 555-01XX.
AREA_CODES = ("212", "347", "516", "631", "646", "718", "914", "917")
# Every patient's mobile number is their own: numbers are dealt from these area
# codes' 555-0100 to 555-0199 (2,600 of them) by an RNG of its own, so the main
# stream is as it was; a roster larger than that leaves the rest without a mobile.
MOBILE_AREA_CODES = (
    *AREA_CODES,
    *("201", "203", "315", "332", "518", "551", "585", "607", "680", "716", "732", "838"),
    *("845", "862", "908", "929", "934", "973"),
)
PHONE_SEED_OFFSET = 1_299_709
EMAIL_DOMAINS = ("example.org", "example.com")
# (share, youngest, oldest): a family practice sees children and adults.
AGE_BANDS = ((20, 0, 17), (28, 18, 39), (32, 40, 64), (20, 65, 94))

# --- How the practice behaves (monthly rates per patient) ------------------

SHARE_JOINED_BEFORE = 0.92
SHARE_LEAVING = 0.03
P_ENROLLED_BEFORE = 0.45
P_ENROLLS_DURING = 0.37
P_NEW_PATIENT_ENROLLS = 0.70
P_INVITED_NOT_ENROLLED = 0.35
# Patients of 80 and older enroll about half as often as the rest (each chance
# above times this): the equity gaps page (issue 16) has a group left behind to
# show, with its remedy, the tech-help session.
OLDEST_AGE = 80
OLDEST_ENROLL_FACTOR = 0.5
# With activations in the app, about 35% of enrolled patients have the app.
P_APP_LATER = 0.2
APP_DELAY_DAYS_MEAN = 45
# (share of enrolled patients, engagement): power users, regulars, rarely.
ENGAGEMENT_TIERS = ((25, 0.80), (40, 0.45), (35, 0.12))
ENGAGEMENT_GROWTH = 0.10

RATE_APPOINTMENT = 0.22
RATE_RESULT = 0.20
RATE_BILL = 0.16
RATE_QUESTION = 0.40
RATE_OTHER_CALL = 0.20
# Other calls fade as the practice moves refills and forms to the portal.
OTHER_CALL_FADE = 0.30
RATE_BROWSE = 0.15
RATE_SURVEY = 0.06
RATE_PRACTICE_MESSAGE = 0.02
P_SELF_BOOK = 0.85
P_PORTAL_PAYMENT = 0.70
P_APP_DEVICE = 0.65
P_SAME_DAY_VIEW = 0.84
P_CONTACT_IF_VIEWED = 0.15
P_CONTACT_IF_NOT_VIEWED = 0.60
P_MESSAGE_WEEKDAY = 0.9
P_MESSAGE_OFFICE_HOURS = 0.9
P_NO_REPLY = 0.02
# Some questions are answered by calling the patient back (a response_by_phone).
P_REPLY_BY_PHONE = 0.06
P_WEEKEND_ON_CALL = 0.6
P_CLEAR_QUEUE_BEFORE_CLOSING = 0.6
# Score 1..5 weights: mean about 4.56.
SURVEY_WEIGHTS = (1, 2, 5, 24, 68)

ACTIVATION_CHANNELS = _weights(
    ((Channel.PORTAL, 60), (Channel.APP, 20), (Channel.FRONT_DESK, 15), (Channel.KIOSK, 5))
)
# New patients are usually signed up while they fill in forms at the desk.
NEW_PATIENT_ACTIVATION_CHANNELS = _weights(
    ((Channel.FRONT_DESK, 50), (Channel.KIOSK, 20), (Channel.PORTAL, 20), (Channel.APP, 10))
)
# "other" stands for a text message: the feed has no SMS channel.
INVITE_CHANNELS = _weights(((Channel.PORTAL, 60), (Channel.OTHER, 25), (Channel.MAIL, 15)))
OFFLINE_PAYMENT_CHANNELS = _weights(
    ((Channel.FRONT_DESK, 50), (Channel.PHONE, 30), (Channel.MAIL, 20))
)
SURVEY_CUMULATIVE = list(accumulate(SURVEY_WEIGHTS))
# What a booking is for, by how it was booked: patients self-schedule follow-ups and sick
# visits readily, annual exams less (they are booked at check-out or by phone).
SELF_BOOKED_TYPES = _weights(
    (
        (AppointmentType.ANNUAL_EXAM, 14),
        (AppointmentType.FOLLOW_UP, 38),
        (AppointmentType.SICK_VISIT, 33),
        (AppointmentType.PROCEDURE, 5),
        (AppointmentType.OTHER, 10),
    )
)
STAFF_BOOKED_TYPES = _weights(
    (
        (AppointmentType.ANNUAL_EXAM, 36),
        (AppointmentType.FOLLOW_UP, 26),
        (AppointmentType.SICK_VISIT, 24),
        (AppointmentType.PROCEDURE, 9),
        (AppointmentType.OTHER, 5),
    )
)
# The appointment types' own RNG: seed + this, so the main stream is untouched.
APPOINTMENT_TYPE_SEED_OFFSET = 7_919
# Visits (visit_completed) come from an RNG of their own: seed + this.
VISIT_SEED_OFFSET = 15_485_863
VISIT_LEAD_DAYS = (7, 21)  # booking to visit, in days
P_VISIT_KEPT = 0.9  # the others were no-shows or canceled
P_VISIT_TELEHEALTH = 0.2
# The visit an invitation followed (the CMS electronic-access measure counts from
# visits): an RNG of its own, seed + this, so every other event of a seed stays.
# Most invitations come within the 4 business days the measure allows, some later.
INVITE_VISIT_SEED_OFFSET = 7_368_787
P_INVITE_AFTER_VISIT = 0.6
INVITE_AFTER_VISIT_BUSINESS_DAYS = _weights(
    [(0, 30), (1, 15), (2, 12), (3, 8), (4, 7), (5, 8), (6, 8), (8, 6), (12, 6)]
)
# ((lowest, highest) cents, share): co-pays, visit balances, larger bills.
AMOUNT_BANDS = _weights((((1500, 6000), 45), ((6000, 25000), 40), ((25000, 90000), 15)))
# Statements (statement_issued) come from a third RNG, so adding them left every
# other draw of a seed as it was: each bill is a statement issued some days
# before its payment, with the payment's object id; some are never paid; most
# say when they are due.
STATEMENT_SEED_OFFSET = 104_729
STATEMENT_LEAD_DAYS = (2, 24)  # statement to payment, in days
STATEMENT_DUE_DAYS = 30
P_STATEMENT_UNPAID = 0.15
P_STATEMENT_DUE_DATE = 0.8


BUSINESS_OPEN = 8 * 60
BUSINESS_CLOSE = 17 * 60
EVENING_END = 22 * 60 + 30


@dataclass(frozen=True)
class DemoConfig:
    patients: int = 2000
    months: int = 12
    seed: int = 42
    until: date | None = None

    def resolved(self) -> "DemoConfig":
        """The same config with `until` defaulting to today at the practice."""
        if self.until is not None:
            return self
        return DemoConfig(self.patients, self.months, self.seed, practice_today())


def practice_today() -> date:
    return datetime.now(practice_zone()).date()


def patient_prefix(seed: int) -> str:
    return f"DEMO-{seed}-"


def event_prefix(seed: int) -> str:
    return f"demo-{seed}-"


@dataclass(frozen=True, slots=True)
class DemoLocation:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class DemoProvider:
    code: str
    npi: str
    name: str
    location_code: str


@dataclass(frozen=True, slots=True)
class DemoPatient:
    external_id: str
    given_name: str
    family_name: str
    birth_date: date
    email: str
    mobile_phone: str
    preferred_language: str
    location_code: str
    provider_code: str
    registered_on: date
    deactivated_on: date | None


class DemoEvent(NamedTuple):
    """One feed event; the fields are EventData's, in its order."""

    event_id: str
    patient_external_id: str
    type: str
    occurred_at: datetime
    channel: str = ""
    object_id: str = ""
    reply_to: str = ""
    amount: Decimal | None = None
    score: int | None = None
    appointment_type: str = ""
    due_date: date | None = None

    def as_event_data(self) -> EventData:
        known = {field.name for field in dataclasses.fields(EventData)}
        return EventData(**{k: v for k, v in self._asdict().items() if k in known})


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    last: date  # cut at `until` for the last month
    days: int  # calendar days, so a partial month gets a partial share
    progress: float  # 0 for the first month of the window, 1 for the last


def window_months(until: date, count: int) -> list[Month]:
    """The `count` calendar months ending with the month of `until`."""
    firsts = []
    year, month = until.year, until.month
    for _i in range(count):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    months = []
    for i, first in enumerate(firsts):
        following = firsts[i + 1] if i + 1 < count else _next_month(first)
        progress = i / (count - 1) if count > 1 else 1.0
        days = (following - first).days
        months.append(Month(first, min(following - timedelta(days=1), until), days, progress))
    return months


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


# --- The roster ---------------------------------------------------------------


class DemoPractice:
    """The generated practice. Build once; events() may be iterated many times."""

    def __init__(self, config: DemoConfig):
        self.config = config.resolved()
        self.zone = practice_zone()
        self.months = window_months(self.config.until, self.config.months)
        self.start = self.months[0].first
        rng = random.Random(self.config.seed)
        self.locations = [DemoLocation(*row) for row in LOCATIONS[: rng.choice((2, 3))]]
        self.providers = self._providers(rng.randint(6, 8))
        self._by_location = {
            loc.code: [p.code for p in self.providers if p.location_code == loc.code]
            for loc in self.locations
        }
        self._location_weights = list(accumulate(LOCATION_WEIGHTS[: len(self.locations)]))
        self.patients = _unique_mobiles(
            [self._patient(rng, i) for i in range(self.config.patients)], self.config.seed
        )
        self._event_state = rng.getstate()

    def events(self) -> Iterator[DemoEvent]:
        """Every event, patient by patient, from the RNG state after the roster."""
        rng = random.Random()
        rng.setstate(self._event_state)
        maker = _EventMaker(self, rng)
        for patient in self.patients:
            yield from maker.patient_events(patient)

    def _providers(self, count: int) -> list[DemoProvider]:
        # Round-robin, so every location has at least one provider.
        return [
            DemoProvider(code, fake_npi(i), name, self.locations[i % len(self.locations)].code)
            for i, (code, name) in enumerate(PROVIDERS[:count])
        ]

    def _patient(self, rng: random.Random, index: int) -> DemoPatient:
        language = _pick(rng, LANGUAGE_WEIGHTS)
        given, family = _name(rng, language)
        birth_date = self._birth_date(rng)
        registered_on = self._registered_on(rng, birth_date)
        location = self.locations[
            bisect(self._location_weights, rng.random() * self._location_weights[-1])
        ].code
        return DemoPatient(
            external_id=f"{patient_prefix(self.config.seed)}{index:06d}",
            given_name=given,
            family_name=family,
            birth_date=birth_date,
            email=_email(rng, given, family, birth_date, self.config.until),
            mobile_phone=_mobile(rng),
            preferred_language=language,
            location_code=location,
            provider_code=rng.choice(self._by_location[location]),
            registered_on=registered_on,
            deactivated_on=self._deactivated_on(rng, registered_on),
        )

    def _birth_date(self, rng: random.Random) -> date:
        band = rng.choices(AGE_BANDS, weights=[b[0] for b in AGE_BANDS])[0]
        age_days = rng.randint(band[1] * 365, band[2] * 365 + 364)
        return self.config.until - timedelta(days=age_days)

    def _registered_on(self, rng: random.Random, birth_date: date) -> date:
        if rng.random() < SHARE_JOINED_BEFORE:
            day = self.start - timedelta(days=rng.randint(30, 12 * 365))
        else:
            day = self.start + timedelta(days=rng.randint(0, (self.config.until - self.start).days))
        # Newborns join the practice after they are born.
        return max(day, birth_date)

    def _deactivated_on(self, rng: random.Random, registered_on: date) -> date | None:
        if rng.random() >= SHARE_LEAVING:
            return None
        earliest = max(registered_on, self.start) + timedelta(days=14)
        if earliest >= self.config.until:
            return None
        return earliest + timedelta(days=rng.randint(0, (self.config.until - earliest).days))


def fake_npi(index: int) -> str:
    """A made-up NPI (1999xxxxx) that still passes the NPI check digit."""
    body = f"1999{index:05d}"
    return body + str(_luhn_check_digit("80840" + body))


def _luhn_check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def _name(rng: random.Random, language: str) -> tuple[str, str]:
    female, male, family = NAMES[language]
    given = rng.choice(female if rng.random() < 0.52 else male)
    if language == "en" and rng.random() < EN_BORROWED_FAMILY_NAME:
        family = NAMES[rng.choice(("es", "vi", "zh", "ar", "ht", "ru"))][2]
    return given, rng.choice(family)


def _email(rng: random.Random, given: str, family: str, birth: date, today: date) -> str:
    # Young children rarely have their own address.
    share = 0.3 if (today - birth).days < 13 * 365 else 0.88
    if rng.random() >= share:
        return ""
    local = f"{_ascii(given)}.{_ascii(family)}{rng.randint(1, 99)}"
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _unique_mobiles(patients: list[DemoPatient], seed: int) -> list[DemoPatient]:
    """The same roster with one number per patient who has a mobile (see MOBILE_AREA_CODES)."""
    numbers = [f"+1{code}55501{n:02d}" for code in MOBILE_AREA_CODES for n in range(100)]
    random.Random(seed + PHONE_SEED_OFFSET).shuffle(numbers)
    dealt = iter(numbers)
    return [
        dataclasses.replace(p, mobile_phone=next(dealt, "")) if p.mobile_phone else p
        for p in patients
    ]


def _mobile(rng: random.Random) -> str:
    if rng.random() >= 0.85:
        return ""
    # 555-0100 to 555-0199 are reserved for fiction in North America.
    return f"+1{rng.choice(AREA_CODES)}55501{rng.randrange(100):02d}"


# --- The events -----------------------------------------------------------------


@dataclass(slots=True)
class _Story:
    """One patient's portal life: when they enrolled, and how much they use it."""

    activated_at: datetime | None = None
    activation_channel: str = ""
    app_at: datetime | None = None
    engagement: float = 0.0
    portal_from: date | None = None  # needs go to the portal from this day
    app_from: date | None = None


class _EventMaker:
    """Writes each patient's events with the practice's shared RNG and counters."""

    def __init__(self, practice: DemoPractice, rng: random.Random):
        self.practice = practice
        self.rng = rng
        self.types_rng = random.Random(practice.config.seed + APPOINTMENT_TYPE_SEED_OFFSET)
        self.visits_rng = random.Random(practice.config.seed + VISIT_SEED_OFFSET)
        self.invite_visits_rng = random.Random(practice.config.seed + INVITE_VISIT_SEED_OFFSET)
        self.zone = practice.zone
        self.until = practice.config.until
        self.prefix = event_prefix(practice.config.seed)
        self._count = 0
        self._objects = dict.fromkeys(("msg", "apt", "res", "pay", "srv", "call", "enc"), 0)
        self._engagement = _weights([(value, share) for share, value in ENGAGEMENT_TIERS])
        self._out: list[DemoEvent] = []
        self._patient_id = ""
        self._last = self.until  # the patient's last day on the panel
        self.bills_rng = random.Random(practice.config.seed + STATEMENT_SEED_OFFSET)

    def patient_events(self, patient: DemoPatient) -> list[DemoEvent]:
        self._out = []
        self._patient_id = patient.external_id
        first = max(patient.registered_on, self.practice.start)
        last = self.until
        if patient.deactivated_on is not None:
            last = min(last, patient.deactivated_on - timedelta(days=1))
        self._last = last
        story = self._story(patient, last)
        self._enrollment(story, patient.registered_on, first, last)
        for month in self.practice.months:
            lo, hi = max(month.first, first), min(month.last, last)
            if lo <= hi:
                self._month(story, month, lo, hi)
        return self._out

    # Enrollment -------------------------------------------------------------

    def _story(self, patient: DemoPatient, last: date) -> _Story:
        rng = self.rng
        start = self.practice.start
        born = patient.birth_date
        age = (
            self.until.year
            - born.year
            - ((self.until.month, self.until.day) < (born.month, born.day))
        )
        chance = OLDEST_ENROLL_FACTOR if age >= OLDEST_AGE else 1.0
        if patient.registered_on < start:
            if rng.random() < P_ENROLLED_BEFORE * chance:
                since = max(patient.registered_on, start - timedelta(days=3 * 365))
                day = self._day(since, start - timedelta(days=1))
            elif rng.random() < P_ENROLLS_DURING * chance:
                day = self._day(start, self.until)
            else:
                return _Story()
            channel = _pick(rng, ACTIVATION_CHANNELS)
        elif rng.random() < P_NEW_PATIENT_ENROLLS * chance:
            day = patient.registered_on + timedelta(days=rng.randint(0, 21))
            channel = _pick(rng, NEW_PATIENT_ACTIVATION_CHANNELS)
        else:
            return _Story()
        story = self._enrolled_story(day, channel, last)
        return story if story.activated_at.date() <= last else _Story()

    def _enrolled_story(self, day: date, channel: str, last: date) -> _Story:
        rng = self.rng
        if channel in (Channel.FRONT_DESK, Channel.KIOSK):
            day = self._next_business_day(day, 1) if day.weekday() >= 5 else day
            at = self._business_time(day)
        else:
            at = self._patient_time(day)
        story = _Story(at, channel, engagement=_pick(rng, self._engagement))
        story.portal_from = day + timedelta(days=1)
        if channel == Channel.APP:
            # Signing up in the app means the app is installed.
            story.app_at, story.app_from = at + timedelta(minutes=1), day + timedelta(days=1)
        elif rng.random() < P_APP_LATER:
            app_day = day + timedelta(days=1 + int(rng.expovariate(1 / APP_DELAY_DAYS_MEAN)))
            if app_day <= last:
                story.app_at = self._patient_time(app_day)
                story.app_from = app_day + timedelta(days=1)
        return story

    def _enrollment(self, story: _Story, registered_on: date, first: date, last: date) -> None:
        rng = self.rng
        at = story.activated_at
        if at is None:
            # Outreach reaches some who never sign up.
            if rng.random() < P_INVITED_NOT_ENROLLED:
                day = self._clinic_day(first, last)
                invited = self._business_time(day)
                self._emit(EventType.PORTAL_INVITED, invited, _invite_channel(rng))
                self._visit_before(invited, first, last)
            return
        invite_day = at.date() - timedelta(days=rng.randint(1, 28))
        if story.activation_channel in (Channel.FRONT_DESK, Channel.KIOSK):
            invited = at - timedelta(minutes=rng.randint(3, 25))
            self._emit(EventType.PORTAL_INVITED, invited, Channel.FRONT_DESK)
        elif invite_day < registered_on:
            # Signed up on the day they joined: invited at registration, minutes before.
            invited = at - timedelta(minutes=rng.randint(10, 90))
            self._emit(EventType.PORTAL_INVITED, invited, Channel.PORTAL)
        else:
            invited = self._business_time(invite_day)
            self._emit(EventType.PORTAL_INVITED, invited, _invite_channel(rng))
        self._visit_before(invited, first, last)
        self._emit(EventType.PORTAL_ACTIVATED, at, story.activation_channel)
        # Activation is the first login: the patient is active that month.
        login_channel = Channel.APP if story.activation_channel == Channel.APP else Channel.PORTAL
        self._emit(EventType.LOGIN, at + timedelta(seconds=30), login_channel)
        if story.app_at is not None:
            self._emit(EventType.APP_INSTALLED, story.app_at, Channel.APP)
            self._emit(EventType.LOGIN, story.app_at + timedelta(seconds=30), Channel.APP)

    # One month on the panel ------------------------------------------------------

    def _month(self, story: _Story, month: Month, lo: date, hi: date) -> None:
        share = ((hi - lo).days + 1) / month.days
        engagement = 0.0
        if story.portal_from is not None:
            engagement = min(1.0, story.engagement + ENGAGEMENT_GROWTH * month.progress)
        for _i in range(self._poisson(RATE_APPOINTMENT * share)):
            self._appointment(story, engagement, lo, hi)
        for _i in range(self._poisson(RATE_RESULT * share)):
            self._result(story, engagement, lo, hi)
        for _i in range(self._poisson(RATE_BILL * share)):
            self._bill(story, engagement, lo, hi)
        for _i in range(self._poisson(RATE_QUESTION * share)):
            self._question(story, engagement, lo, hi)
        fade = 1 - OTHER_CALL_FADE * month.progress
        for _i in range(self._poisson(RATE_OTHER_CALL * fade * (1 - engagement / 2) * share)):
            self._phone_call(self._clinic_day(lo, hi))
        if story.portal_from is not None:
            self._portal_only(story, engagement, share, lo, hi)

    def _portal_only(self, story: _Story, engagement: float, share: float, lo, hi) -> None:
        """Things only enrolled patients do: browse, answer surveys, get notices."""
        rng = self.rng
        lo = max(lo, story.portal_from)
        if lo > hi:
            return
        if rng.random() < RATE_BROWSE * engagement * share:
            day = self._patient_day(lo, hi)
            at, channel = self._session(story, day)
            if rng.random() < 0.7:
                self._emit(EventType.RECORD_VIEWED, at, channel)
        if rng.random() < RATE_SURVEY * share:
            day = self._patient_day(lo, hi)
            at, channel = self._session(story, day)
            score = 1 + bisect(SURVEY_CUMULATIVE, rng.random() * SURVEY_CUMULATIVE[-1])
            self._emit(EventType.SURVEY_RESPONSE, at, channel, self._object("srv"), score=score)
        if rng.random() < RATE_PRACTICE_MESSAGE * share:
            at = self._business_time(self._clinic_day(lo, hi))
            self._emit(EventType.MESSAGE_TO_PATIENT, at, Channel.PORTAL, self._object("msg"))

    def _uses_portal(self, story: _Story, day: date, probability: float) -> bool:
        """Whether an enrolled patient meets this need in the portal rather than by phone."""
        return (
            story.portal_from is not None
            and day >= story.portal_from
            and self.rng.random() < probability
        )

    def _appointment(self, story: _Story, engagement: float, lo: date, hi: date) -> None:
        day = self._patient_day(lo, hi)
        if self._uses_portal(story, day, P_SELF_BOOK * engagement):
            at, channel = self._session(story, day)
            self._booked(at, channel, SELF_BOOKED_TYPES)
            return
        day = self._clinic_day(lo, hi)
        at = self._business_time(day)
        if self.rng.random() < 0.65:
            self._emit(EventType.PHONE_CALL, at, Channel.PHONE)
            channel = Channel.PHONE
        else:
            channel = Channel.FRONT_DESK
        self._booked(at, channel, STAFF_BOOKED_TYPES)

    def _booked(self, at: datetime, channel: str, types) -> None:
        kind = _pick(self.types_rng, types)
        self._emit(
            EventType.APPOINTMENT_BOOKED, at, channel, self._object("apt"), appointment_type=kind
        )
        self._visit(at)

    def _visit(self, booked: datetime) -> None:
        """The visit a booking leads to, on a weekday some days later, if it has come."""
        rng = self.visits_rng
        day = booked.date() + timedelta(days=rng.randint(*VISIT_LEAD_DAYS))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        kept = rng.random() < P_VISIT_KEPT
        telehealth = rng.random() < P_VISIT_TELEHEALTH
        minute = rng.randrange(BUSINESS_OPEN + 30, BUSINESS_CLOSE)
        if not kept or day > self._last:
            return
        channel = Channel.OTHER if telehealth else Channel.FRONT_DESK
        self._emit(EventType.VISIT_COMPLETED, self._at(day, minute), channel, self._object("enc"))

    def _visit_before(self, invited: datetime, first: date, last: date) -> None:
        """Often, the visit the invitation followed: that day or some business days
        before it (within the measure's 4, mostly), when the patient was on the panel."""
        rng = self.invite_visits_rng
        if rng.random() >= P_INVITE_AFTER_VISIT:
            return
        day = invited.date()
        for _i in range(_pick(rng, INVITE_AFTER_VISIT_BUSINESS_DAYS)):
            day -= timedelta(days=1)
            while day.weekday() >= 5:
                day -= timedelta(days=1)
        telehealth = rng.random() < P_VISIT_TELEHEALTH
        at = self._at(day, rng.randrange(BUSINESS_OPEN, BUSINESS_CLOSE))
        # On the panel, and before the invitation (the same day: earlier that day).
        if not first <= day <= last or day.weekday() >= 5 or at >= invited:
            return
        channel = Channel.OTHER if telehealth else Channel.FRONT_DESK
        self._emit(EventType.VISIT_COMPLETED, at, channel, self._object("enc"))

    def _result(self, story: _Story, engagement: float, lo: date, hi: date) -> None:
        rng = self.rng
        released = self._business_time(self._clinic_day(lo, hi))
        result_id = self._object("res")
        self._emit(EventType.RESULT_RELEASED, released, object_id=result_id)
        # Patients open results far more readily than they do anything else.
        viewed = self._uses_portal(story, released.date(), 0.45 + 0.4 * engagement)
        if viewed:
            at = self._view_time(released)
            viewed = at.date() <= self._last
        if viewed:
            at, channel = self._session(story, at.date(), at)
            self._emit(EventType.RESULT_VIEWED, at, channel, result_id)
        if rng.random() < (P_CONTACT_IF_VIEWED if viewed else P_CONTACT_IF_NOT_VIEWED):
            day = self._next_business_day(released.date(), rng.randint(1, 3))
            if day <= self._last:
                channel = Channel.PHONE if rng.random() < 0.8 else Channel.PORTAL
                at = self._business_time(day)
                self._emit(EventType.RESULT_COMMUNICATED, at, channel, result_id)

    def _bill(self, story: _Story, engagement: float, lo: date, hi: date) -> None:
        rng = self.rng
        amount = _amount(rng)
        day = self._patient_day(lo, hi)
        if self._uses_portal(story, day, P_PORTAL_PAYMENT * engagement):
            at, channel = self._session(story, day)
        else:
            at = self._business_time(self._clinic_day(lo, hi))
            channel = _pick(rng, OFFLINE_PAYMENT_CHANNELS)
            if channel == Channel.PHONE:
                self._emit(EventType.PHONE_CALL, at, Channel.PHONE)
        bill_id = self._object("pay")
        self._statement(bill_id, amount, at, lo)
        if self.bills_rng.random() >= P_STATEMENT_UNPAID:
            self._emit(EventType.PAYMENT, at, channel, bill_id, amount=amount)

    def _statement(self, bill_id: str, amount: Decimal, paid_at: datetime, lo: date) -> None:
        """The statement a payment pays: issued early in the morning, days before it."""
        rng = self.bills_rng
        issued = max(lo, paid_at.date() - timedelta(days=rng.randint(*STATEMENT_LEAD_DAYS)))
        due = issued + timedelta(days=STATEMENT_DUE_DAYS)
        self._emit(
            EventType.STATEMENT_ISSUED,
            min(self._at(issued, 6 * 60 + rng.randrange(60)), paid_at - timedelta(minutes=5)),
            Channel.MAIL,
            bill_id,
            amount=amount,
            due_date=due if rng.random() < P_STATEMENT_DUE_DATE else None,
        )

    def _question(self, story: _Story, engagement: float, lo: date, hi: date) -> None:
        rng = self.rng
        # Most questions come in on weekdays in office hours; some in the evening or at weekends.
        day = self._clinic_day(lo, hi) if rng.random() < P_MESSAGE_WEEKDAY else self._day(lo, hi)
        if not self._uses_portal(story, day, engagement):
            self._phone_call(self._clinic_day(lo, hi))
            return
        if rng.random() < P_MESSAGE_OFFICE_HOURS:
            at = self._at(day, rng.randrange(BUSINESS_OPEN, BUSINESS_CLOSE))
        else:
            at = self._at(day, rng.randrange(BUSINESS_CLOSE, EVENING_END))
        at, channel = self._session(story, day, at)
        message_id = self._object("msg")
        self._emit(EventType.MESSAGE_FROM_PATIENT, at, channel, message_id)
        if rng.random() < P_NO_REPLY:
            return
        reply = self._reply_time(at)
        # A reply due after the last day is still waiting in the triage queue.
        if reply.date() > self._last:
            return
        if rng.random() < P_REPLY_BY_PHONE:
            # The nurse called back instead (the patient prefers the phone).
            call_id = self._object("call")
            self._emit(
                EventType.RESPONSE_BY_PHONE, reply, Channel.PHONE, call_id, reply_to=message_id
            )
            return
        self._emit(
            EventType.MESSAGE_TO_PATIENT,
            reply,
            Channel.PORTAL,
            self._object("msg"),
            reply_to=message_id,
        )

    def _phone_call(self, day: date) -> None:
        self._emit(EventType.PHONE_CALL, self._business_time(day), Channel.PHONE)

    def _session(self, story: _Story, day: date, at: datetime | None = None):
        """A login, then the action a minute or two later: (action time, channel)."""
        rng = self.rng
        at = at or self._patient_time(day)
        use_app = story.app_from is not None and day >= story.app_from
        channel = Channel.APP if use_app and rng.random() < P_APP_DEVICE else Channel.PORTAL
        self._emit(EventType.LOGIN, at - timedelta(minutes=rng.randint(1, 4)), channel)
        return at, channel

    # Times -----------------------------------------------------------------

    def _reply_time(self, sent: datetime) -> datetime:
        """Within hours in business hours; otherwise next business morning."""
        rng = self.rng
        minute = sent.hour * 60 + sent.minute
        weekday = sent.weekday() < 5
        if weekday and BUSINESS_OPEN <= minute < BUSINESS_CLOSE:
            reply = sent + timedelta(minutes=round(rng.triangular(10, 300, 40)))
            if reply.date() == sent.date() and reply.hour < 18:
                return reply
            # Staff try to clear the queue before the office closes.
            if rng.random() < P_CLEAR_QUEUE_BEFORE_CLOSING:
                return sent + timedelta(minutes=rng.randint(5, max(6, 18 * 60 - minute)))
        elif not weekday and minute < 18 * 60 and rng.random() < P_WEEKEND_ON_CALL:
            return sent + timedelta(minutes=rng.randint(45, 240))
        morning = self._next_business_day(sent.date(), 1)
        return self._at(morning, rng.randint(BUSINESS_OPEN, BUSINESS_OPEN + 150))

    def _view_time(self, released: datetime) -> datetime:
        rng = self.rng
        minute = released.hour * 60 + released.minute
        if rng.random() < P_SAME_DAY_VIEW:
            return released + timedelta(minutes=rng.randint(5, min(360, EVENING_END - minute)))
        return self._patient_time(released.date() + timedelta(days=rng.randint(1, 4)))

    def _next_business_day(self, day: date, count: int) -> date:
        while count:
            day += timedelta(days=1)
            if day.weekday() < 5:
                count -= 1
        return day

    def _day(self, lo: date, hi: date) -> date:
        return date.fromordinal(self.rng.randint(lo.toordinal(), hi.toordinal()))

    def _clinic_day(self, lo: date, hi: date) -> date:
        """A weekday in [lo, hi] when there is one: clinics are shut at weekends."""
        day = self._day(lo, hi)
        if day.weekday() < 5:
            return day
        friday = day - timedelta(days=day.weekday() - 4)
        if friday >= lo:
            return friday
        monday = day + timedelta(days=7 - day.weekday())
        return monday if monday <= hi else day

    def _patient_day(self, lo: date, hi: date) -> date:
        # Patients use the portal at weekends, but less than on weekdays.
        day = self._day(lo, hi)
        if day.weekday() >= 5 and self.rng.random() < 0.5:
            return self._clinic_day(lo, hi)
        return day

    def _business_time(self, day: date) -> datetime:
        return self._at(day, self.rng.randrange(BUSINESS_OPEN, BUSINESS_CLOSE))

    def _patient_time(self, day: date) -> datetime:
        """Mostly office hours, some evenings, a few early mornings."""
        draw = self.rng.random()
        if draw < 0.05:
            return self._at(day, self.rng.randrange(6 * 60 + 30, BUSINESS_OPEN))
        if draw < 0.78:
            return self._at(day, self.rng.randrange(BUSINESS_OPEN, 18 * 60))
        return self._at(day, self.rng.randrange(18 * 60, EVENING_END))

    def _at(self, day: date, minute: int) -> datetime:
        # Events fall between 06:00 and 23:00, clear of the night-time daylight-saving changes.
        return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.zone)

    # Output ----------------------------------------------------------------

    def _poisson(self, mean: float) -> int:
        # Knuth's method: the monthly means here are small.
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def _object(self, kind: str) -> str:
        self._objects[kind] += 1
        return f"{self.prefix}{kind}-{self._objects[kind]:07d}"

    def _emit(
        self,
        type_,
        at,
        channel="",
        object_id="",
        reply_to="",
        amount=None,
        score=None,
        appointment_type="",
        due_date=None,
    ):
        self._count += 1
        self._out.append(
            DemoEvent(
                f"{self.prefix}{self._count:08d}",
                self._patient_id,
                type_,
                at,
                channel,
                object_id,
                reply_to,
                amount,
                score,
                appointment_type,
                due_date,
            )
        )


def _invite_channel(rng: random.Random) -> str:
    return _pick(rng, INVITE_CHANNELS)


def _amount(rng: random.Random) -> Decimal:
    low, high = _pick(rng, AMOUNT_BANDS)
    cents = rng.randrange(low, high)
    # Most bills are whole dollars; some carry cents.
    if rng.random() < 0.6:
        cents -= cents % 100
    return Decimal(cents).scaleb(-2)


# --- Loading ------------------------------------------------------------------

# Rows built in memory at a time, and rows per INSERT: 2,000 rows keep a
# statement well under PostgreSQL's 65,535 parameters (SQLite's own, lower
# limit is applied by Django).
BATCH_SIZE = 5000
INSERT_BATCH_SIZE = 2000
SIGN_IN_URL = "http://127.0.0.1:8000/"
# Demo logins carry addresses in this domain, which marks them as demo accounts.
DEMO_STAFF_DOMAIN = "demo.example.org"

# (role, username, first name, last name, works at the main location)
DEMO_STAFF = (
    (Role.FRONT_DESK, "frontdesk", "Fatima", "Hassan", True),
    (Role.NURSE, "nurse", "Nora", "Quinn", True),
    (Role.PROVIDER, "provider", "Anil", "Patel", False),
    (Role.BILLING, "billing", "Bill", "Ortiz", False),
    (Role.MANAGER, "manager", "Maria", "Lopez", False),
    (Role.ADMINISTRATOR, "admin", "Ada", "Byrne", False),
)
# Colleagues without a login, so the desk's and the nurses' work is shared as in a
# real practice (enrollment/demo.py, messaging/demo.py credit them): demo accounts
# with an unusable password, never printed.
DEMO_COLLEAGUES = (
    (Role.FRONT_DESK, "jreed", "Jamal", "Reed"),
    (Role.FRONT_DESK, "pshah", "Priya", "Shah"),
    (Role.FRONT_DESK, "lmoreno", "Lucía", "Moreno"),
    (Role.NURSE, "tkim", "Tom", "Kim"),
)


class DemoRefused(Exception):
    """The database holds patients the demo must not be mixed with."""


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    password: str
    # The second step for roles that must use one (managers, administrators).
    recovery_code: str = ""


# --- What the services write instead of the generator ----------------------------
#
# The activity log is append-only, and the dashboard counts what is in it, so the
# events that the application's own services write are never bulk-generated too
# (no double counting): _write_events keeps them out of the bulk insert and hands
# them over as a DemoReplay. enrollment/demo.py replays each desk sign-up as a
# clerk's checklist (its services write portal_invited, portal_activated and, if
# the clerk helped, app_installed), and messaging/demo.py each recent portal
# message through message_receive and its answer through message_reply or
# message_log_call, at the generated moments. The rest of the year stays as
# generated: sign-ups before the window, and messages before the queue's window
# (queue_since), which the response-times report shows as "not through the queue".

REPLAY_SEED_OFFSET = 86_028_121
P_APP_AT_DESK = 0.35
# Days of portal messages that go through the queue, at 2,000 patients: the
# months a manager opens first in the response-times report (the month of
# `until` and the QUEUE_FULL_MONTHS before it), from QUEUE_LEAD_DAYS before
# them so that their first responses answer messages the queue held; fewer
# days for a larger roster, so the replay stays about as long (QUEUE_PATIENTS
# patients' worth).
QUEUE_PATIENTS = 2000
QUEUE_FULL_MONTHS = 3
QUEUE_LEAD_DAYS = 7


@dataclass(frozen=True, slots=True)
class DeskSignup:
    """A sign-up at the front desk: step 3 (the first login) at `at`."""

    patient_external_id: str
    at: datetime
    app_at_desk: bool


@dataclass(frozen=True, slots=True)
class PortalMessage:
    """A patient's portal message and its first response, if any ("" / None)."""

    message_id: str
    patient_external_id: str
    sent_at: datetime
    response_type: str
    response_at: datetime | None


@dataclass
class DemoReplay:
    desk_signups: list[DeskSignup] = dataclasses.field(default_factory=list)
    messages: list[PortalMessage] = dataclasses.field(default_factory=list)


def queue_since(practice: "DemoPractice") -> datetime:
    """From when the demo's portal messages go through the queue (see QUEUE_PATIENTS)."""
    until = practice.config.until
    first = date(until.year, until.month, 1)
    for _month in range(QUEUE_FULL_MONTHS):
        first = previous_month(first)
    first = max(first - timedelta(days=QUEUE_LEAD_DAYS), practice.start)
    days = (until - first).days + 1
    days = max(2, round(days * min(1.0, QUEUE_PATIENTS / max(1, practice.config.patients))))
    return datetime.combine(until - timedelta(days=days - 1), datetime.min.time(), practice.zone)


class _Splitter:
    """Takes out of each patient's generated events those the services will write."""

    def __init__(self, practice: DemoPractice):
        self.replay = DemoReplay()
        self.window_start = datetime.combine(practice.start, datetime.min.time(), practice.zone)
        self.queue_since = queue_since(practice)
        self.rng = random.Random(practice.config.seed + REPLAY_SEED_OFFSET)

    def events(self, events: Iterator[DemoEvent]) -> Iterator[DemoEvent]:
        patient, batch = None, []
        for event in events:
            if event.patient_external_id != patient and batch:
                yield from self._split(batch)
                batch = []
            patient = event.patient_external_id
            batch.append(event)
        if batch:
            yield from self._split(batch)

    def _split(self, events: list[DemoEvent]) -> list[DemoEvent]:
        dropped: set[str] = set()
        signup = next(
            (
                e
                for e in events
                if e.type == EventType.PORTAL_ACTIVATED
                and e.channel == Channel.FRONT_DESK
                and e.occurred_at >= self.window_start
            ),
            None,
        )
        if signup is not None:
            app = self.rng.random() < P_APP_AT_DESK
            for e in events:
                desk_invite = e.type == EventType.PORTAL_INVITED and e.channel == Channel.FRONT_DESK
                if e is signup or desk_invite or (app and e.type == EventType.APP_INSTALLED):
                    dropped.add(e.event_id)
            self.replay.desk_signups.append(
                DeskSignup(e.patient_external_id, signup.occurred_at, app)
            )
        asked = {
            e.object_id: e
            for e in events
            if e.type == EventType.MESSAGE_FROM_PATIENT and e.occurred_at >= self.queue_since
        }
        answers: dict[str, DemoEvent] = {}
        for e in events:
            if e.reply_to in asked and e.type != EventType.MESSAGE_FROM_PATIENT:
                answers.setdefault(e.reply_to, e)
                dropped.add(e.event_id)
        for object_id, e in asked.items():
            dropped.add(e.event_id)
            answer = answers.get(object_id)
            self.replay.messages.append(
                PortalMessage(
                    object_id,
                    e.patient_external_id,
                    e.occurred_at,
                    answer.type if answer else "",
                    answer.occurred_at if answer else None,
                )
            )
        return [e for e in events if e.event_id not in dropped]


@dataclass(frozen=True)
class DemoOutcome:
    locations: int
    providers: int
    patients: int
    events: int
    created: bool
    logins: list[DemoLogin]
    replay: DemoReplay = dataclasses.field(default_factory=DemoReplay)


def demo_load(config: DemoConfig, *, passwords: bool = True) -> DemoOutcome:
    """Load the demo practice once per seed, and reset the demo staff logins.

    Runs in one transaction: a refusal or a failure leaves nothing behind.
    `passwords`: see demo_staff_ensure.
    """
    config = config.resolved()
    with transaction.atomic():
        _refuse_foreign_roster(config.seed)
        prefix = patient_prefix(config.seed)
        replay = DemoReplay()
        if Patient.objects.filter(external_id__startswith=prefix).exists():
            counts = _stored_counts(config.seed)
            created = False
        else:
            counts = _write_practice(DemoPractice(config), replay)
            _analyze_the_load()
            created = True
        logins = demo_staff_ensure(passwords=passwords)
    return DemoOutcome(*counts, created=created, logins=logins, replay=replay)


def _analyze_the_load() -> None:
    """PostgreSQL statistics for the rows just written, before the services read them.

    The desk and message histories query the load in the same transaction,
    where autovacuum cannot see it: without statistics the planner takes the
    tables for empty, and at 100,000 patients one such query ran for minutes.
    ANALYZE in a transaction samples the transaction's own rows.
    """
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Patient, ActivityEvent, PatientFirsts)]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")


def _refuse_foreign_roster(seed: int) -> None:
    foreign = Patient.objects.exclude(external_id__startswith="DEMO-").count()
    if foreign:
        # No MRN in the message: it would put a real patient's id in a terminal.
        raise DemoRefused(
            _(
                "The roster holds %(count)d patients that are not demo patients. Demo data "
                "is never mixed with a real practice's data: run demo_data on an empty "
                "database."
            )
            % {"count": foreign}
        )
    other = (
        Patient.objects.filter(external_id__startswith="DEMO-")
        .exclude(external_id__startswith=patient_prefix(seed))
        .values_list("external_id", flat=True)
        .first()
    )
    if other:
        other_seed = other.split("-")[1]
        raise DemoRefused(
            _(
                "The roster holds demo patients from seed %(other)s. Run demo_data with "
                "--seed %(other)s, or on an empty database."
            )
            % {"other": other_seed}
        )


def _stored_counts(seed: int) -> tuple[int, int, int, int]:
    return (
        Location.objects.filter(code__in=[code for code, _name in LOCATIONS]).count(),
        Provider.objects.filter(code__in=[code for code, _name in PROVIDERS]).count(),
        Patient.objects.filter(external_id__startswith=patient_prefix(seed)).count(),
        ActivityEvent.objects.filter(patient__external_id__startswith=patient_prefix(seed)).count(),
    )


def _write_practice(practice: DemoPractice, replay: DemoReplay) -> tuple[int, int, int, int]:
    locations = {
        loc.code: Location.objects.get_or_create(code=loc.code, defaults={"name": loc.name})[0]
        for loc in practice.locations
    }
    providers = {
        prov.code: Provider.objects.get_or_create(
            code=prov.code,
            defaults={
                "npi": prov.npi,
                "name": prov.name,
                "location": locations[prov.location_code],
            },
        )[0]
        for prov in practice.providers
    }
    patient_ids = _write_patients(practice, locations, providers)
    splitter = _Splitter(practice)
    events = _write_events(practice, patient_ids, splitter)
    replay.desk_signups, replay.messages = splitter.replay.desk_signups, splitter.replay.messages
    return len(locations), len(providers), len(patient_ids), events


def _write_patients(practice: DemoPractice, locations: dict, providers: dict) -> dict[str, int]:
    rows = (
        Patient(
            external_id=p.external_id,
            given_name=p.given_name,
            family_name=p.family_name,
            birth_date=p.birth_date,
            email=p.email,
            mobile_phone=p.mobile_phone,
            preferred_language=p.preferred_language,
            location=locations[p.location_code],
            primary_provider=providers[p.provider_code],
            registered_on=p.registered_on,
            deactivated_on=p.deactivated_on,
        )
        for p in practice.patients
    )
    for batch in _batches(rows):
        Patient.objects.bulk_create(batch, batch_size=INSERT_BATCH_SIZE)
    # One query for every id, whether or not the backend returns ids from bulk_create.
    prefix = patient_prefix(practice.config.seed)
    return dict(
        Patient.objects.filter(external_id__startswith=prefix).values_list("external_id", "pk")
    )


EVENT_COLUMNS = ("event_id", "patient", *EVENT_CONTENT_FIELDS, "source", "recorded_at")


def _write_events(practice: DemoPractice, patient_ids: dict[str, int], splitter) -> int:
    """The generated events, as one INSERT executed for many rows (executemany).

    Model instances and bulk_create cost about 80 µs an event on SQLite
    (Django writes a placeholder and prepares a value through its field for
    each of the 13 columns of each row, 999 parameters a statement); the
    rows here are tuples whose values the backend's own adapters convert,
    the same conversion bulk_create ends in, so the stored rows are the same.
    SQLite runs executemany in C: a fifth of the time. On PostgreSQL it costs
    half the CPU of bulk_create's UNNEST and about a second more of the
    server's time for the year.
    """
    recorded_at = datetime.now(practice.zone)
    rows = (
        (
            e.event_id,
            patient_ids[e.patient_external_id],
            e.type,
            e.occurred_at,
            e.channel,
            e.object_id,
            e.reply_to,
            e.appointment_type,
            e.amount,
            e.score,
            e.due_date,
            EventSource.DEMO,
            recorded_at,
        )
        for e in splitter.events(practice.events())
    )
    # The patients' firsts, from the rows as they go by (a sliver of them).
    firsts = []

    def noting_firsts(rows):
        for row in rows:
            if row[2] in FIRSTS_COLUMNS:
                firsts.append(row[1:4])
            yield row

    written = _insert_rows(ActivityEvent, EVENT_COLUMNS, noting_firsts(rows))
    patient_firsts_record(events=firsts)
    return written


def _insert_rows(model, names: tuple[str, ...], rows: Iterator[tuple]) -> int:
    """INSERT the rows (tuples of field values, in `names` order); returns how many.

    Only the value types the demo's event rows hold are converted: datetimes,
    dates and decimals through the connection's adapters (SQLite stores an
    aware datetime as naive UTC text), the rest as they are.
    """
    fields = [model._meta.get_field(name) for name in names]
    ops = connection.ops
    adapters = {
        "DateTimeField": ops.adapt_datetimefield_value,
        "DateField": ops.adapt_datefield_value,
        "DecimalField": ops.adapt_decimalfield_value,
    }
    converters = [
        (i, adapters[f.get_internal_type()])
        for i, f in enumerate(fields)
        if f.get_internal_type() in adapters
    ]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        ops.quote_name(model._meta.db_table),
        ", ".join(ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    written = 0
    with connection.cursor() as cursor:
        while batch := list(islice(rows, INSERT_BATCH_SIZE)):
            params = []
            for row in batch:
                row = list(row)
                for i, convert in converters:
                    if row[i] is not None:
                        row[i] = convert(row[i])
                params.append(row)
            cursor.executemany(sql, params)
            written += len(batch)
    return written


def _batches(rows: Iterator) -> Iterator[list]:
    # Keeps memory flat: only one batch of model instances exists at a time.
    while batch := list(islice(rows, BATCH_SIZE)):
        yield batch


def demo_staff_ensure(*, passwords: bool = True) -> list[DemoLogin]:
    """One login per role, each with a fresh password (printed once, never stored).

    A demo login is recognized by its demo address; an account of the same
    name that belongs to a real person is never taken over.

    Without `passwords` (demo_data --no-logins, when demo_logins prints them
    later) the logins are reset to no usable password and no recovery code:
    a password nobody is shown is no better, and hashing six costs a second.
    """
    # The groups normally come from migrate; rebuilding them is cheap and idempotent.
    roles_sync()
    main_location = Location.objects.filter(code=LOCATIONS[0][0]).first()
    _refuse_real_accounts()
    logins = []
    for role, username, first_name, last_name, at_location in DEMO_STAFF:
        user, _created = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first_name, last_name
        user.email = demo_email(username)
        user.location = main_location if at_location else None
        user.is_active = True
        password = secrets.token_urlsafe(12) if passwords else ""
        if passwords:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        staff_set_roles(user=user, roles=[role])
        # A lockout from earlier failed attempts would outlive the new password.
        axes_reset(username=username)
        logins.append(DemoLogin(role, username, password, _second_step(user) if passwords else ""))
    _colleagues_ensure(main_location)
    _link_demo_provider()
    return logins


def _colleagues_ensure(main_location: Location | None) -> None:
    for role, username, first_name, last_name in DEMO_COLLEAGUES:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": demo_email(username),
                "location": main_location,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            staff_set_roles(user=user, roles=[role])


def _second_step(user: User) -> str:
    if not second_factor_required(user):
        return ""
    return two_factor_demo_recovery_code(user=user)


def _link_demo_provider() -> None:
    """The demo provider's login is Dr. Patel's, so escalations reach a task list."""
    Provider.objects.filter(code=PROVIDERS[0][0], user__isnull=True).update(
        user=User.objects.filter(username="provider").first()
    )


def demo_email(username: str) -> str:
    return f"{username}@{DEMO_STAFF_DOMAIN}"


def _refuse_real_accounts() -> None:
    usernames = [username for _role, username, *_rest in (*DEMO_STAFF, *DEMO_COLLEAGUES)]
    taken = (
        User.objects.filter(username__in=usernames)
        .exclude(email__endswith=f"@{DEMO_STAFF_DOMAIN}")
        .values_list("username", flat=True)
    )
    if taken:
        raise DemoRefused(
            _(
                "These accounts belong to real staff, not to the demo: %(names)s. Demo data "
                "is never mixed with a real practice's data: run demo_data on an empty "
                "database."
            )
            % {"names": ", ".join(sorted(taken))}
        )
