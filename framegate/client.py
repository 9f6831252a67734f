"""The ingest HTTP API as Python calls (docs/api-contract.md). No business rules here."""
from __future__ import annotations

from collections.abc import Mapping

import requests

from framegate.config import NOT_SIGNED_IN, FramegateError, load_credentials

DEFAULT_TIMEOUT = 30.0


class ApiError(FramegateError):
    """The server refused a request: HTTP status, its stable code and its message."""

    def __init__(self, status: int, code: str, message: str, body: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body or {}

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class TokenRejected(FramegateError):
    """401 on a signed-in route: nothing else will work until the user signs in again."""


class Unreachable(FramegateError):
    """No HTTP answer at all: wrong URL, stack down, network."""


class NotSignedIn(FramegateError):
    pass


def error_from_response(resp: requests.Response, *, signed_in: bool = True,
                        token_source: str | None = None) -> FramegateError:
    """The exception for a non-2xx answer, with the server's own message when it sent one."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if signed_in and resp.status_code == 401:
        notes = []
        detail = body.get("message") if isinstance(body, dict) else None
        if detail and "framegate login" not in detail:
            notes.append(detail)
        if token_source:
            notes.append(f"the token came from {token_source}")
        return TokenRejected("token rejected: run framegate login" + (f" ({'; '.join(notes)})" if notes else ""))
    if isinstance(body, dict) and "error" in body:
        return ApiError(resp.status_code, str(body["error"]), str(body.get("message") or body["error"]), body)
    text = " ".join((resp.text or "").split())[:200]
    return ApiError(
        resp.status_code, f"http_{resp.status_code}",
        f"HTTP {resp.status_code} {resp.reason or ''} from {resp.url}".rstrip() + (f": {text}" if text else ""),
        body if isinstance(body, dict) else None,
    )


def unreachable_message(url: str, err: Exception) -> str:
    text = str(err)
    if isinstance(err, requests.Timeout):
        why = "no answer in time"
    elif "refused" in text.lower():
        why = "connection refused"
    elif "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        why = "unknown host name"
    else:
        why = type(err).__name__
    return (
        f"cannot reach Framegate at {url} ({why}): is the stack running (`framegate up`)? "
        "Otherwise set FRAMEGATE_URL or run `framegate login --url URL`"
    )


class ApiClient:
    """One platform URL and (optionally) one token; thread-safe for concurrent calls."""

    def __init__(self, url: str, token: str | None = None, *, session: requests.Session | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.url = url.rstrip("/")
        self.token = token
        self.token_source: str | None = None  # named when a token is rejected
        self.session = session or requests.Session()
        self.timeout = timeout

    @classmethod
    def from_config(cls, env: Mapping[str, str] | None = None, **kwargs) -> "ApiClient":
        creds = load_credentials(env)
        if creds is None:
            raise NotSignedIn(NOT_SIGNED_IN)
        client = cls(creds.url, creds.token, **kwargs)
        client.token_source = creds.source
        return client

    def request(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None,
                signed_in: bool = True, raw: bool = False, headers: dict | None = None) -> dict | bytes | None:
        """The JSON answer (or its bytes, with raw=True); a non-2xx answer raises."""
        headers = {"Accept": "application/json", "X-Framegate-CSRF": "1", **(headers or {})}
        if signed_in:
            if not self.token:
                raise NotSignedIn(NOT_SIGNED_IN)
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.session.request(method, self.url + path, json=json, params=params,
                                        headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as err:
            raise Unreachable(unreachable_message(self.url, err)) from None
        if resp.status_code >= 400:
            raise error_from_response(resp, signed_in=signed_in, token_source=self.token_source)
        if raw:
            return resp.content
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ApiError(resp.status_code, "not_json",
                           f"{self.url}{path} answered HTTP {resp.status_code} without JSON: "
                           "is FRAMEGATE_URL the platform's address?") from None

    # Auth ---------------------------------------------------------------------
    def login(self, email: str, password: str) -> dict:
        """{token, user}; ApiError invalid_credentials / too_many_attempts."""
        return self.request("POST", "/api/v1/auth/login", json={"email": email, "password": password},
                            signed_in=False)

    def me(self) -> dict:
        return self.request("GET", "/api/v1/me")

    def change_password(self, current: str, new: str) -> None:
        self.request("POST", "/api/v1/me/password", json={"current": current, "new": new})

    # Users (admins) -------------------------------------------------------------
    def users(self) -> list[dict]:
        return self.request("GET", "/api/v1/users")["users"]

    def create_user(self, email: str, name: str | None, role: str) -> dict:
        """The new user; with `password` (shown once) since none was given."""
        return self.request("POST", "/api/v1/users", json={"email": email, "name": name, "role": role})

    # Project members (owners and admins change them) ---------------------------
    def members(self, project_id: str) -> list[dict]:
        return self.request("GET", f"/api/v1/projects/{project_id}/members")["members"]

    def add_member(self, project_id: str, email: str, role: str) -> dict:
        return self.request("POST", f"/api/v1/projects/{project_id}/members", json={"email": email, "role": role})

    def set_member_role(self, project_id: str, user_id: str, role: str) -> dict:
        return self.request("PATCH", f"/api/v1/projects/{project_id}/members/{user_id}", json={"role": role})

    def remove_member(self, project_id: str, user_id: str) -> None:
        self.request("DELETE", f"/api/v1/projects/{project_id}/members/{user_id}")
    def user_by_email(self, email: str) -> dict:
        wanted = email.strip().lower()
        for user in self.users():
            if user["email"] == wanted:
                return user
        raise ApiError(404, "unknown_user", f"there is no user {wanted}")

    def set_user_disabled(self, user_id: str, disabled: bool) -> dict:
        return self.request("POST", f"/api/v1/users/{user_id}/{'disable' if disabled else 'enable'}")

    def reset_password(self, user_id: str) -> dict:
        """The user with a new `password` (shown once); their tokens are revoked."""
        return self.request("POST", f"/api/v1/users/{user_id}/password")

    # One's own tokens ------------------------------------------------------------
    def tokens(self) -> list[dict]:
        return self.request("GET", "/api/v1/me/tokens")["tokens"]

    def revoke_token(self, token_id: str) -> None:
        self.request("DELETE", f"/api/v1/me/tokens/{token_id}")

    # Projects, assets, versions ------------------------------------------------
    def projects(self) -> list[dict]:
        return self.request("GET", "/api/v1/projects")["projects"]

    def project_named(self, name: str) -> dict | None:
        return next((p for p in self.projects() if p["name"] == name), None)

    def create_project(self, name: str) -> tuple[dict, bool]:
        """(project, created); an existing project of that name is returned, not an error."""
        try:
            return self.request("POST", "/api/v1/projects", json={"name": name}), True
        except ApiError as err:
            if err.code == "project_exists" and isinstance(err.body.get("project"), dict):
                return err.body["project"], False
            raise

    def ensure_project(self, name: str) -> tuple[dict, bool]:
        """The project with this name, created if missing: (project, created)."""
        found = self.project_named(name)
        return (found, False) if found else self.create_project(name)

    def assets(self, project_id: str) -> list[dict]:
        return self.request("GET", f"/api/v1/projects/{project_id}/assets")["assets"]

    def versions(self, project_id: str, asset_id: str | None = None) -> list[dict]:
        params = {"asset_id": asset_id} if asset_id else None
        return self.request("GET", f"/api/v1/projects/{project_id}/versions", params=params)["versions"]

    def version(self, version_id: str) -> dict:
        return self.request("GET", f"/api/v1/versions/{version_id}")

    # Uploads -------------------------------------------------------------------
    def create_uploads(self, project_id: str, files: list[dict]) -> list[dict]:
        """One item per file, in order; a refused file is {filename, error, message}."""
        try:
            return self.request("POST", "/api/v1/uploads", json={"project_id": project_id, "files": files})["uploads"]
        except ApiError as err:
            # 400 when every file was refused: the body still says why, per file.
            if err.status == 400 and isinstance(err.body.get("uploads"), list):
                return err.body["uploads"]
            raise

    def upload(self, upload_id: str) -> dict:
        """The upload item with fresh URLs for the parts not yet stored."""
        return self.request("GET", f"/api/v1/uploads/{upload_id}")

    def complete_upload(self, upload_id: str, sha256: str) -> dict:
        """Ask for the version (202): the completion status, usually still "completing"."""
        return self.request("POST", f"/api/v1/uploads/{upload_id}/complete", json={"sha256": sha256})

    def completion(self, upload_id: str) -> dict:
        """{state: completing | done | failed, version, failure}."""
        return self.request("GET", f"/api/v1/uploads/{upload_id}/completion")

    def abort_upload(self, upload_id: str) -> None:
        self.request("DELETE", f"/api/v1/uploads/{upload_id}")

    # Review links (owners and admins) --------------------------------------------
    def create_link(self, fields: dict) -> dict:
        """The new link, with its URL (the only time the token is shown)."""
        return self.request("POST", "/api/v1/review/links", json=fields)

    def revoke_link(self, link_id: str) -> dict:
        return self.request("POST", f"/api/v1/review/links/{link_id}/revoke")

    def links(self, project_id: str) -> list[dict]:
        return self.request("GET", f"/api/v1/review/projects/{project_id}/links")["links"]

    def access_log(self, link_id: str, fmt: str) -> bytes:
        return self.request("GET", f"/api/v1/review/links/{link_id}/access", params={"format": fmt}, raw=True)

    # The team's notes (project members) ------------------------------------------
    def notes(self, version_id: str) -> list[dict]:
        """Every note of a version with its replies, internal ones included."""
        return self.request("GET", f"/api/v1/review/versions/{version_id}/notes")["notes"]

    def add_note(self, version_id: str, note: dict, idempotency_key: str) -> dict:
        """The note; the same key again returns the note it made instead of a second one."""
        return self.request("POST", f"/api/v1/review/versions/{version_id}/notes", json=note,
                            headers={"Idempotency-Key": idempotency_key})

    def edit_note(self, note_id: str, text: str) -> dict:
        return self.request("POST", f"/api/v1/review/notes/{note_id}/revisions", json={"text": text})

    def set_note_status(self, note_id: str, status: str) -> dict:
        return self.request("POST", f"/api/v1/review/notes/{note_id}/status", json={"status": status})

    def export_notes(self, version_id: str, fmt: str) -> bytes:
        return self.request("GET", f"/api/v1/review/versions/{version_id}/notes/export", params={"format": fmt},
                            raw=True)

    # Exact stills (frame N of the master) ------------------------------------------
    def still(self, version_id: str, frame: int) -> dict:
        """{frame, url, width, height, …}: a signed CDN URL of the frame's PNG (cut now if new)."""
        return self.request("GET", f"/api/v1/review/versions/{version_id}/stills/{frame}")

    def fetch_signed(self, url: str) -> bytes:
        """The bytes behind a signed CDN URL (absolute, or a path on the platform's address)."""
        full = url if url.startswith(("http://", "https://")) else self.url + url
        try:
            resp = self.session.get(full, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as err:
            raise Unreachable(unreachable_message(full, err)) from None
        if resp.status_code != 200:
            raise ApiError(resp.status_code, "cdn_refused", f"The CDN answered HTTP {resp.status_code} for the still.")
        return resp.content

    # Through a review link, as a reviewer without an account --------------------
    # The session is a cookie this client's HTTP session keeps between calls.
    def open_link(self, token: str, name: str, email: str, password: str | None = None) -> dict:
        body = {"name": name, "email": email} | ({"password": password} if password else {})
        return self.request("POST", f"/api/v1/review/links/{token}/sessions", json=body, signed_in=False)

    def link_notes(self, link_id: str) -> list[dict]:
        return self.request("GET", f"/api/v1/review/link-sessions/{link_id}/notes", signed_in=False)["notes"]

    def link_note(self, link_id: str, note: dict) -> dict:
        return self.request("POST", f"/api/v1/review/link-sessions/{link_id}/notes", json=note, signed_in=False)

    def link_edit_note(self, link_id: str, note_id: str, text: str) -> dict:
        return self.request("POST", f"/api/v1/review/link-sessions/{link_id}/notes/{note_id}/revisions",
                            json={"text": text}, signed_in=False)

    def link_set_note_status(self, link_id: str, note_id: str, status: str) -> dict:
        return self.request("POST", f"/api/v1/review/link-sessions/{link_id}/notes/{note_id}/status",
                            json={"status": status}, signed_in=False)
