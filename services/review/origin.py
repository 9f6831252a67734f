"""The CDN's origin: streams objects of the renditions bucket to nginx.

Only nginx calls it: the route answers 404 to anyone who does not send the
origin key (derived from FRAMEGATE_SECRET_KEY) from a loopback address, and
nginx refuses /_origin/ from outside. nginx checks the signed URL and passes
the viewer's token and expiry on; the route checks them again, so the origin
key alone (which the CDN holds for good) reaches nothing without a signed,
unexpired URL for that version.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import re

from flask import Blueprint, Response, abort, request
from minio.error import S3Error

from services.common import cdn
from services.common.web import public

CHUNK = 256 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "jpg": "image/jpeg",
    "png": "image/png",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}
# Segments, posters and sprites never change once written; a playlist does
# while the ladder is still encoding (an EVENT playlist without ENDLIST).
IMMUTABLE = "public, max-age=86400, immutable"
GROWING = "public, max-age=1"


def cache_control(key: str, body: bytes | None) -> str:
    """How long the CDN may keep an object (playlists: only once complete)."""
    if key.endswith(".m3u8") and body is not None and b"#EXT-X-ENDLIST" not in body:
        return GROWING  # includes master playlists, which are tiny
    return IMMUTABLE


def cdn_peers() -> list:
    """Networks the CDN connects from: loopback on one machine; in a cluster the
    pod network (FRAMEGATE_ORIGIN_PEERS), where a NetworkPolicy admits only the CDN."""
    text = os.environ.get("FRAMEGATE_ORIGIN_PEERS", "127.0.0.0/8,::1/128")
    return [ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip()]


def _signed_for(settings, key: str) -> bool:
    """The viewer's signed token for this object's version, not expired."""
    scope = "/".join(key.split("/")[:2])
    return cdn.signature_valid(cdn.signing_secret(settings), request.headers.get(cdn.TOKEN_HEADER, ""),
                               request.headers.get(cdn.EXPIRES_HEADER, ""), scope)


def _on_origin_port() -> bool:
    """In a cluster the origin has a port of its own (FRAMEGATE_ORIGIN_PORT)
    that a NetworkPolicy opens to the CDN only; the route answers nowhere else."""
    wanted = os.environ.get("FRAMEGATE_ORIGIN_PORT")
    if not wanted:
        return True  # one machine: loopback and the key decide
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    return (original.get("SERVER_PORT") or request.environ.get("SERVER_PORT")) == wanted


def _from_nginx(settings, peers: list) -> bool:
    sent = request.headers.get(cdn.ORIGIN_KEY_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), cdn.origin_key(settings).encode()):
        return False
    # The socket's peer, not what ProxyFix took from X-Forwarded-For.
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    peer = original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR", "")
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in peers if network.version == address.version)


def origin_blueprint(settings, store) -> Blueprint:
    bp = Blueprint("origin", __name__)
    peers = cdn_peers()
    bucket = settings.bucket("renditions")

    @bp.get("/_origin/renditions/<path:key>")
    @public
    def rendition(key: str):
        if not _on_origin_port() or not _from_nginx(settings, peers) or not _KEY.match(key) or ".." in key.split("/") \
                or not _signed_for(settings, key):
            abort(404)
        kind = CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
        try:
            obj = store.client.get_object(bucket, key)
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject", "NotFound", "NoSuchBucket"):
                return Response("not found\n", 404, {"Cache-Control": "no-store"}, mimetype="text/plain")
            raise
        headers = {"Content-Length": obj.headers.get("Content-Length", "")}
        if key.endswith(".m3u8"):
            try:
                body = obj.read()
            finally:
                obj.close()
                obj.release_conn()
            return Response(body, 200, {"Cache-Control": cache_control(key, body)}, content_type=kind)

        def stream():
            try:
                yield from obj.stream(CHUNK)
            finally:
                obj.close()
                obj.release_conn()

        headers["Cache-Control"] = cache_control(key, None)
        return Response(stream(), 200, {k: v for k, v in headers.items() if v}, content_type=kind,
                        direct_passthrough=True)

    return bp
