"""API plumbing shared by every app: the base view and the error handler."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from portal_adoption.services import access_log_record_denied, access_log_record_throttled
from portal_adoption.throttling import API_KEY_FAILURES


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class ApiView(APIView):
    """Base of every API view.

    The API authenticates on its own (session for staff, tokens for
    integrations) and answers 401/403 in JSON; DRF marks its views so that
    the page middleware sending anonymous users to the login form leaves
    them alone.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        _refuse_oversized_body(request)


def _refuse_oversized_body(request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise RequestTooLarge(
            _("The request is larger than %(limit)d MB: send the data in smaller parts.")
            % {"limit": settings.FEED_MAX_REQUEST_MB}
        )


AUTHENTICATION_REFUSED = exceptions.NotAuthenticated | exceptions.AuthenticationFailed


def exception_handler(exc, context):
    """DRF's handler, plus an access-log row for every refused request.

    Refused authentication is counted per address (portal_adoption/throttling.py):
    past the limit the caller gets 429, and only the first 429 of a window is
    logged, so a flood of bad keys cannot fill the access log.
    """
    request = context.get("request")
    if request is not None and isinstance(exc, AUTHENTICATION_REFUSED):
        failures = API_KEY_FAILURES.record(request._request)
        if failures.over:
            if failures.first_over:
                access_log_record_throttled(request=request._request, kind="api")
            exc = exceptions.Throttled(
                wait=failures.retry_after,
                detail=_("Too many refused requests from your address."),
            )
        else:
            _log_refusal(request)
    elif request is not None and isinstance(exc, exceptions.PermissionDenied):
        _log_refusal(request)
    return drf_exception_handler(exc, context)


def _log_refusal(request) -> None:
    # request.user would authenticate again (and raise again for a bad
    # key); _user is whoever authentication already found, if anyone.
    user = getattr(request, "_user", None)
    access_log_record_denied(request=request._request, user=user)
