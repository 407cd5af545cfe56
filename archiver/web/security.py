"""The web view's defences: response headers, the generic error page, operator sessions, CSRF.

Read-only by default. Operator mode (pausing, resuming and running schedules) exists only when
`archiver web` was given an operator token, and only for a browser that logged in with it:

- `POST /login` with the token (compared in constant time; five wrong tries in a minute lock
  the login for the rest of that minute) sets a session cookie `archiver_operator`:
  `<random id>.<expiry>.<HMAC-SHA256 of both>`, signed with a key drawn at random when the
  process starts (`Operator`), `HttpOnly`, `SameSite=Strict`, valid 8 hours. Nothing about
  the token is in the cookie, and restarting the server logs everybody out.
- Every operator form carries a CSRF token bound to that session: the HMAC of the session's id
  under the same key (`Operator.csrf_token`). A POST whose token does not match its session
  cookie is refused (403), as is any POST whose `Origin` header names another site.
- Without a token every POST answers 403.

Every response carries `SECURITY_HEADERS` and a Content-Security-Policy (`PAGE_CSP`: scripts
and styles only from the server's own static files, no inline script, no framing); a route may
set a stricter policy of its own (archived pages do). An exception never reaches the browser:
`GuardedApp` logs it with secrets scrubbed and answers with a page that says nothing about it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archiver.config import scrub_secrets

logger = logging.getLogger("archiver.web")

#: The policy of the web view's own pages: its static files, no inline script, no framing.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
SESSION_COOKIE = "archiver_operator"
SESSION_SECONDS = 8 * 3600
#: Wrong tokens allowed per `LOGIN_WINDOW` seconds before the login refuses every try.
LOGIN_TRIES = 5
LOGIN_WINDOW = 60.0
#: Shortest operator token `archiver web` accepts.
MIN_TOKEN_LENGTH = 16

ERROR_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title>'
    "</head><body><h1>Something went wrong</h1><p>The page could not be shown. The error was"
    ' logged on the server.</p><p><a href="/">Back to the releases</a></p></body></html>'
)


def _with_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    wanted = {"Content-Security-Policy": PAGE_CSP, **SECURITY_HEADERS}
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in wanted.items()
        if name.lower().encode("latin-1") not in present
    ]
    return [*headers, *extra]


class GuardedApp:
    """ASGI middleware: security headers on every response, and a generic 500 page instead of
    any exception (logged without secrets: `known_secrets` are scrubbed besides URL passwords).
    """

    def __init__(self, app: ASGIApp, known_secrets: Iterable[str | None] = ()) -> None:
        self.app = app
        self.known_secrets = [secret for secret in known_secrets if secret]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": _with_headers(list(message.get("headers", [])))}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:  # the one place that turns any failure into a plain page
            detail = scrub_secrets(f"{type(error).__name__}: {error}", self.known_secrets)
            logger.error("%s %s failed: %s", scope.get("method"), scope.get("path"), detail[:500])
            if started:
                return  # the response is under way: all that can be done is to stop it
            body = ERROR_PAGE.encode("utf-8")
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": _with_headers(
                        [
                            (b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"),
                        ]
                    ),
                }
            )
            await send({"type": "http.response.body", "body": body})


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (`Origin`), or from an
    opaque origin (`null`); True when it says nothing (then the CSRF token decides)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc.lower() == host.lower()


class Operator:
    """Operator sessions and CSRF tokens of one server process (see the module docstring)."""

    def __init__(
        self,
        token: str | None,
        *,
        lifetime: int = SESSION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token or None
        self._key = secrets.token_bytes(32)
        self.lifetime = lifetime
        self._clock = clock
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether operator mode exists at all (a token was configured)."""
        return self._token is not None

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def locked_out(self) -> bool:
        """Whether too many wrong tokens were tried lately."""
        now = time.monotonic()
        with self._lock:
            while self._failures and now - self._failures[0] > LOGIN_WINDOW:
                self._failures.popleft()
            return len(self._failures) >= LOGIN_TRIES

    def check_token(self, given: str) -> bool:
        """Whether `given` is the operator token (constant time); a wrong one is counted."""
        if self._token is None:
            return False
        good = hmac.compare_digest(given.encode("utf-8"), self._token.encode("utf-8"))
        if not good:
            with self._lock:
                self._failures.append(time.monotonic())
        return good

    def new_session(self) -> str:
        """A fresh signed session cookie value."""
        payload = f"{secrets.token_urlsafe(18)}.{int(self._clock()) + self.lifetime}"
        return f"{payload}.{self._sign(payload)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired cookie value, else None."""
        if not cookie or self._token is None:
            return None
        payload, _, signature = cookie.rpartition(".")
        session, _, expires = payload.partition(".")
        if not session or not expires.isdigit():
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        if int(expires) < self._clock():
            return None
        return session

    def csrf_token(self, session: str) -> str:
        """The CSRF token of a session (forms carry it in the `csrf` field)."""
        return self._sign(f"csrf:{session}")

    def check_csrf(self, session: str | None, given: str | None) -> bool:
        """Whether `given` is the CSRF token of `session`."""
        if session is None or not given:
            return False
        return hmac.compare_digest(given, self.csrf_token(session))
