"""Upload use cases: start a batch, resume, complete (verify, probe, number), abort.

The bytes never pass through this service on the way in: clients PUT parts to
presigned S3 URLs. On completion the stored object is streamed once through
SHA-256 into a temporary file that ffprobe then reads.
"""
from __future__ import annotations

import hashlib
import logging
import math
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta

from minio.error import S3Error
from pymongo.database import Database

from services.common.events import VersionUploaded, event_id_for
from services.common.outbox import record_event
from services.common.storage import ObjectStore, StoredPart
from services.common.web import ApiError

from . import access, records
from .media_facts import MediaRejected
from .naming import BadName, check_display_name, check_filename, default_asset_name
from .probe import probe_file

log = logging.getLogger(__name__)

MIN_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
URL_LIFETIME = timedelta(hours=12)
SHA256_HEX = set("0123456789abcdef")


@dataclass
class Ingest:
    """What the use cases need, built once per process."""

    db: Database
    store: ObjectStore
    settings: object

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
    upload_id = records.claim_open_upload(ctx.db, resume_key, records.new_id())
    upload = records.get_upload(ctx.db, upload_id)
    if upload is None:
        upload = _open_multipart(ctx, user, project_id, asset_name, filename, size, upload_id, resume_key)
    return describe_upload(ctx, upload)


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
    records.insert_upload(ctx.db, upload)
    return upload


def describe_upload(ctx: Ingest, upload: dict) -> dict:
    """The client's view: which parts are stored, and fresh URLs for the rest."""
    count = part_count(upload["size"], upload["part_size"])
    stored = _stored_parts(ctx, upload) if upload["state"] == "open" else []
    # A part cut off mid-transfer can be stored at the wrong size: send it again.
    done = [p for p in stored if p.size == expected_part_size(upload, p.number)]
    done_numbers = {p.number for p in done}
    urls = [
        {"number": n, "url": ctx.store.presign_part(upload["bucket"], upload["key"], upload["s3_upload_id"], n, URL_LIFETIME)}
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

def complete(ctx: Ingest, user, upload_id: str, declared_sha256: object) -> dict:
    """Verify and probe the stored master, then number the version and announce it."""
    upload = load_upload(ctx, user, upload_id)
    if upload["state"] == "completed":  # a retried completion: same answer
        return records.get_version(ctx.db, upload["version_id"])
    sha = declared_sha256.lower() if isinstance(declared_sha256, str) else ""
    if len(sha) != 64 or not set(sha) <= SHA256_HEX:
        raise ApiError(400, "bad_sha256", "'sha256' must be the 64-character hex SHA-256 of the whole file.")

    _assemble(ctx, upload)
    try:
        facts = _verify_and_probe(ctx, upload, sha)
    except ApiError:
        discard(ctx, upload)
        raise

    asset = records.get_or_create_asset(ctx.db, upload["project_id"], upload["asset_name"], user.id)
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
        "created_by": user.id,
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
        uploaded_by=user.id,
        facts=facts.to_dict(),
    ))
    records.mark_upload_completed(ctx.db, upload["_id"], version_id, asset["_id"])
    records.release_open_upload(ctx.db, upload["resume_key"])
    log.info("version uploaded", extra={"version_id": version_id, "number": version["number"]})
    return version


def _assemble(ctx: Ingest, upload: dict) -> None:
    """Join the parts into the master object, unless an earlier attempt did."""
    parts = _stored_parts(ctx, upload)
    if not parts and ctx.store.exists(upload["bucket"], upload["key"]):
        return
    expected = part_count(upload["size"], upload["part_size"])
    numbers = sorted(p.number for p in parts)
    stored = sum(p.size for p in parts)
    if numbers != list(range(1, expected + 1)) or stored != upload["size"]:
        missing = sorted(set(range(1, expected + 1)) - set(numbers))
        raise ApiError(
            409, "incomplete_upload",
            f"{upload['filename']}: {stored} of {upload['size']} bytes are stored"
            + (f"; parts {missing[:10]} are missing" if missing else "; part sizes do not add up")
            + ". Send the missing parts (rerun the upload) and complete again.",
        )
    ctx.store.complete_multipart(upload["bucket"], upload["key"], upload["s3_upload_id"], parts)


def _verify_and_probe(ctx: Ingest, upload: dict, sha: str):
    tmp_dir = os.environ.get("FRAMEGATE_TMP") or None
    with tempfile.NamedTemporaryFile(prefix="master-", dir=tmp_dir) as tmp:
        actual_sha, size = ctx.store.copy_to_file(upload["bucket"], upload["key"], tmp)
        tmp.flush()
        if size != upload["size"]:
            raise ApiError(422, "size_mismatch", f"{upload['filename']}: stored {size} bytes, expected {upload['size']}.")
        if actual_sha != sha:
            raise ApiError(
                422, "checksum_mismatch",
                f"{upload['filename']}: the stored bytes have SHA-256 {actual_sha}, not {sha}; "
                "the file changed or was damaged in transit. Upload it again.",
            )
        try:
            return probe_file(tmp.name, ctx.settings.ffprobe_timeout_seconds)
        except MediaRejected as err:
            raise ApiError(422, err.code, f"{upload['filename']}: {err.message}") from None


def discard(ctx: Ingest, upload: dict) -> None:
    """Remove every trace of an upload that will not become a version."""
    ctx.store.abort_multipart(upload["bucket"], upload["key"], upload["s3_upload_id"])
    if ctx.store.exists(upload["bucket"], upload["key"]):
        ctx.store.remove(upload["bucket"], upload["key"])
    records.release_open_upload(ctx.db, upload["resume_key"])
    records.delete_upload(ctx.db, upload["_id"])


def abort(ctx: Ingest, user, upload_id: str) -> None:
    upload = load_upload(ctx, user, upload_id)
    if upload["state"] == "completed":
        raise ApiError(409, "already_completed", "This upload is already a version; versions are never deleted here.")
    discard(ctx, upload)
