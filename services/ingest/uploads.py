"""Upload use cases: start a batch, resume, complete (verify, probe, number), abort.

The bytes never pass through this service on the way in: clients PUT parts to
presigned S3 URLs. On completion (in the background) the stored object is
streamed once through SHA-256 and ffprobe reads it over a presigned URL: no
local copy, so the ingest pod's disk does not bound the upload size.
"""
from __future__ import annotations

import hashlib
import logging
import math
import mimetypes
from dataclasses import dataclass
from typing import Callable
from datetime import timedelta

from minio.error import S3Error
from pymongo.database import Database

from services.common.events import VersionUploaded, event_id_for
from services.common.outbox import record_event
from services.common.storage import ObjectStore, StoredPart
from services.common.web import ApiError

from . import access, completions, records
from .media_facts import MediaRejected
from .naming import BadName, check_display_name, check_filename, default_asset_name
from .probe import probe_url

log = logging.getLogger(__name__)

MIN_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
URL_LIFETIME = timedelta(hours=12)
PROBE_URL_LIFETIME = timedelta(hours=2)
SHA256_HEX = set("0123456789abcdef")


@dataclass
class Ingest:
    """What the use cases need, built once per process."""

    db: Database
    store: ObjectStore
    settings: object
    on_completion_requested: Callable[[], None] | None = None  # wakes the completion runner
    ensure_not_archived: Callable[[str], None] | None = None  # approval's say: an archived project takes nothing

    @property
    def masters(self) -> str:
        return self.store.bucket("masters")


def part_size_for(size: int) -> int:
    """Parts of at least 16 MiB, few enough for S3's 10,000-part limit."""
    return max(MIN_PART, math.ceil(size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024)


def part_count(size: int, part_size: int) -> int:
    return max(1, math.ceil(size / part_size))


# Starting -------------------------------------------------------------------

def start_batch(ctx: Ingest, user, project_id: str, files: list) -> tuple[list[dict], bool]:
    """Open (or resume) one upload per file; returns (items, any_accepted)."""
    access.require(ctx.db, user, project_id, "upload")  # 404 to non-members, 403 to viewers
    if ctx.ensure_not_archived:
        ctx.ensure_not_archived(project_id)
    if not isinstance(files, list) or not files:
        raise ApiError(400, "no_files", "Send at least one file in 'files'.")
    if len(files) > 500:
        raise ApiError(400, "too_many_files", "Send at most 500 files in one batch.")
    items = []
    for spec in files:
        try:
            items.append(_start_one(ctx, user, project_id, spec))
        except ApiError as err:
            name = spec.get("filename") if isinstance(spec, dict) else None
            name = name if isinstance(name, str) else None  # echo only what can be a name
            items.append({"filename": name, "error": err.code, "message": err.message})
    return items, any("upload_id" in item for item in items)


def _start_one(ctx: Ingest, user, project_id: str, spec: object) -> dict:
    if not isinstance(spec, dict):
        raise ApiError(400, "invalid_file", "Each entry of 'files' must be an object.")
    try:
        filename = check_filename(spec.get("filename"))
        asset_name = check_display_name(spec.get("asset") or default_asset_name(filename), "asset")
    except BadName as err:
        raise ApiError(400, "bad_filename", str(err)) from None
    size = spec.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ApiError(400, "bad_size", f"{filename}: 'size' must be the file's size in bytes.")
    if size == 0:
        raise ApiError(400, "empty_file", f"{filename} is empty (0 bytes); there is nothing to review.")
    if size > ctx.settings.max_upload_bytes:
        raise ApiError(
            413, "too_large",
            f"{filename} is {size} bytes; the limit is {ctx.settings.max_upload_bytes} bytes.",
        )
    fingerprint = spec.get("fingerprint")
    if not isinstance(fingerprint, str) or not 8 <= len(fingerprint) <= 128:
        raise ApiError(400, "bad_fingerprint", f"{filename}: 'fingerprint' must identify the local file.")

    # The asset itself is made only when a version is accepted, so a refused
    # file leaves no empty asset behind.
    resume_key = hashlib.sha256(
        "|".join([user.id, project_id, records.name_key(asset_name), filename, str(size), fingerprint]).encode()
    ).hexdigest()
    fresh_id = records.new_id()
    upload_id = records.claim_open_upload(ctx.db, resume_key, fresh_id)
    upload = records.get_upload(ctx.db, upload_id)
    if upload is None:
        _check_open_upload_limit(ctx, user, filename, resume_key, upload_id if upload_id == fresh_id else None)
        upload = _open_multipart(ctx, user, project_id, asset_name, filename, size, upload_id, resume_key)
    return describe_upload(ctx, upload)


def _check_open_upload_limit(ctx: Ingest, user, filename: str, resume_key: str, claimed_id: str | None) -> None:
    # A soft limit (a count, then an insert): two racing starts may both pass at
    # the limit, which only lets one extra upload in; resuming is never refused.
    limit = ctx.settings.max_open_uploads_per_user
    if records.count_open_uploads(ctx.db, user.id) >= limit:
        if claimed_id:  # our claim on this file: let it go, nothing was opened
            records.release_open_upload(ctx.db, resume_key, claimed_id)
        raise ApiError(
            429, "too_many_open_uploads",
            f"{filename}: you have {limit} unfinished uploads, the most one user may have open "
            f"(max_open_uploads_per_user = {limit}). Finish or abort some, then start this one again.",
            limit=limit,
        )


def _open_multipart(ctx, user, project_id, asset_name, filename, size, upload_id, resume_key) -> dict:
    key = f"{project_id}/{upload_id}/{filename}"
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    upload = {
        "_id": upload_id,
        "project_id": project_id,
        "asset_name": asset_name,
        "filename": filename,
        "size": size,
        "part_size": part_size_for(size),
        "bucket": ctx.masters,
        "key": key,
        "s3_upload_id": ctx.store.start_multipart(ctx.masters, key, content_type),
        "resume_key": resume_key,
        "state": "open",
        "created_by": user.id,
        "created_at": records.now(),
    }
    if not records.insert_upload(ctx.db, upload):
        # Another client starting the same file got there first (a watch folder
        # firing twice): use its upload, and drop the multipart upload nobody will send to.
        ctx.store.abort_multipart(ctx.masters, key, upload["s3_upload_id"])
        return records.get_upload(ctx.db, upload_id)
    return upload


def describe_upload(ctx: Ingest, upload: dict) -> dict:
    """The client's view: which parts are stored, and fresh URLs for the rest."""
    count = part_count(upload["size"], upload["part_size"])
    stored = _stored_parts(ctx, upload) if upload["state"] == "open" else []
    # A part cut off mid-transfer can be stored at the wrong size: send it again.
    done = [p for p in stored if p.size == expected_part_size(upload, p.number)]
    done_numbers = {p.number for p in done}
    urls = [
        {"number": n, "url": ctx.store.presign_part(upload["bucket"], upload["key"], upload["s3_upload_id"], n,
                                                    URL_LIFETIME, expected_part_size(upload, n))}
        for n in range(1, count + 1)
        if n not in done_numbers
    ] if upload["state"] == "open" else []
    return {
        "upload_id": upload["_id"],
        "state": upload["state"],
        "filename": upload["filename"],
        "asset_id": upload.get("asset_id"),
        "asset_name": upload["asset_name"],
        "size": upload["size"],
        "part_size": upload["part_size"],
        "part_count": count,
        "parts": urls,
        "parts_done": [{"number": p.number, "size": p.size, "etag": p.etag} for p in done],
        "version_id": upload.get("version_id"),
    }


def expected_part_size(upload: dict, number: int) -> int:
    return min(upload["part_size"], upload["size"] - (number - 1) * upload["part_size"])


def _stored_parts(ctx: Ingest, upload: dict) -> list[StoredPart]:
    try:
        return ctx.store.list_parts(upload["bucket"], upload["key"], upload["s3_upload_id"])
    except S3Error as err:
        if err.code == "NoSuchUpload":
            return []
        raise


def load_upload(ctx: Ingest, user, upload_id: str) -> dict:
    upload = records.get_upload(ctx.db, upload_id)
    missing = ApiError(404, "unknown_upload", f"There is no open upload {upload_id!r}.")
    if upload is None or (upload["created_by"] != user.id and not user.is_admin):
        raise missing
    # Still allowed to upload there: a removed member's upload is gone to them, a viewer's refused.
    access.require(ctx.db, user, upload["project_id"], "upload", not_found=missing)
    return upload


# Completing -----------------------------------------------------------------
#
# Completion is asynchronous (services/ingest/completions.py): `complete`
# checks what it can check at once (the hash's form, every part stored) and
# records the request; `run_completion` does the slow work in the background.

def complete(ctx: Ingest, user, upload_id: str, declared_sha256: object) -> dict:
    """Ask for an upload to become a version; returns its completion status.

    Idempotent: a retried call (or several clients completing the same upload)
    lands on the same completion, and so on the same version."""
    found = completions.get(ctx.db, upload_id)
    if found is not None and _may_see(user, found) and (
            found["state"] == completions.DONE or _is_final_failure(found)):
        return completion_status(ctx, user, upload_id)
    upload = load_upload(ctx, user, upload_id)
    sha = declared_sha256.lower() if isinstance(declared_sha256, str) else ""
    if len(sha) != 64 or not set(sha) <= SHA256_HEX:
        raise ApiError(400, "bad_sha256", "'sha256' must be the 64-character hex SHA-256 of the whole file.")
    if ctx.ensure_not_archived:
        ctx.ensure_not_archived(upload["project_id"])
    if upload["state"] == "open":
        _check_all_parts_stored(ctx, upload)
    completion, _ = completions.request(ctx.db, upload, sha, user.id)
    if completion["state"] == completions.FAILED:
        completion = completions.retry(ctx.db, upload_id, sha)
    elif completion["state"] == completions.PENDING and completion["sha256"] != sha:
        raise ApiError(409, "completion_in_progress",
                       f"{upload['filename']} is being completed with SHA-256 {completion['sha256']}, not {sha}.")
    if upload["state"] == "open":
        # From here on the upload takes no more parts (describe_upload hands out no URLs).
        records.set_upload_state(ctx.db, upload_id, "completing")
    if ctx.on_completion_requested:
        ctx.on_completion_requested()
    return completion_status(ctx, user, upload_id)


def completion_status(ctx: Ingest, user, upload_id: str) -> dict:
    """The status resource a client polls: completing, done (with the version) or failed."""
    found = completions.get(ctx.db, upload_id)
    missing = ApiError(404, "unknown_completion", f"Upload {upload_id!r} has not been completed.")
    if found is None or not _may_see(user, found):
        raise missing
    if found.get("project_id"):  # and only while they may still see the project
        access.require(ctx.db, user, found["project_id"], "view", not_found=missing)
    version = records.get_version(ctx.db, found["version_id"]) if found.get("version_id") else None
    state = {completions.PENDING: "completing", completions.DONE: "done", completions.FAILED: "failed"}[found["state"]]
    return {"upload_id": upload_id, "filename": found["filename"], "state": state, "sha256": found["sha256"],
            "version_id": found.get("version_id"), "version": version, "failure": found.get("failure")}


def _may_see(user, completion: dict) -> bool:
    return completion["created_by"] == user.id or user.is_admin


def _is_final_failure(completion: dict) -> bool:
    return completion["state"] == completions.FAILED and not (completion.get("failure") or {}).get("retryable")


def run_completion(ctx: Ingest, completion: dict) -> None:
    """Verify and probe the stored master, then number the version and announce it.

    Runs in the background (completions.CompletionRunner). Every id derives from the
    upload (upload -> version -> event), so a second run lands on the same records.
    Bad media is discarded; a slow server never is: a timeout fails the completion
    as retryable and keeps the master."""
    upload_id = completion["_id"]
    upload = records.get_upload(ctx.db, upload_id)
    if upload is None:
        completions.mark_failed(ctx.db, upload_id, "unknown_upload", "The upload no longer exists.", retryable=False)
        return
    if upload["state"] == "completed":
        completions.mark_done(ctx.db, upload_id, upload["version_id"])
        return
    sha = completion["sha256"]
    try:
        _assemble(ctx, upload)
        facts = _verify_and_probe(ctx, upload, sha)
    except ApiError as err:
        retryable = err.code in RETRYABLE
        if err.code == "incomplete_upload":
            records.set_upload_state(ctx.db, upload_id, "open")  # takes parts again
        elif not retryable:
            discard(ctx, upload)
        completions.mark_failed(ctx.db, upload_id, err.code, err.message, retryable)
        return

    asset = records.get_or_create_asset(ctx.db, upload["project_id"], upload["asset_name"], upload["created_by"])
    version_id = event_id_for("version", upload["_id"])
    version = records.insert_next_version(ctx.db, {
        "_id": version_id,
        "project_id": upload["project_id"],
        "asset_id": asset["_id"],
        "asset_name": asset["name"],
        "asset_name_key": asset["name_key"],
        "filename": upload["filename"],
        "size": upload["size"],
        "sha256": sha,
        "master_bucket": upload["bucket"],
        "master_key": upload["key"],
        "facts": facts.to_dict(),
        "upload_id": upload["_id"],
        "created_by": upload["created_by"],
        "created_at": records.now(),
    })
    record_event(ctx.db, VersionUploaded(
        event_id=event_id_for("version_uploaded", version_id),
        project_id=version["project_id"],
        asset_id=version["asset_id"],
        version_id=version_id,
        version_number=version["number"],
        master_bucket=version["master_bucket"],
        master_key=version["master_key"],
        sha256=sha,
        size=version["size"],
        media_kind=facts.kind,
        uploaded_by=upload["created_by"],
        facts=facts.to_dict(),
    ))
    records.mark_upload_completed(ctx.db, upload["_id"], version_id, asset["_id"])
    records.release_open_upload(ctx.db, upload["resume_key"], upload["_id"])
    completions.mark_done(ctx.db, upload_id, version_id)
    log.info("version uploaded", extra={"version_id": version_id, "number": version["number"]})


def start_completion_runner(ctx: Ingest) -> completions.CompletionRunner:
    """This process's background runner for completions (and the periodic upload chores)."""
    settings = ctx.settings

    def chores() -> None:
        if completions.claim_period(ctx.db, "abandoned-uploads", settings.abandoned_upload_seconds / 10):
            sweep_abandoned(ctx, settings.abandoned_upload_seconds)

    runner = completions.CompletionRunner(
        ctx.db, lambda completion: run_completion(ctx, completion), chores=chores,
        lease_seconds=settings.completion_lease_seconds, poll_seconds=settings.completion_poll_seconds,
    )
    ctx.on_completion_requested = runner.wake
    return runner.start()


# Failures that say nothing about the file: the master is kept and completing again retries.
RETRYABLE = frozenset({"probe_timeout", "incomplete_upload", "store_unavailable"})


def _check_all_parts_stored(ctx: Ingest, upload: dict) -> None:
    """Every part is stored at its size, or the object was already assembled; else 409."""
    parts = _stored_parts(ctx, upload)
    if parts or not ctx.store.exists(upload["bucket"], upload["key"]):
        _check_parts(upload, parts)


def _check_parts(upload: dict, parts: list[StoredPart]) -> None:
    # A presigned part URL cannot bind its body's length on every S3 store, so the
    # sizes are enforced here: each part exactly its planned size.
    expected = part_count(upload["size"], upload["part_size"])
    numbers = {p.number for p in parts}
    missing = sorted(set(range(1, expected + 1)) - numbers)
    wrong = sorted(p.number for p in parts if p.number > expected or p.size != expected_part_size(upload, p.number))
    if missing or wrong:
        stored = sum(p.size for p in parts)
        raise ApiError(
            409, "incomplete_upload",
            f"{upload['filename']}: {stored} of {upload['size']} bytes are stored"
            + (f"; parts {missing[:10]} are missing" if missing else "")
            + (f"; parts {wrong[:10]} are not their planned size" if wrong else "")
            + ". Send those parts again (rerun the upload) and complete again.",
            parts_missing=missing[:100], parts_wrong_size=wrong[:100],
        )


def _assemble(ctx: Ingest, upload: dict) -> None:
    """Join the parts into the master object, unless an earlier attempt did."""
    parts = _stored_parts(ctx, upload)
    if not parts and ctx.store.exists(upload["bucket"], upload["key"]):
        return
    _check_parts(upload, parts)
    ctx.store.complete_multipart(upload["bucket"], upload["key"], upload["s3_upload_id"], parts)


def _verify_and_probe(ctx: Ingest, upload: dict, sha: str):
    """Hash the stored object as it streams (no local copy), then probe it over a
    short-lived presigned URL (no local copy either)."""
    actual_sha, size = ctx.store.sha256_of(upload["bucket"], upload["key"])
    if size != upload["size"]:
        raise ApiError(422, "size_mismatch", f"{upload['filename']}: stored {size} bytes, expected {upload['size']}.")
    if actual_sha != sha:
        raise ApiError(
            422, "checksum_mismatch",
            f"{upload['filename']}: the stored bytes have SHA-256 {actual_sha}, not {sha}; "
            "the file changed or was damaged in transit. Upload it again.",
        )
    settings = ctx.settings
    url = ctx.store.presign_internal_get(upload["bucket"], upload["key"], PROBE_URL_LIFETIME)
    try:
        return probe_url(url, size, ctx.store.read_head(upload["bucket"], upload["key"], 512),
                         settings.ffprobe_timeout_seconds, settings.ffprobe_count_timeout_seconds)
    except MediaRejected as err:
        raise ApiError(422, err.code, f"{upload['filename']}: {err.message}") from None


def sweep_abandoned(ctx: Ingest, older_than_seconds: float) -> int:
    """Discard open uploads started longer ago than the given age (parts sent to
    presigned URLs and never completed); returns how many. Safe to run anywhere at
    once: discarding twice is harmless, and the runner claims each sweep by an insert."""
    swept = 0
    cutoff = records.now() - timedelta(seconds=older_than_seconds)
    for upload in records.open_uploads_started_before(ctx.db, cutoff):
        log.info("discarding an abandoned upload", extra={"upload_id": upload["_id"]})
        discard(ctx, upload)
        swept += 1
    # Multipart uploads with no record at all (a process died between opening one
    # and recording it); those with a record belong to an upload that is not abandoned.
    for key, s3_upload_id in ctx.store.stale_multipart_uploads(ctx.masters, cutoff):
        if not records.upload_with_s3_id(ctx.db, s3_upload_id):
            ctx.store.abort_multipart(ctx.masters, key, s3_upload_id)
            swept += 1
    return swept


def discard(ctx: Ingest, upload: dict) -> None:
    """Remove every trace of an upload that will not become a version."""
    ctx.store.abort_multipart(upload["bucket"], upload["key"], upload["s3_upload_id"])
    if ctx.store.exists(upload["bucket"], upload["key"]):
        ctx.store.remove(upload["bucket"], upload["key"])
    records.release_open_upload(ctx.db, upload["resume_key"], upload["_id"])
    records.delete_upload(ctx.db, upload["_id"])


def abort(ctx: Ingest, user, upload_id: str) -> None:
    upload = load_upload(ctx, user, upload_id)
    if upload["state"] == "completed":
        raise ApiError(409, "already_completed", "This upload is already a version; versions are never deleted here.")
    if upload["state"] == "completing":
        # Another client (or a rerun) may be waiting on this completion.
        raise ApiError(409, "completion_in_progress",
                       f"{upload['filename']} is being completed; it cannot be aborted now.")
    discard(ctx, upload)
