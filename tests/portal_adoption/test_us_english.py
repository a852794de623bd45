"""One spelling: the practice is American, so everything a person reads is US English
("enrollment", not "enrolment"), in pages, messages to patients, exports and docs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BRITISH = {
    "enrolment": "enrollment",
    "enrolments": "enrollments",
    "enrol": "enroll",
    "enrols": "enrolls",
    "normalised": "normalized",
    "recognised": "recognized",
    "honour": "honor",
    "honouring": "honoring",
    "behaviour": "behavior",
    "analysed": "analyzed",
    "cancelled": "canceled",
    "organisation": "organization",
}
# Words joined by underscores (staff_enrolments) count too; "aria-labelledby" is HTML.
WORD = re.compile(r"[A-Za-z]+")
DIRECTORIES = ["portal_adoption", "patients", "enrollment", "messaging", "metrics", "templates"]


def files_people_read():
    yield ROOT / "README.md"
    yield from (ROOT / "bench").glob("*.md")
    for directory in DIRECTORIES:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.suffix in {".py", ".html", ".txt"} and "migrations" not in path.parts:
                yield path


@pytest.mark.reads_the_source
def test_everything_a_person_reads_is_in_us_english():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {word} -> {BRITISH[word.lower()]}"
        for path in files_people_read()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for word in WORD.findall(line)
        if word.lower() in BRITISH
    ]
    assert found == [], "\n".join(found)
