"""Batch uploads of many files: one batch opened for all, each file sent with
`framegate.transfer`, its result recorded, and, for --wait, its version polled
until final.

Resuming: a file's `fingerprint` (its real path, size and mtime) is the same on a
rerun, so the server hands back the same upload with the parts it already has.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import requests

from framegate.client import ApiClient, ApiError, Unreachable
from framegate.config import FramegateError
from framegate.progress import NullProgress, Progress
from framegate.transfer import (DEFAULT_BACKOFF, DEFAULT_PARALLEL, DEFAULT_RETRIES, TransferError, TransferResult,
                                storage_session, transfer)

# A version goes uploaded -> transcoding -> playable -> ready (or failed).
FINAL_STATUSES = frozenset({"ready", "failed"})
# How long an upload waits for the server to hash and probe the master it sent.
COMPLETION_TIMEOUT = 6 * 3600.0


class WaitTimeout(FramegateError):
    pass


# Local files --------------------------------------------------------------------

def fingerprint_of(realpath: str, size: int, mtime_ns: int) -> str:
    """The client-side identity of a local file, stable across reruns until it changes."""
    return hashlib.sha256(f"{realpath}|{size}|{mtime_ns}".encode()).hexdigest()


@dataclass(frozen=True)
class LocalFile:
    path: str  # as given on the command line
    realpath: str
    size: int
    mtime_ns: int

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> "LocalFile":
        realpath = os.path.realpath(path)
        st = os.stat(realpath)
        if not os.path.isfile(realpath):
            raise IsADirectoryError(realpath)
        return cls(os.fspath(path), realpath, st.st_size, st.st_mtime_ns)

    @property
    def name(self) -> str:
        return os.path.basename(os.path.abspath(self.path))

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.realpath, self.size, self.mtime_ns)

    def spec(self, asset: str | None = None) -> dict:
        """This file's entry in POST /api/v1/uploads; no asset means the server's default (the stem)."""
        spec = {"filename": self.name, "size": self.size, "fingerprint": self.fingerprint}
        if asset:
            spec["asset"] = asset
        return spec

    def unchanged(self) -> bool:
        try:
            st = os.stat(self.realpath)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def local_files(paths: Iterable[str | os.PathLike]) -> list[LocalFile]:
    """Check every path before anything is sent; the same file twice is uploaded once."""
    files, problems, seen = [], [], set()
    for path in paths:
        try:
            found = LocalFile.from_path(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file")
            continue
        except IsADirectoryError:
            problems.append(f"{path}: is a directory; name the files in it (e.g. {path}/*.mov)")
            continue
        except OSError as err:
            problems.append(f"{path}: {err.strerror}")
            continue
        if not os.access(found.realpath, os.R_OK):
            problems.append(f"{path}: not readable (permission denied)")
        elif found.realpath not in seen:
            seen.add(found.realpath)
            files.append(found)
    if problems:
        raise FramegateError("; ".join(problems))
    if not files:
        raise FramegateError("no files to upload")
    return files


# Many files ---------------------------------------------------------------------

@dataclass
class UploadResult:
    """What became of one file; `record()` is its line in `framegate upload --json`."""

    file: str
    filename: str
    project_id: str
    size: int
    upload_id: str | None = None
    asset_id: str | None = None
    asset_name: str | None = None
    version: dict | None = None
    sha256: str | None = None
    error: str | None = None
    message: str | None = None
    transfer: TransferResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.version is not None

    def fail(self, code: str, message: str | None) -> "UploadResult":
        self.error, self.message = code, message or code
        return self

    def record(self) -> dict:
        fields = version_fields(self.version or {})
        return {
            "file": self.file,
            "filename": self.filename,
            "project_id": fields["project_id"] or self.project_id,
            "asset_id": fields["asset_id"] or self.asset_id,
            "asset": fields["asset"] or self.asset_name,
            "version_id": fields["version_id"],
            "version": fields["version"],
            "status": fields["status"] or "failed",
            "error": self.error,
            "message": self.message,
            "size": self.size,
            "sha256": fields["sha256"] or self.sha256,
            **{k: fields[k] for k in ("frames", "fps", "fps_rational", "start_timecode", "duration", "kind",
                                      "player_url", "hls_url")},
            "upload_id": self.upload_id,
            "bytes_sent": self.transfer.bytes_sent if self.transfer else 0,
            "bytes_resumed": self.transfer.bytes_resumed if self.transfer else 0,
        }


def version_fields(version: dict) -> dict:
    """A version from the API, flattened to what people and scripts read (None where unknown)."""
    facts = version.get("facts") or {}
    return {
        "project_id": version.get("project_id"),
        "asset_id": version.get("asset_id"),
        "asset": version.get("asset_name"),
        "version_id": version.get("id"),
        "version": version.get("number"),
        "status": version.get("status"),
        "filename": version.get("filename"),
        "size": version.get("size"),
        "sha256": version.get("sha256"),
        "frames": facts.get("frames"),
        "fps": facts.get("fps_float"),
        "fps_rational": facts.get("fps"),
        "start_timecode": facts.get("start_timecode"),
        "duration": facts.get("duration"),
        "kind": facts.get("kind"),
        "created_at": version.get("created_at"),
        "progress": version.get("progress"),
        "player_url": (version.get("playback") or {}).get("player_url"),
        "hls_url": (version.get("playback") or {}).get("hls_url"),
        "failure": (version.get("failure") or {}).get("reason"),
    }


def _pair(files: list[LocalFile], items: list[dict]) -> list[tuple[LocalFile, dict | None]]:
    """Each file's item by name, first come first served (items come back in request order)."""
    left = list(items)
    pairs = []
    for f in files:
        match = next((i for i in left if i.get("filename") == f.name), None)
        if match is not None:
            left.remove(match)
        pairs.append((f, match))
    return pairs


def iter_uploads(client: ApiClient, project_id: str, paths: Iterable[str | os.PathLike], *,
                 asset: str | None = None, parallel: int = DEFAULT_PARALLEL, retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, progress_for: Callable[[str], Progress] | None = None,
                 session: requests.Session | None = None, content_md5: bool = False,
                 notify: Callable[[str], None] | None = None) -> Iterator[UploadResult]:
    """Open one batch for all files, then send and complete them one after another,
    yielding each file's result as soon as it is known."""
    files = local_files(paths)
    options = dict(session=session or storage_session(parallel), parallel=parallel, retries=retries,
                   backoff=backoff, content_md5=content_md5)
    try:
        items = client.create_uploads(project_id, [f.spec(asset) for f in files])
    except ApiError as err:
        for f in files:
            yield UploadResult(f.path, f.name, project_id, f.size).fail(err.code, err.message)
        return
    for f, item in _pair(files, items):
        yield _upload_one(client, project_id, f, item, asset=asset, progress_for=progress_for,
                          notify=notify or (lambda message: None), **options)


def _upload_one(client: ApiClient, project_id: str, f: LocalFile, item: dict | None, *, asset: str | None,
                progress_for: Callable[[str], Progress] | None, notify: Callable[[str], None],
                **options) -> UploadResult:
    result = UploadResult(f.path, f.name, project_id, f.size)
    if item is None:
        return result.fail("no_answer", f"{f.name}: the server's answer did not mention this file; run again")
    if item.get("error"):
        return result.fail(item["error"], item.get("message"))
    result.upload_id, result.asset_id, result.asset_name = (
        item.get("upload_id"), item.get("asset_id"), item.get("asset_name"))
    if item.get("state") == "completed" and item.get("version_id"):
        result.version = client.version(item["version_id"])
        return result
    if item.get("state") == "completing":  # another client (or an earlier run) sent it all
        return _await_completion(client, result, notify)
    if not f.unchanged():
        return result.fail("file_changed", f"{f.name} changed after it was listed; run the command again")
    for fresh_start in (False, True):
        try:
            result.transfer = transfer(item, f.realpath, refresh=partial(client.upload, item["upload_id"]),
                                       progress=progress_for(f.name) if progress_for else NullProgress(), **options)
            break
        except TransferError as err:
            if _completed_by_another(client, item["upload_id"]):
                # The same file sent by several clients at once: one of them completed it
                # while we were sending (its parts are ours too); wait for the same version.
                return _await_completion(client, result, notify)
            if err.code != "damaged_parts" or fresh_start:
                return result.fail(err.code, str(err))
            notify(f"{err}: discarding it and sending {f.name} again")
            try:
                client.abort_upload(item["upload_id"])
                [item] = client.create_uploads(project_id, [f.spec(asset)])
            except ApiError as again:
                return result.fail(again.code, f"{err}; starting over was refused: {again.message}")
            if item.get("error"):
                return result.fail(item["error"], item.get("message"))
            result.upload_id = item["upload_id"]
    result.sha256 = result.transfer.sha256
    try:
        client.complete_upload(item["upload_id"], result.sha256)
    except ApiError as err:
        return result.fail(err.code, err.message)
    return _await_completion(client, result, notify)


def _completed_by_another(client: ApiClient, upload_id: str) -> bool:
    try:
        return client.upload(upload_id).get("state") in ("completing", "completed")
    except FramegateError:
        return False


def _await_completion(client: ApiClient, result: UploadResult, notify: Callable[[str], None], *,
                      timeout: float = COMPLETION_TIMEOUT, clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> UploadResult:
    """Poll the server's background completion (hashing and probing a 60 GB master takes
    minutes) until it is done or failed. A slow or restarting server is waited for."""
    deadline, interval, told = clock() + timeout, 0.2, False
    while True:
        try:
            status = client.completion(result.upload_id)
        except Unreachable:
            status = {"state": "completing"}  # ingest restarting: the completion is durable
        except ApiError as err:
            return result.fail(err.code, err.message)
        if status["state"] == "done":
            result.version = status["version"]
            return result
        if status["state"] == "failed":
            failure = status.get("failure") or {}
            message = failure.get("message") or "the server could not complete this upload"
            if failure.get("retryable"):
                message += " (the uploaded file is kept: run the same command again to retry)"
            return result.fail(failure.get("error") or "completion_failed", message)
        if clock() >= deadline:
            return result.fail("completion_timeout",
                               f"{result.filename}: the server is still checking the file after {timeout:g}s; "
                               "run the same command again later to see the version")
        if not told and interval >= 1.0:
            notify(f"{result.filename}: checking the file on the server (hash, media facts)…")
            told = True
        sleep(interval)
        interval = min(interval * 1.5, 5.0)


def upload_files(client: ApiClient, project_id: str, paths: Iterable[str | os.PathLike],
                 **options) -> list[UploadResult]:
    """`iter_uploads`, all at once."""
    return list(iter_uploads(client, project_id, paths, **options))


# Waiting ------------------------------------------------------------------------

def wait_for_version(client: ApiClient, version_id: str, *, deadline: float, interval: float = 1.0,
                     on_update: Callable[[dict], None] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll a version until its status is final; `on_update` sees every poll (the hook
    for transcode progress). Raises WaitTimeout at `deadline` (a `clock()` value)."""
    while True:
        version = client.version(version_id)
        if on_update:
            on_update(version)
        if version.get("status") in FINAL_STATUSES:
            return version
        if clock() >= deadline:
            raise WaitTimeout(
                f"version {version.get('number')} of {version.get('asset_name')} is still "
                f"{version.get('status')!r}; see it later with `framegate versions`")
        sleep(max(0.0, min(interval, deadline - clock())))


def wait_for_results(client: ApiClient, results: list[UploadResult], *, timeout: float, interval: float = 1.0,
                     on_update: Callable[[dict], None] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for every uploaded version under one deadline; a failed or late version fails its file."""
    deadline = clock() + timeout
    for result in results:
        if not result.ok:
            continue
        try:
            result.version = wait_for_version(client, result.version["id"], deadline=deadline, interval=interval,
                                              on_update=on_update, clock=clock, sleep=sleep)
        except WaitTimeout as err:
            result.fail("wait_timeout", f"{err} (waited {timeout:g}s)")
            continue
        if result.version.get("status") == "failed":
            result.fail("version_failed", result.version.get("message")
                        or "the platform could not process this version; see it in the web app")
