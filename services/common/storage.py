"""Object storage through the minio SDK: MinIO, AWS S3 or any S3 API.

Uploads go from the client straight to the store through presigned multipart
part URLs; the service only starts, inspects, completes or aborts them.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO
from typing import BinaryIO
from urllib.parse import quote

from minio import Minio
from minio.datatypes import Part
from minio.error import S3Error
from minio.helpers import queryencode

READ_CHUNK = 8 * 1024 * 1024
BUCKETS = ("masters", "renditions", "certificates", "exports")


def presign_with_length(settings, method: str, bucket: str, key: str, expires: timedelta, length: int,
                        query: dict[str, str], now: datetime | None = None) -> str:
    """A SigV4 presigned path-style URL on the public endpoint that signs Content-Length too."""
    date = now or datetime.now(timezone.utc)
    scope = f"{date:%Y%m%d}/{settings.s3_region}/s3/aws4_request"
    host = settings.s3_public_endpoint
    path = quote(f"/{bucket}/{key}", safe="/~")
    params = {**query, "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
              "X-Amz-Credential": f"{settings.s3_access_key}/{scope}",
              "X-Amz-Date": date.strftime("%Y%m%dT%H%M%SZ"),
              "X-Amz-Expires": str(int(expires.total_seconds())),
              "X-Amz-SignedHeaders": "content-length;host"}
    canonical_query = "&".join(f"{queryencode(k)}={queryencode(v)}" for k, v in sorted(params.items()))
    canonical_request = "\n".join([method, path, canonical_query, f"content-length:{length}\nhost:{host}\n",
                                   "content-length;host", "UNSIGNED-PAYLOAD"])
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", date.strftime("%Y%m%dT%H%M%SZ"), scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    signing_key = f"AWS4{settings.s3_secret_key}".encode()
    for part in (f"{date:%Y%m%d}", settings.s3_region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    scheme = "https" if settings.s3_secure else "http"
    return f"{scheme}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}"


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str


class ObjectStore:
    def __init__(self, settings):
        self.settings = settings
        kwargs = dict(
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,  # a fixed region avoids a lookup request
        )
        self.client = Minio(settings.s3_endpoint, **kwargs)

    def bucket(self, name: str) -> str:
        return self.settings.bucket(name)

    def ensure_buckets(self) -> None:
        for name in BUCKETS:
            bucket = self.bucket(name)
            if not self.client.bucket_exists(bucket):
                try:
                    self.client.make_bucket(bucket)
                except S3Error as err:  # another process made it meanwhile
                    if err.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    def ping(self) -> None:
        self.client.bucket_exists(self.bucket("masters"))

    # The minio SDK keeps its multipart primitives private (they back
    # put_object); presigned part uploads need them directly.
    def start_multipart(self, bucket: str, key: str, content_type: str) -> str:
        return self.client._create_multipart_upload(bucket, key, {"Content-Type": content_type})

    def presign_part(self, bucket: str, key: str, upload_id: str, number: int, expires: timedelta,
                     length: int) -> str:
        """A part's PUT URL that only accepts a body of exactly `length` bytes.

        SigV4 can sign the Content-Length header, so the store itself refuses any
        other size (tried on the Versity gateway: 403 SignatureDoesNotMatch). The
        minio SDK presigns with the host header only, hence this small signer."""
        return presign_with_length(self.settings, "PUT", bucket, key, expires, length,
                                   {"uploadId": upload_id, "partNumber": str(number)})

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        marker = None
        while True:
            result = self.client._list_parts(bucket, key, upload_id, max_parts=1000, part_number_marker=marker)
            parts.extend(StoredPart(p.part_number, p.size, p.etag) for p in result.parts)
            if not result.is_truncated:
                return parts
            marker = str(result.next_part_number_marker)

    def complete_multipart(self, bucket: str, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        self.client._complete_multipart_upload(
            bucket, key, upload_id, [Part(p.number, p.etag) for p in sorted(parts, key=lambda p: p.number)]
        )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self.client._abort_multipart_upload(bucket, key, upload_id)
        except S3Error as err:
            if err.code != "NoSuchUpload":
                raise

    def open_multipart_uploads(self, bucket: str, prefix: str) -> list[str]:
        """Upload ids still open under a prefix (tests check nothing is left behind)."""
        result = self.client._list_multipart_uploads(bucket, prefix=prefix)
        return [u.upload_id for u in result.uploads]

    def stale_multipart_uploads(self, bucket: str, started_before: datetime) -> list[tuple[str, str]]:
        """(key, upload id) of multipart uploads started before a time (first 1,000)."""
        result = self.client._list_multipart_uploads(bucket, max_uploads=1000)
        return [(u.object_name, u.upload_id) for u in result.uploads
                if u.initiated_time is not None and u.initiated_time < started_before]

    def copy_to_file(self, bucket: str, key: str, out: BinaryIO | None) -> tuple[str, int]:
        """Stream an object (into a file, or nowhere), returning its SHA-256 and size; bounded memory."""
        digest = hashlib.sha256()
        size = 0
        response = self.client.get_object(bucket, key)
        try:
            for chunk in response.stream(READ_CHUNK):
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
                size += len(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest(), size

    def sha256_of(self, bucket: str, key: str) -> tuple[str, int]:
        """SHA-256 and size of a stored object, streamed: bounded memory, nothing on local disk."""
        return self.copy_to_file(bucket, key, None)

    def read_head(self, bucket: str, key: str, length: int) -> bytes:
        """The first `length` bytes of an object (a ranged GET)."""
        response = self.client.get_object(bucket, key, offset=0, length=length)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def presign_internal_get(self, bucket: str, key: str, expires: timedelta) -> str:
        """A GET URL on the store's internal address, for a tool of this service (ffprobe) to read."""
        return self.client.presigned_get_object(bucket, key, expires=expires)

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.client.stat_object(bucket, key)
            return True
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Store a small object (a certificate, a report) from memory."""
        self.client.put_object(bucket, key, BytesIO(data), len(data), content_type=content_type)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        """Read a small object whole (never a master or a rendition)."""
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def remove(self, bucket: str, key: str) -> None:
        self.client.remove_object(bucket, key)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [o.object_name for o in self.client.list_objects(bucket, prefix=prefix, recursive=True)]
