"""The review pages ask the ingest API for projects, assets and versions,
as the signed-in user (the review service never reads ingest's collections)."""
from __future__ import annotations

import requests


class IngestUnauthorized(Exception):
    """The user's token was refused: the session has ended."""


class IngestNotFound(Exception):
    pass


class IngestClient:
    def __init__(self, base_url: str, timeout: float = 15.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def get(self, token: str, path: str, **params) -> dict:
        response = self.http.get(self.base + path, params=params or None, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            raise IngestUnauthorized()
        if response.status_code == 404:
            raise IngestNotFound(path)
        response.raise_for_status()
        return response.json()

    def projects(self, token: str) -> list[dict]:
        return self.get(token, "/api/v1/projects")["projects"]

    def project(self, token: str, project_id: str) -> dict:
        for project in self.projects(token):
            if project["id"] == project_id:
                return project
        raise IngestNotFound(project_id)

    def assets(self, token: str, project_id: str) -> list[dict]:
        return self.get(token, f"/api/v1/projects/{project_id}/assets")["assets"]

    def versions(self, token: str, project_id: str) -> list[dict]:
        return self.get(token, f"/api/v1/projects/{project_id}/versions")["versions"]

    def version(self, token: str, version_id: str) -> dict:
        return self.get(token, f"/api/v1/versions/{version_id}")
