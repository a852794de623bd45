"""Rules every request passes through: idle sign-out, the second sign-in step, the
staff member's language.

Idle sign-out (README, "Who uses it"): a session ends after
SESSION_IDLE_MINUTES without *real* activity. A page that refreshes a part of
itself in the background (the urgent-message banner every 30 s) must not keep
a session alive on an unattended screen, so:

1. The session holds the time of the last real request (IDLE_STAMP_KEY).
2. Each request first compares it with now: past the limit, the session is
   flushed, and the request goes on as anonymous (a page is sent to the sign-in
   form, an htmx request turns the whole page into the sign-in form so no
   patient data stays on screen).
3. After the view, a signed-in request stamps the session, unless its view is
   a background poll.

A view is a background poll when it carries the `background_poll` mark: one
decorator line on the view (see `background_poll`). The session is saved only
when it changes (SESSION_SAVE_EVERY_REQUEST is off), so a poll does not push
the stored expiry forward either.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils import translation
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.views import APIView

IDLE_STAMP_KEY = "_last_activity"
# Set in the fresh session after an idle sign-out, so the sign-in form can say why.
IDLE_NOTICE_KEY = "_signed_out_idle"


def background_poll(view):
    """Mark a view as a background poll: its requests never count as activity.

    Function view:        @background_poll above the def.
    Class-based view:     @method_decorator(background_poll, name="dispatch")
    Every template poll (hx-trigger="every ...") must point at a marked view;
    tests/portal_adoption/test_idle_sign_out.py checks all of them.
    """
    view.background_poll = True
    return view


def is_background_poll(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and getattr(match.func, "background_poll", False))


class IdleSignOutMiddleware:
    """Ends a session after SESSION_IDLE_MINUTES without real activity.

    Sits right after SessionMiddleware, before AuthenticationMiddleware reads
    the user from the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _idle_for_too_long(request):
            request.session.flush()
            request.session[IDLE_NOTICE_KEY] = True
            if request.headers.get("HX-Request") == "true":
                return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
        response = self.get_response(request)
        session = request.session
        # A poll never stamps, except to start the clock of a session that has
        # none yet (one signed in before this rule existed).
        if SESSION_KEY in session and (
            not is_background_poll(request) or IDLE_STAMP_KEY not in session
        ):
            session[IDLE_STAMP_KEY] = int(time.time())
        return _whole_page_to_sign_in(request, response)


def _whole_page_to_sign_in(request, response):
    """An htmx request sent to the sign-in form (a session ended some other way:
    signed out in another tab, expired in the database) moves the whole page
    there, instead of drawing the form inside the banner that asked."""
    if request.headers.get("HX-Request") != "true" or response.status_code != 302:
        return response
    if response.url.split("?")[0] != resolve_url(settings.LOGIN_URL):
        return response
    return HttpResponseClientRedirect(response.url)


def _idle_for_too_long(request) -> bool:
    session = request.session
    if SESSION_KEY not in session or IDLE_STAMP_KEY not in session:
        return False
    idle_seconds = time.time() - session[IDLE_STAMP_KEY]
    return idle_seconds >= settings.SESSION_IDLE_MINUTES * 60


# --- The second sign-in step ---------------------------------------------------------


def second_factor_not_required(view):
    """Mark a view a signed-in user may open before the second step: the verify and
    set-up pages and signing out. Pages without a login need no mark."""
    view.second_factor_not_required = True
    return view


class SecondFactorMiddleware:
    """Keeps a user who owes the second step (portal_adoption/two_factor.py) on the
    verify page, or on the set-up page if their role requires one and they have none.

    After LoginRequiredMiddleware and OTPMiddleware. API views are left to
    VerifiedSessionAuthentication, which treats such a session as no session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from portal_adoption.two_factor import second_factor_authenticator, second_factor_pending

        if _open_before_second_step(view_func) or not second_factor_pending(request):
            return None
        has_authenticator = second_factor_authenticator(request.user) is not None
        url = reverse("two_factor_verify" if has_authenticator else "two_factor_setup")
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(url)
        return redirect(url)


def _open_before_second_step(view_func) -> bool:
    if getattr(view_func, "second_factor_not_required", False):
        return True
    if getattr(view_func, "login_required", True) is False:
        return True
    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


# --- The staff member's language --------------------------------------------------------


class StaffLanguageMiddleware:
    """A signed-in member of staff sees the interface in the language they chose.

    After AuthenticationMiddleware. LocaleMiddleware (earlier) has picked the
    browser's language, else the practice's, and keeps it for the signed-out
    pages and for staff who chose none; its response step then states the
    language shown (Content-Language). The choice is read from the user's row
    on each request, so it applies from the next page on, in every session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
