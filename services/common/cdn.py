"""Signed playback URLs for the CDN, and the secrets the CDN shares with us.

A playback URL is `/cdn/<token>/<expires>/<project_id>/<version_id>/<path>`.
The token covers the expiry and the `<project_id>/<version_id>` scope, not the
file, so the relative URIs inside HLS playlists (`720p/index.m3u8`,
`seg_00001.m4s`) resolve to URLs that carry the same valid token, and no
playlist is rewritten per viewer.

The local stack's CDN is nginx, whose `secure_link` module can only check an
MD5 of a string: the secret is put both before and after the signed fields
(an envelope), so the token cannot be extended to another scope or expiry
without the secret. A production CDN (CloudFront, Fastly) checks its own
signature format; only this module and the CDN config change.

Standard library only: framegate/stack.py renders these secrets into nginx.conf.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time

PREFIX = "/cdn"
DEFAULT_TTL_SECONDS = 60  # short: a player refreshes its URLs (settings.playback_ttl_seconds)
ORIGIN_KEY_HEADER = "X-Framegate-Origin-Key"
# The CDN also passes the viewer's signed token and expiry on, so the origin
# key alone (a constant the CDN holds) fetches nothing.
TOKEN_HEADER = "X-Framegate-CDN-Token"
EXPIRES_HEADER = "X-Framegate-CDN-Expires"
_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _derive(secret_key: str, purpose: str) -> str:
    return hmac.new(secret_key.encode(), f"framegate-cdn:{purpose}".encode(), hashlib.sha256).hexdigest()


def signing_secret_from_env(env: dict) -> str:
    """The URL-signing secret: FRAMEGATE_CDN_SECRET, else derived from FRAMEGATE_SECRET_KEY."""
    return env.get("FRAMEGATE_CDN_SECRET") or _derive(env.get("FRAMEGATE_SECRET_KEY", ""), "url-signing")


def origin_key_from_env(env: dict) -> str:
    """The header secret nginx sends to the origin, derived from FRAMEGATE_SECRET_KEY."""
    return _derive(env.get("FRAMEGATE_SECRET_KEY", ""), "origin")


def _env_of(settings) -> dict:
    return {"FRAMEGATE_SECRET_KEY": settings.secret_key,
            "FRAMEGATE_CDN_SECRET": os.environ.get("FRAMEGATE_CDN_SECRET", "")}


def signing_secret(settings) -> str:
    return signing_secret_from_env(_env_of(settings))


def origin_key(settings) -> str:
    return origin_key_from_env(_env_of(settings))


def token_for(secret: str, expires: int, scope: str) -> str:
    """What nginx computes: base64url(md5(secret:expires:scope:secret)), unpadded."""
    digest = hashlib.md5(f"{secret}:{expires}:{scope}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signature_valid(secret: str, token: str, expires: str, scope: str, now: float | None = None) -> bool:
    """The check the CDN made, made again: the token fits the scope and expiry, which is not past."""
    if not token or not expires.isdigit() or int(expires) <= (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(token.encode(), token_for(secret, int(expires), scope).encode())


def scope_of(project_id: str, version_id: str) -> str:
    for value in (project_id, version_id):
        if not isinstance(value, str) or not _ID.match(value):
            raise ValueError(f"not an id: {value!r}")
    return f"{project_id}/{version_id}"


def sign_playback_path(settings, project_id: str, version_id: str, path: str = "",
                       ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
    """`/cdn/<token>/<expires>/<project>/<version>/<path>`; an empty path gives the base (ends in /)."""
    if path and (not _PATH.match(path) or {".", ".."} & set(path.split("/"))):
        raise ValueError(f"not a rendition path: {path!r}")
    scope = scope_of(project_id, version_id)
    expires = int(now if now is not None else time.time()) + int(ttl)
    token = token_for(signing_secret(settings), expires, scope)
    return f"{PREFIX}/{token}/{expires}/{scope}/{path}"


def expiry_of(signed: str) -> int:
    """The expiry (Unix seconds) written into a signed path or URL."""
    return int(signed.split(PREFIX + "/", 1)[1].split("/")[1])
def cdn_origin(settings) -> str:
    """Where playback URLs point: FRAMEGATE_CDN_URL when set (production), else
    '' (the platform's own address, whose nginx is the CDN locally)."""
    return (getattr(settings, "cdn_url", "") or "").rstrip("/")


def sign_playback_link(settings, project_id: str, version_id: str, path: str = "",
                       ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
    """A signed URL for pages: on the CDN's address when there is one, else a same-origin path."""
    return cdn_origin(settings) + sign_playback_path(settings, project_id, version_id, path, ttl, now)


def sign_playback_url(settings, project_id: str, version_id: str, path: str = "hls/master.m3u8",
                      ttl: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
    """An absolute signed URL on the CDN (any HLS client can play it)."""
    base = cdn_origin(settings) or settings.public_url.rstrip("/")
    return base + sign_playback_path(settings, project_id, version_id, path, ttl, now)


def playback_grant(settings, project_id: str, version_id: str) -> dict:
    """One viewing session's fresh CDN URLs (what a player's renewal gets): short-lived, renewed by the page."""
    ttl = settings.playback_ttl_seconds
    base = sign_playback_link(settings, project_id, version_id, ttl=ttl)
    return {"cdn_base": base, "master": base + "hls/master.m3u8", "expires_in": ttl, "expires_at": expiry_of(base)}
