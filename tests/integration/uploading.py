"""Uploading through the API the way any client does: start, PUT parts to
presigned URLs, complete. Shared by the ingest integration tests."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable

import requests


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def start(api, project_id: str, path: Path, asset: str | None = None, fingerprint: str | None = None, **overrides):
    spec = {"filename": path.name, "size": path.stat().st_size, "fingerprint": fingerprint or f"fp-{path}-{path.stat().st_mtime_ns}"}
    if asset:
        spec["asset"] = asset
    spec.update(overrides)
    return api.post("/api/v1/uploads", json={"project_id": project_id, "files": [spec]})


def put_parts(item: dict, path: Path, only: set[int] | None = None) -> None:
    data = Path(path).read_bytes()
    for part in item["parts"]:
        n = part["number"]
        if only is not None and n not in only:
            continue
        chunk = data[(n - 1) * item["part_size"]: n * item["part_size"]]
        response = requests.put(part["url"], data=chunk, timeout=60)
        assert response.status_code == 200, response.text


def complete(api, upload_id: str, sha256: str, timeout: float = 120) -> dict:
    """POST complete (202), then poll the completion until it is done or failed."""
    asked = api.post(f"/api/v1/uploads/{upload_id}/complete", json={"sha256": sha256})
    assert asked.status_code == 202, asked.text
    return wait_for_completion(api, upload_id, timeout)


def wait_for_completion(api, upload_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/uploads/{upload_id}/completion").json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"upload {upload_id} is still {status.get('state')} after {timeout}s")


class Finished:
    """How an upload ended, shaped like a response: 201 and the version, or an error
    status and the failure ({error, message, retryable})."""

    def __init__(self, status: dict):
        self.completion = status
        failure = status.get("failure") or {}
        self.status_code = 201 if status["state"] == "done" else (409 if failure.get("retryable") else 422)
        self._body = status["version"] if status["state"] == "done" else failure
        self.text = json.dumps(status)

    def json(self) -> dict:
        return self._body


def upload(api, project_id: str, path: Path, asset: str | None = None, sha256: str | None = None) -> Finished:
    """The whole flow, waiting for the background completion."""
    started = start(api, project_id, path, asset)
    assert started.status_code == 201, started.text
    item = started.json()["uploads"][0]
    put_parts(item, path)
    return Finished(complete(api, item["upload_id"], sha256 or file_sha256(path)))


def wait_for_status(api, version_id: str, wanted: set[str], timeout: float = 180,
                    explain: Callable[[], str] = lambda: "") -> dict:
    """Poll the version until its status is one of `wanted`."""
    deadline = time.monotonic() + timeout
    version: dict = {}
    while time.monotonic() < deadline:
        version = api.get(f"/api/v1/versions/{version_id}").json()
        if version["status"] in wanted:
            return version
        time.sleep(0.3)
    raise AssertionError(f"version {version_id} is still {version.get('status')} after {timeout}s\n{explain()}")
