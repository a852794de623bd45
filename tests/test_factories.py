"""The staff personas' names never contain a patient's name or a word a test looks for.

A page shows the signed-in user's name; a test that checks a patient's name is
absent from that page must not fail because the manager happens to share it
(Faker once named the manager "Maria Delgado" next to the patient Rosa Delgado).
"""

import re
from pathlib import Path

from faker.providers.person.en_US import Provider as FakerNames

from tests.factories import STAFF_FAMILY_NAMES, STAFF_GIVEN_NAMES

STAFF_NAMES = [name.lower() for name in STAFF_GIVEN_NAMES + STAFF_FAMILY_NAMES]
TESTS = Path(__file__).resolve().parent


def test_no_name_faker_can_give_a_patient_is_part_of_a_staff_personas_name():
    patient_names = set(FakerNames.first_names) | set(FakerNames.last_names)

    inside = {(n, s) for n in patient_names for s in STAFF_NAMES if n.lower() in s}

    assert inside == set()


def test_no_capitalized_word_a_test_writes_is_part_of_a_staff_personas_name():
    words = set()
    for source in TESTS.rglob("*.py"):
        if source.name != "factories.py":
            words |= set(re.findall(r"\b[A-Z][a-z]{3,}\b", source.read_text()))

    inside = {(w, s) for w in words for s in STAFF_NAMES if w.lower() in s}

    assert inside == set()
