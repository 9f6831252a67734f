"""The rules of review links, as pure functions: tokens, who may open a link,
whether it is live, what its reviewers see. No I/O.

A link is `internal` (the production team: every note) or `client` (only
client-visible notes). Its token carries 256 random bits and only its
SHA-256 is stored, so a leaked database opens no link.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

KINDS = ("internal", "client")
AUDIENCE = {"internal": "team", "client": "client"}
MAX_STAGE = 80
MAX_BRIEF = 2000
MAX_DOMAINS = 50
_EMAIL = re.compile(r"^[^@\s]{1,64}@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


class LinkRefused(ValueError):
    """A request a link's rules refuse; `status` is the HTTP status, `code` stable."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise LinkRefused(400, "bad_kind", f"'kind' must be one of {', '.join(KINDS)}.")
    return kind


def check_stage(stage: object) -> str:
    if not isinstance(stage, str) or not stage.strip() or len(stage.strip()) > MAX_STAGE:
        raise LinkRefused(400, "bad_stage", f"'stage' is a label of 1 to {MAX_STAGE} characters (e.g. \"First cut\").")
    return stage.strip()


def check_brief(brief: object) -> str:
    if brief is None:
        return ""
    if not isinstance(brief, str) or len(brief) > MAX_BRIEF:
        raise LinkRefused(400, "bad_brief", f"'brief' is text of at most {MAX_BRIEF} characters.")
    return brief.strip()


def check_domains(domains: object) -> list[str]:
    """Allowed e-mail domains, lower-cased; empty means anyone."""
    if domains is None:
        return []
    if not isinstance(domains, list) or len(domains) > MAX_DOMAINS:
        raise LinkRefused(400, "bad_domains", f"'allowed_domains' is a list of at most {MAX_DOMAINS} domains.")
    clean = []
    for d in domains:
        if not isinstance(d, str) or not _DOMAIN.match(d.strip().lstrip("@")):
            raise LinkRefused(400, "bad_domains", f"{d!r} is not a domain like agency.example.")
        clean.append(d.strip().lstrip("@").lower())
    return sorted(set(clean))


def check_expiry(expires_at: object, now: datetime) -> datetime | None:
    """An aware datetime in the future, or None for a link that does not expire."""
    if expires_at is None:
        return None
    if not isinstance(expires_at, str):
        raise LinkRefused(400, "bad_expiry", "'expires_at' is an ISO-8601 time with a zone, e.g. 2026-12-31T18:00:00Z.")
    try:
        when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        raise LinkRefused(400, "bad_expiry", f"{expires_at!r} is not an ISO-8601 time.") from None
    if when.tzinfo is None:
        raise LinkRefused(400, "bad_expiry", "'expires_at' needs a time zone (e.g. Z for UTC).")
    if when <= now:
        raise LinkRefused(400, "expiry_in_past", "'expires_at' is already past.")
    return when


def reviewer_email(email: object, domains: list[str]) -> str:
    """The reviewer's e-mail, lower-cased, if it is one and its domain is allowed."""
    match = _EMAIL.match(email.strip()) if isinstance(email, str) else None
    if not match:
        raise LinkRefused(400, "bad_email", "Give your e-mail address (name@company.example).")
    if domains and match.group(1).lower() not in domains:
        raise LinkRefused(403, "email_domain_not_allowed",
                          f"This link is for addresses at {', '.join(domains)}; ask whoever sent it for access.")
    return email.strip().lower()


def reviewer_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise LinkRefused(400, "bad_name", "Give your name (1 to 100 characters).")
    return " ".join(name.split())


def link_state(link: dict, now: datetime) -> str:
    """`revoked`, `expired` or `active`; revocation wins, it is the deliberate act."""
    if link.get("revoked_at"):
        return "revoked"
    if link.get("expires_at") and link["expires_at"] <= now:
        return "expired"
    return "active"


def ensure_live(link: dict, now: datetime) -> None:
    """Refuse anything through a link that is revoked or expired (410: it will not come back)."""
    state = link_state(link, now)
    if state == "revoked":
        raise LinkRefused(410, "link_revoked", "This review link was revoked; ask whoever sent it for a new one.")
    if state == "expired":
        raise LinkRefused(410, "link_expired", "This review link has expired; ask whoever sent it for a new one.")


def ensure_may_comment(link: dict) -> None:
    if not link.get("comments", True):
        raise LinkRefused(403, "comments_disabled", "Comments are turned off on this review link.")


def ensure_may_download(link: dict) -> None:
    if not link.get("download", False):
        raise LinkRefused(403, "download_disabled", "Downloads are turned off on this review link.")


def audience(link: dict) -> str:
    """Whose notes a link's reviewers see: `team` (internal link) or `client`."""
    return AUDIENCE[link["kind"]]


def password_backoff_seconds(recent_failures: int, free: int = 5, cap: float = 300.0) -> float:
    """How long a link's password must rest after `recent_failures` wrong guesses from one address."""
    if recent_failures < free:
        return 0.0
    return min(cap, 2.0 ** (recent_failures - free + 1))


def check_new_password(password: object) -> str | None:
    """A link password as set by its owner: None (no password) or 4 to 200 characters."""
    if password is None or password == "":
        return None
    if not isinstance(password, str) or not 4 <= len(password) <= 200:
        raise LinkRefused(400, "bad_password", "A link password is 4 to 200 characters.")
    return password


def check_flag(name: str, value: object, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise LinkRefused(400, f"bad_{name}", f"'{name}' is true or false.")
    return value


def is_reviewers_own(note: dict, link: dict, session: dict) -> bool:
    """Whether a link reviewer wrote this note: through this link, under the e-mail this session gave.

    A reviewer has no account; the e-mail they give on the link is who they
    are there, so a note stays theirs in a later session of the same link.
    """
    author = note.get("author") or {}
    return (note.get("link_id") == link["_id"] and author.get("user_id") is None
            and (author.get("email") or "").lower() == (session.get("email") or "").lower())
