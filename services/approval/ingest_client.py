"""Approval asks ingest about versions and projects over its API, as the
signed-in caller (it never reads ingest's collections)."""
from __future__ import annotations

import requests

from services.common.web import ApiError


class IngestClient:
    def __init__(self, base_url: str, timeout: float = 15.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def _get(self, token: str, path: str) -> dict | None:
        response = self.http.get(self.base + path, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            raise ApiError(401, "unauthorized", "Your token was refused by ingest; sign in again.")
        response.raise_for_status()
        return response.json()

    def version(self, token: str, version_id: str) -> dict | None:
        """The version as the caller may see it; None when unknown or not theirs."""
        return self._get(token, f"/api/v1/versions/{version_id}")

    def project(self, token: str, project_id: str) -> dict | None:
        """The project as the caller sees it (with their `role` where ingest reports one)."""
        for project in (self._get(token, "/api/v1/projects") or {}).get("projects", []):
            if project["id"] == project_id:
                return project
        return None
