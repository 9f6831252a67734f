"""nameko dependency providers: thin shims that hand workers plain objects."""
from __future__ import annotations

import json

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from .mongo import connect, ensure_indexes
from .settings import load_settings


class Database(DependencyProvider):
    """The service's MongoDB database, with the service's indexes ensured at start."""

    def __init__(self, indexes=()):
        self.indexes = list(indexes)
        self.db = None

    def setup(self):
        self.db = connect(load_settings())
        ensure_indexes(self.db, self.indexes)

    def get_dependency(self, worker_ctx):
        return self.db


class OpsEndpoints:
    """/healthz and /metrics for a nameko service (WEB_SERVER_ADDRESS in its config)."""

    db = Database()

    @http("GET", "/healthz")
    def healthz(self, request):
        try:
            self.db.command("ping")
        except Exception as err:  # not ready while MongoDB is away
            return 503, json.dumps({"status": "unavailable", "checks": {"mongo": f"down: {err}"}})
        return 200, json.dumps({"status": "ok", "checks": {"mongo": "ok"}})

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
