"""Notify asks ingest about projects and members over its API (it never reads
ingest's collections): as the signed-in caller for the API's access checks,
and with the read-only service key when an event needs a project's members."""
from __future__ import annotations

import time

import requests

from services.common.web import SERVICE_KEY_HEADER, ApiError, service_key


class IngestClient:
    def __init__(self, base_url: str, secret_key: str, timeout: float = 15.0, cache_seconds: float = 30.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.reader_key = service_key(secret_key)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, object]] = {}
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def _get(self, path: str, token: str | None = None) -> dict | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {SERVICE_KEY_HEADER: self.reader_key}
        response = self.http.get(self.base + path, timeout=self.timeout, headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            raise ApiError(401, "unauthorized", "Your token was refused by ingest; sign in again.")
        response.raise_for_status()
        return response.json()

    def projects_of(self, token: str) -> list[dict]:
        """The projects the caller sees, each with their `role` (None for an admin who is not a member)."""
        return (self._get("/api/v1/projects", token) or {}).get("projects", [])

    def project_for(self, token: str, project_id: str) -> dict | None:
        return next((p for p in self.projects_of(token) if p["id"] == project_id), None)

    def _cached(self, key: str, fetch, fresh: bool = False):
        hit = self._cache.get(key)
        if hit and not fresh and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        value = fetch()
        self._cache[key] = (time.monotonic(), value)
        return value

    def member_ids(self, project_id: str) -> set[str]:
        """User ids of a project's members (service key)."""
        found = self._cached(f"members:{project_id}", lambda: self._get(f"/api/v1/projects/{project_id}/members"))
        return {m.get("user_id") or m.get("id") for m in (found or {}).get("members", [])}

    def project_name(self, project_id: str) -> str:
        """The project's name for a message; its id when ingest cannot say."""
        for fresh in (False, True):  # a project made since the list was cached: ask again
            try:
                found = self._cached("projects", lambda: self._get("/api/v1/projects"), fresh)
            except requests.RequestException:
                return project_id
            for project in (found or {}).get("projects", []):
                if project["id"] == project_id:
                    return project.get("name") or project_id
        return project_id
