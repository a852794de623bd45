"""Filters for the project's logging configuration (settings.LOGGING)."""

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A 403 is an answer, not a failure: keep its one line, drop the traceback.

    Django logs every PermissionDenied on `django.request` with the exception
    attached, so each refusal printed a full traceback and buried real errors.
    The refusal itself is in the access log (portal_adoption.views.permission_denied).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
