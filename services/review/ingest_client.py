"""The review pages ask the ingest API for projects, assets and versions,
as the signed-in user (the review service never reads ingest's collections)."""
from __future__ import annotations

import requests

from services.common.web import SERVICE_KEY_HEADER


class IngestUnauthorized(Exception):
    """The user's token was refused: the session has ended."""


class IngestNotFound(Exception):
    pass


class IngestClient:
    def __init__(self, base_url: str, timeout: float = 15.0, reader_key: str = ""):
        self.base = base_url.rstrip("/")
        self.reader_key = reader_key  # for reviewers without an account (services.common.web.service_key)
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def get(self, token: str | None, path: str, **params) -> dict:
        """GET as the user whose token this is; token None asks as the read-only service."""
        headers = ({"Authorization": f"Bearer {token}"} if token is not None
                   else {SERVICE_KEY_HEADER: self.reader_key})
        response = self.http.get(self.base + path, params=params or None, timeout=self.timeout, headers=headers)
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

    def asset(self, token: str, asset_id: str) -> dict:
        """An asset the user can see, found through their projects (ingest has no asset route)."""
        for project in self.projects(token):
            for asset in self.assets(token, project["id"]):
                if asset["id"] == asset_id:
                    return dict(asset, project_id=project["id"], role=project.get("role"))
        raise IngestNotFound(asset_id)

    def current_version(self, token: str | None, project_id: str, asset_id: str) -> dict:
        """The asset's current version: its newest ready one."""
        found = self.get(token, f"/api/v1/projects/{project_id}/versions", asset_id=asset_id)["versions"]
        ready = [v for v in found if v["asset_id"] == asset_id and v["status"] == "ready"]
        if not ready:
            raise IngestNotFound(asset_id)
        return max(ready, key=lambda v: v["number"])
