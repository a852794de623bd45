"""The one way JSON from outside is read: the API's parser and the web uploads.

Python's json module follows nesting as deep as the interpreter's recursion
limit, then raises RecursionError, which no caller expects; a value that
parses but is nested hundreds deep can still break whatever walks it later
(printing it, storing it). Nothing the application takes needs more than a
few levels (a FHIR Bundle uses about a dozen), so anything nested deeper than
MAX_JSON_DEPTH is refused as bad input, with a reason, wherever it arrives.
"""

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 64


class JsonInvalid(ValueError):
    """The text is not JSON the application takes; the message says why."""


def json_loads(data: str | bytes) -> Any:
    """Parse JSON (text, or bytes in UTF-8/16/32), refusing deep nesting and NaN/Infinity."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as error:
        raise JsonInvalid(
            _("This is not valid JSON at line %(line)d, column %(column)d (%(problem)s).")
            % {"line": error.lineno, "column": error.colno, "problem": error.msg}
        ) from None
    except ValueError as error:  # not UTF-8, a number too long to read
        raise JsonInvalid(_("This is not valid JSON (%(problem)s).") % {"problem": error}) from None
    if _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep()
    return value


def _refuse_constant(name: str):
    raise ValueError(_("%(name)s is not a JSON number") % {"name": name})


def _too_deep() -> JsonInvalid:
    return JsonInvalid(
        _(
            "The JSON is nested more than %(limit)d levels deep; nothing the application "
            "takes needs that many. Send the data less deeply nested."
        )
        % {"limit": MAX_JSON_DEPTH}
    )


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest deeper than `limit`: without recursion, on purpose."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, reading with json_loads: every API view uses this one
    (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]); a view with a media type of its
    own subclasses it."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            return json_loads(text)
        except UnicodeDecodeError:
            raise ParseError(
                _("The body is not %(encoding)s text.") % {"encoding": encoding}
            ) from None
        except JsonInvalid as error:
            raise ParseError(str(error)) from None
