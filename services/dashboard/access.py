"""Who sees which productions on the board: the projects ingest shows the caller.

Members see the projects they belong to, admins all, exactly as in the rest of
the platform; the dashboard asks ingest's API as the caller (it never reads
ingest's collections) and keeps the answer for a few seconds per token.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests

CACHE_SECONDS = 10.0


class SessionEnded(Exception):
    """Ingest refused the caller's token."""


@dataclass(frozen=True)
class Visible:
    projects: dict[str, str]  # project id -> name, as ingest lists them to the caller
    everything: bool  # an admin: productions ingest does not list (yet) are shown too

    def allows(self, project_id: str) -> bool:
        return self.everything or project_id in self.projects

    def ids(self) -> set[str] | None:
        return None if self.everything else set(self.projects)


class ProjectAccess:
    def __init__(self, ingest_url: str, timeout: float = 10.0):
        self.base = ingest_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy
        self.cache: dict[str, tuple[float, Visible]] = {}  # token -> (when asked, answer)
        self.asking: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()

    def visible(self, token: str, is_admin: bool, max_age: float = CACHE_SECONDS,
                asked_after: float | None = None) -> Visible:
        """What the token's holder sees, asked of ingest unless known from the last `max_age` seconds
        and, given `asked_after` (a time.monotonic() reading), asked after that moment: an answer
        from before a production was announced may not know it yet. Viewers sharing a token share
        the answer, so a burst of changes costs one call, not one per stream."""
        def fresh(cached) -> bool:
            return bool(cached) and time.monotonic() - cached[0] < max_age and (
                asked_after is None or cached[0] >= asked_after)

        with self.lock:
            cached = self.cache.get(token)
            asking = self.asking.setdefault(token, threading.Lock())
        if fresh(cached):
            return cached[1]
        with asking:  # a hundred streams of one viewer due at once make one call, not a hundred
            with self.lock:
                cached = self.cache.get(token)
            if fresh(cached):
                return cached[1]
            return self._ask(token, is_admin)

    def _ask(self, token: str, is_admin: bool) -> Visible:
        now = time.monotonic()
        response = self.http.get(self.base + "/api/v1/projects", headers={"Authorization": f"Bearer {token}"},
                                 timeout=self.timeout)
        if response.status_code == 401:
            raise SessionEnded()
        response.raise_for_status()
        found = Visible({p["id"]: p.get("name", "") for p in response.json()["projects"]}, is_admin)
        with self.lock:
            if len(self.cache) > 10_000:
                self.cache.clear()
                self.asking.clear()
            self.cache[token] = (now, found)
        return found
