"""What every Flask app of the platform shares: JSON errors, sign-in
enforcement, /healthz, /metrics and request metrics.
"""
from __future__ import annotations

import time
from typing import Callable

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from . import accounts

# Routes anyone may call; everything else needs a user or an API token.
ALWAYS_PUBLIC = {"healthz", "metrics", "static"}

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


def install_common(app: Flask, service: str, db_getter: Callable, health_checks: dict[str, Callable]) -> None:
    @app.before_request
    def start_timer_and_authenticate():
        g.started = time.perf_counter()
        view = app.view_functions.get(request.endpoint)
        if request.endpoint in ALWAYS_PUBLIC or view is None or getattr(view, "framegate_public", False):
            return None
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = accounts.user_for_token(db_getter(), token) if token else None
        if user is None:
            message = "Sign in first: send 'Authorization: Bearer <token>' (framegate login)."
            if token:
                message = "That token is not valid (revoked or mistyped): run framegate login."
            return error_response(401, "unauthorized", message)
        g.user = user
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
        return error_response(err.status, err.code, err.message, **err.extra)

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


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return body


def amqp_check(amqp_url: str) -> Callable[[], None]:
    def check() -> None:
        from kombu import Connection

        with Connection(amqp_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)

    return check
