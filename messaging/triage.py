"""Reading a message: its category by the managers' rules, and red-flag symptoms.

Matching is on whole words and phrases, ignoring case and accents, so
"Chest Pain" and "chest  pain" match "chest pain", "convulsión" matches
"convulsion", and "pain" does not match "painting".

Negation ("no chest pain") is NOT treated as the absence of the symptom: a
patient writing "no chest pain but my arm is numb" still needs a nurse to
look now. A false alarm costs a nurse a minute; a missed one can cost a
life, so any mention of a red flag marks the message urgent.
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def normalized(text: str) -> str:
    """Lower case, accents removed, every run of non-letters a single space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("'", "").replace("\u2019", "")
    return " " + re.sub(r"[^\w]+", " ", plain).strip() + " "


def phrase_in(phrase: str, text: str) -> bool:
    """Whether the phrase occurs as whole words in text (both already normalized)."""
    return f" {phrase.strip()} " in text


@dataclass(frozen=True)
class Classification:
    category: str
    by_rule: bool
    matches: dict[str, list[str]]


def classify(text: str, rules: Iterable[tuple[str, str]], default_category: str) -> Classification:
    """The category whose phrases match most often; a tie or no match gets the default."""
    body = normalized(text)
    matches: dict[str, list[str]] = {}
    for category, phrase in rules:
        if phrase_in(normalized(phrase), body):
            matches.setdefault(category, []).append(phrase)
    counts = Counter({category: len(found) for category, found in matches.items()})
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return Classification(default_category, False, matches)
    return Classification(ranked[0][0], True, matches)


def red_flags_in(text: str, flags: Iterable[str]) -> list[str]:
    body = normalized(text)
    return sorted({flag for flag in flags if phrase_in(normalized(flag), body)})
