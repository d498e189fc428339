"""Who may act, and that the request really comes from the dashboard's own form.

Logging in with the admin token sets a session cookie ``nonce.mac`` (HMAC-SHA256 of the nonce
under the token; HttpOnly, SameSite=Strict), so the token is typed once and never stored in
the browser. Every action form carries a CSRF token derived from the same nonce and key, and
a request whose ``Origin`` (or ``Referer``) names another site is refused: another page can
neither read the token nor pass the origin check. Changing the admin token ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

SESSION_COOKIE = "lifelong_ui_session"


def _mac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_session(admin_token: str) -> str:
    """A fresh session cookie value for a caller who gave the admin token."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(admin_token, 'session:' + nonce)}"


def session_nonce(request: Request, admin_token: str | None) -> str | None:
    """The nonce of a valid session cookie, or ``None`` (no cookie, forged, or no token)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    nonce, _, mac = cookie.partition(".")
    if admin_token is None or not nonce:
        return None
    expected = _mac(admin_token, "session:" + nonce)
    return nonce if hmac.compare_digest(mac.encode(), expected.encode()) else None


def csrf_token(admin_token: str, nonce: str) -> str:
    """The token the action forms of session ``nonce`` carry."""
    return _mac(admin_token, "csrf:" + nonce)


def token_matches(given: str, admin_token: str) -> bool:
    return hmac.compare_digest(given.encode(), admin_token.encode())


def csrf_valid(given: str, admin_token: str, nonce: str) -> bool:
    return hmac.compare_digest(given.encode(), csrf_token(admin_token, nonce).encode())


def cross_origin(request: Request) -> str | None:
    """The foreign origin a request says it comes from, or ``None`` when it is ours (or the
    browser sent neither header, which browsers always send on cross-site form posts)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return None if not source else "null"
    parts = urlsplit(source)
    if parts.netloc != request.headers.get("host", request.url.netloc):
        return f"{parts.scheme}://{parts.netloc}"
    return None
