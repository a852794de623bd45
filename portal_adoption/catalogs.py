"""The gettext catalogues: which strings the code marks, and what is shipped for each language.

Conventions (issue 14, "Languages"):

1. The staff interface is shipped in STAFF_LANGUAGES (Spanish, Japanese): every
   string the code marks for translation needs a translation there.
2. The texts patients read carry the "patient" context (patients.languages)
   and are shipped in every patient language. Chinese (Simplified) and
   Vietnamese catalogues hold only those; the Spanish and Japanese ones get
   theirs from `locale/patient-texts/<lang>.po`, laid over the main
   catalogue when it is compiled (a translation in the main catalogue wins).
3. The compiled `.mo` files are committed. `compile_catalogs` writes them with
   polib, so neither the tests nor a deployment need GNU gettext; the guard
   test (tests/portal_adoption/test_translations.py) fails when a `.mo` is out
   of date with its `.po` files, or when a marked string has no translation.

Strings are extracted as `makemessages` does (same directories left out),
without xgettext: Python with babel's extractor and Django's keywords,
templates through Django's own `templatize` first.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polib
from babel.messages.extract import extract_python
from django.conf import settings
from django.utils.translation.template import templatize

from patients.languages import PATIENT_CONTEXT, PATIENT_LANGUAGES

STAFF_LANGUAGES = ("es", "ja")
# makemessages --ignore=.venv --ignore=tests --ignore=bench --ignore=mutants, and what
# it never reads.
IGNORED_DIRECTORIES = {
    ".venv",
    "tests",
    "bench",
    "locale",
    "node_modules",
    "static",
    "var",
    "mutants",
}
TEMPLATE_SUFFIXES = {".html", ".txt"}
# Django's gettext functions, as makemessages passes them to xgettext.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}

Key = tuple[str, str]  # (context, msgid); "" for no context


@dataclass(frozen=True)
class Message:
    context: str
    msgid: str
    plural: str
    where: str  # the first file and line that marks it

    @property
    def key(self) -> Key:
        return (self.context, self.msgid)

    @property
    def for_patients(self) -> bool:
        return self.context == PATIENT_CONTEXT


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def locale_name(language: str) -> str:
    """zh-hans -> zh_Hans, the directory name gettext and Django use."""
    from django.utils.translation import to_locale

    return to_locale(language)


def shipped_languages() -> tuple[str, ...]:
    """Every language with a catalogue: the staff languages and the patient languages."""
    return tuple(dict.fromkeys([*STAFF_LANGUAGES, *(c for c in PATIENT_LANGUAGES if c != "en")]))


def catalogue_path(language: str, suffix: str = "po") -> Path:
    return locale_dir() / locale_name(language) / "LC_MESSAGES" / f"django.{suffix}"


def overlay_path(language: str) -> Path:
    return locale_dir() / "patient-texts" / f"{locale_name(language)}.po"


# --- Extraction ---------------------------------------------------------------------------


def source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in IGNORED_DIRECTORIES or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and (path.suffix == ".py" or path.suffix in TEMPLATE_SUFFIXES):
            yield path


def extract_from_python(source: str, where: str) -> Iterator[Message]:
    options = {"encoding": "utf-8"}
    for lineno, _funcname, messages, _comments in extract_python(
        io.BytesIO(source.encode("utf-8")), KEYWORDS, [], options
    ):
        context = ""
        parts = list(messages) if isinstance(messages, tuple | list) else [messages]
        if _funcname in ("pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"):
            context, parts = parts[0], parts[1:]
        if not parts or not parts[0] or context is None:
            continue  # a variable, not a literal: nothing to translate here
        plural = parts[1] if len(parts) > 1 and parts[1] else ""
        yield Message(context or "", parts[0], plural, f"{where}:{lineno}")


def extract_from_template(source: str, where: str) -> Iterator[Message]:
    # templatize writes each string as a one-line literal amid blanked-out text, for
    # xgettext; Python's tokenizer (babel) also wants no stray indentation.
    code = "\n".join(line.lstrip() for line in templatize(source, origin=where).splitlines())
    yield from extract_from_python(code, where)


def extract(root: Path | None = None, files: Iterable[Path] | None = None) -> dict[Key, Message]:
    """Every string the code marks for translation, by (context, msgid)."""
    root = root or Path(settings.BASE_DIR)
    found: dict[Key, Message] = {}
    for path in files if files is not None else source_files(root):
        source = path.read_text(encoding="utf-8")
        where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        if path.suffix == ".py":
            if "gettext" not in source and "_(" not in source:
                continue
            messages = extract_from_python(source, where)
        else:
            if "trans" not in source:
                continue
            messages = extract_from_template(source, where)
        for message in messages:
            found.setdefault(message.key, message)
    return found


# --- Catalogues -------------------------------------------------------------------------------


def _key(entry: polib.POEntry | polib.MOEntry) -> Key:
    return (entry.msgctxt or "", entry.msgid)


def _translated(entry: polib.POEntry) -> bool:
    if entry.obsolete or "fuzzy" in entry.flags:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def compiled_catalogue(language: str) -> polib.POFile:
    """The main `.po` of `language` with its patient texts laid over: what the `.mo` holds."""
    catalogue = polib.pofile(str(catalogue_path(language)))
    overlay = overlay_path(language)
    if overlay.exists():
        entries = {_key(entry): entry for entry in catalogue}
        for entry in polib.pofile(str(overlay)):
            if not _translated(entry):
                continue
            mine = entries.get(_key(entry))
            if mine is None:
                catalogue.append(entry)
            elif not _translated(mine):
                mine.msgstr, mine.msgstr_plural = entry.msgstr, dict(entry.msgstr_plural)
                mine.flags = [flag for flag in mine.flags if flag != "fuzzy"]
    return catalogue


def translations_of(catalogue: polib.POFile | polib.MOFile) -> dict[Key, tuple[str, ...]]:
    """(context, msgid) -> the translation(s), for the translated entries only."""
    result = {}
    for entry in catalogue:
        if not entry.msgid:
            continue  # the header
        if isinstance(entry, polib.POEntry) and not _translated(entry):
            continue
        if entry.msgid_plural:
            values = tuple(entry.msgstr_plural[n] for n in sorted(entry.msgstr_plural))
        else:
            values = (entry.msgstr,)
        if any(values):
            result[_key(entry)] = values
    return result


def compile_catalogue(language: str) -> Path:
    target = catalogue_path(language, "mo")
    compiled_catalogue(language).save_as_mofile(str(target))
    return target


def stale_catalogues() -> list[str]:
    """The languages whose committed `.mo` does not hold what their `.po` files say."""
    stale = []
    for language in shipped_languages():
        mo = catalogue_path(language, "mo")
        if not mo.exists() or translations_of(polib.mofile(str(mo))) != translations_of(
            compiled_catalogue(language)
        ):
            stale.append(language)
    return stale


def missing_translations(
    messages: dict[Key, Message], language: str, shipped: dict[Key, tuple[str, ...]]
) -> list[Message]:
    """The messages `language` must translate and whose translation `shipped` lacks.

    Staff languages translate everything; the other patient languages only
    the patient texts.
    """
    needed = (
        messages.values()
        if language in STAFF_LANGUAGES
        else [m for m in messages.values() if m.for_patients]
    )
    return sorted((m for m in needed if m.key not in shipped), key=lambda m: m.where)


def shipped_translations(language: str) -> dict[Key, tuple[str, ...]]:
    mo = catalogue_path(language, "mo")
    return translations_of(polib.mofile(str(mo))) if mo.exists() else {}


# --- Keeping the patient catalogues in step with the code -------------------------------------


PATIENT_CATALOGUE_HEADER = {
    "Project-Id-Version": "portal-adoption-manager",
    "PO-Revision-Date": "2026-11-30 00:00+0000",
    "Last-Translator": "Portal Adoption Manager maintainers",
    "Language-Team": "Portal Adoption Manager maintainers",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}
PLURAL_FORMS = {
    "es": "nplurals=2; plural=(n != 1);",
    "ja": "nplurals=1; plural=0;",
    "zh-hans": "nplurals=1; plural=0;",
    "vi": "nplurals=1; plural=0;",
}


def patient_catalogue_path(language: str) -> Path:
    """Where the patient texts of `language` are translated."""
    return overlay_path(language) if language in STAFF_LANGUAGES else catalogue_path(language)


def patient_catalogues_update(messages: dict[Key, Message]) -> dict[str, tuple[int, int]]:
    """Add the new patient texts (untranslated) and drop the gone ones; (added, dropped) each."""
    wanted = {key: m for key, m in messages.items() if m.for_patients}
    counts = {}
    for language in PATIENT_LANGUAGES:
        if language == "en":
            continue
        path = patient_catalogue_path(language)
        if path.exists():
            catalogue = polib.pofile(str(path), wrapwidth=100)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = polib.POFile(wrapwidth=100)
            catalogue.metadata = {
                **PATIENT_CATALOGUE_HEADER,
                "Language": locale_name(language),
                "Plural-Forms": PLURAL_FORMS[language],
            }
        have = {_key(entry) for entry in catalogue}
        # Only patient texts come and go here; anything else (a staff string the
        # catalogue was given for the lead to merge) is left as it is.
        dropped = [
            entry
            for entry in catalogue
            if entry.msgctxt == PATIENT_CONTEXT and _key(entry) not in wanted
        ]
        for entry in dropped:
            catalogue.remove(entry)
        added = 0
        for key, message in sorted(wanted.items(), key=lambda item: item[1].where):
            if key in have:
                continue
            flags = ["python-format"] if "%(" in message.msgid else []
            if "{" in message.msgid and not flags:
                flags = ["python-brace-format"]
            catalogue.append(
                polib.POEntry(
                    msgctxt=message.context,
                    msgid=message.msgid,
                    msgstr="",
                    flags=flags,
                )
            )
            added += 1
        catalogue.save(str(path))
        counts[language] = (added, len(dropped))
    return counts
