"""What every Flask app of the platform shares: JSON errors, sign-in
enforcement, /healthz, /metrics and request metrics.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, redirect, request, url_for
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from . import accounts, passwords

# Routes anyone may call; everything else needs a user or an API token.
ALWAYS_PUBLIC = {"healthz", "metrics", "static"}

# Browser sessions: the review pages keep an API token in this cookie
# (HttpOnly, SameSite=Lax), and every service behind the same origin accepts
# it. A state-changing request made with the cookie must also prove it comes
# from our own pages: the CSRF header (scripts: any value; a cross-site form
# cannot set headers, and a cross-site script cannot without a CORS preflight
# we never grant) or, for plain HTML forms, a `csrf_token` field.
SESSION_COOKIE = "framegate_session"
CSRF_HEADER = "X-Framegate-CSRF"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# Why a token was refused, as its holder should read it.
TOKEN_MESSAGES = {
    "unknown": "That token is not valid (revoked or mistyped): run framegate login.",
    "revoked": "That token was revoked (password changed or reset): run framegate login.",
    "expired": "That token has expired: run framegate login.",
    "idle": "That token expired after being unused too long: run framegate login.",
    "disabled": "This account is disabled; ask an admin.",
}
SESSION_ENDED = {"expired": "it expired", "idle": "unused too long", "disabled": "account disabled",
                 "revoked": "signed out elsewhere or password changed"}

# A service asking another for what a person without an account may see
# (review resolving a link's version for a reviewer): a key derived from the
# shared FRAMEGATE_SECRET_KEY, read-only (GET), acting as a reader of every
# project. It never leaves the services; browsers and the CLI never hold it.
SERVICE_KEY_HEADER = "X-Framegate-Service-Key"
SERVICE_READER = accounts.User("service:reader", "", "Framegate service", "admin")


def service_key(secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"framegate-service:read", hashlib.sha256).hexdigest()


def link_decision_key(secret_key: str) -> str:
    """The one write a service makes on another's API: review recording a link
    reviewer's decision with approval (review owns the link session that vouches for them)."""
    return hmac.new(secret_key.encode(), b"framegate-service:link-decision", hashlib.sha256).hexdigest()

REQUESTS = Counter(
    "framegate_http_requests_total", "HTTP requests", ["service", "endpoint", "method", "status"]
)
LATENCY = Histogram("framegate_http_request_seconds", "HTTP request time", ["service", "endpoint"])


class ApiError(Exception):
    """An error a client can act on: HTTP status, a stable code, and a message."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message, **extra}), status


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in (sign-in itself, bootstrap)."""
    view.framegate_public = True
    return view


def page(view: Callable) -> Callable:
    """Mark a view as an HTML page: without a session it redirects to sign-in, not 401."""
    view.framegate_page = True
    return view


def csrf_token_for(session_token: str) -> str:
    """The form field value that goes with a session; only its holder can compute it."""
    return hashlib.sha256(b"framegate-csrf:" + session_token.encode()).hexdigest()


def _csrf_ok(session_token: str) -> bool:
    if request.headers.get(CSRF_HEADER):
        return True
    field = request.form.get(CSRF_FIELD, "") if request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data") else ""
    return bool(field) and hmac.compare_digest(field, csrf_token_for(session_token))


def _credentials() -> tuple[str, bool]:
    """(token, from_cookie): the Authorization header wins over the session cookie."""
    header = request.headers.get("Authorization", "")
    if header:
        return (header[7:].strip() if header.lower().startswith("bearer ") else ""), False
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return cookie, bool(cookie)


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go back to after sign-in (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def install_common(app: Flask, service: str, db_getter: Callable, health_checks: dict[str, Callable],
                   sign_in_endpoint: str | None = None, reader_key: str | None = None) -> None:
    @app.before_request
    def start_timer_and_authenticate():
        g.started = time.perf_counter()
        view = app.view_functions.get(request.endpoint)
        if request.endpoint in ALWAYS_PUBLIC or view is None or getattr(view, "framegate_public", False):
            return None
        given_key = request.headers.get(SERVICE_KEY_HEADER, "")
        if reader_key and given_key and request.method in SAFE_METHODS:
            if not hmac.compare_digest(given_key, reader_key):
                return error_response(401, "unauthorized", "That service key is not valid.")
            g.user, g.session_token = SERVICE_READER, None
            return None
        token, from_cookie = _credentials()
        found = accounts.check_token(db_getter(), token) if token else accounts.TokenCheck(None)
        user = found.user
        if user is None:
            if sign_in_endpoint and getattr(view, "framegate_page", False) and request.method in SAFE_METHODS:
                response = redirect(url_for(sign_in_endpoint, next=safe_next(request.full_path.rstrip("?"))))
                if from_cookie:
                    response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            message = "Sign in first: send 'Authorization: Bearer <token>' (framegate login)."
            if token:
                message = TOKEN_MESSAGES.get(found.reason, TOKEN_MESSAGES["unknown"])
                if from_cookie:
                    message = f"Your session has ended ({SESSION_ENDED.get(found.reason, 'signed out or revoked')}): sign in again."
            return error_response(401, "unauthorized", message)
        if from_cookie and request.method not in SAFE_METHODS and not _csrf_ok(token):
            return error_response(403, "csrf_required",
                                  f"A request made with a browser session needs the {CSRF_HEADER} header.")
        g.user = user
        g.session_token = token
        return None

    @app.before_request
    def refuse_unstorable_url_text():
        # Path segments and query values end up in database queries too.
        if not storable_text([request.path, *request.args.keys(), *request.args.values()]):
            return error_response(400, "invalid_text", "The URL must not contain NUL characters.")
        return None

    @app.after_request
    def count_request(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(service, endpoint, request.method, str(response.status_code)).inc()
        if hasattr(g, "started"):
            LATENCY.labels(service, endpoint).observe(time.perf_counter() - g.started)
        return response

    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        response, status = error_response(err.status, err.code, err.message, **err.extra)
        if "retry_after" in err.extra:
            response.headers["Retry-After"] = str(err.extra["retry_after"])
        return response, status

    @app.errorhandler(passwords.HashingBusy)
    def hashing_busy(err):
        response, status = error_response(503, "busy", "Too many password checks at this moment; "
                                                       "try again in a few seconds.")
        response.headers["Retry-After"] = "2"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = (err.name or "error").lower().replace(" ", "_")
        return error_response(err.code or 500, code, err.description or err.name)

    @app.get("/healthz")
    def healthz():
        checks, ok = {}, True
        for name, check in health_checks.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as err:  # any failure means "not ready"
                checks[name] = f"down: {err}"
                ok = False
        return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def storable_text(value: object) -> bool:
    """False when a string anywhere in `value` holds what the database cannot
    store and would fail on: a NUL character or an unpaired surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(storable_text(k) and storable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable_text(v) for v in value)
    return True


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    if not storable_text(body):
        raise ApiError(400, "invalid_text", "Text in the request body must not contain NUL characters or unpaired surrogates.")
    return body


def text_field(body: dict, key: str, required: bool = True) -> str | None:
    """A string field of a JSON body (None when optional and absent or null);
    anything else is a 400 naming it, before the value reaches code that
    assumes a string."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        problem = "is missing" if key not in body else "must be a string"
        raise ApiError(400, "bad_field", f"'{key}' {problem}.", field=key)
    return value


def amqp_check(amqp_url: str) -> Callable[[], None]:
    def check() -> None:
        from kombu import Connection

        with Connection(amqp_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)

    return check
