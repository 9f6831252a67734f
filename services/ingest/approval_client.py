"""Whether approval has archived a project, asked before an upload starts or
completes: an archived production is read-only, so no new version may land in
it. Asked of approval's API at that moment (not a copy built from
`project_archived` events, which could let an upload slip in just after the
archive); without an answer the upload is refused, retryably."""
from __future__ import annotations

import requests

from services.common.web import SERVICE_KEY_HEADER, ApiError


class ApprovalClient:
    def __init__(self, base_url: str, reader_key: str, timeout: float = 10.0):
        self.base = base_url.rstrip("/")
        self.reader_key = reader_key
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def ensure_not_archived(self, project_id: str) -> None:
        """409 project_archived for an archived project; 503 when approval does not answer."""
        try:
            response = self.http.get(f"{self.base}/api/v1/approval/projects/{project_id}/locks",
                                     timeout=self.timeout, headers={SERVICE_KEY_HEADER: self.reader_key})
            response.raise_for_status()
            archived = response.json()["archived"]
        except (requests.RequestException, ValueError, KeyError):
            raise ApiError(503, "approval_unavailable", "Cannot check whether the project is archived right now; "
                           "try again in a moment.", retry_after=2) from None
        if archived:
            raise ApiError(409, "project_archived", f"This project was archived ({archived['archived_at']}); "
                           "it takes no new uploads.")
