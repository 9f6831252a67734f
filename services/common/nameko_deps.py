"""nameko dependency providers: thin shims that hand workers plain objects."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

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


def nameko_config(settings=None) -> dict:
    settings = settings or load_settings()
    return {"AMQP_URI": settings.amqp_url, "serializer": "json", "max_workers": 4}
