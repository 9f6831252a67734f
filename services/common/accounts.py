"""Users, passwords and API tokens.

Passwords are hashed with Argon2id; API tokens carry 256 bits of randomness
and only their SHA-256 is stored, so a database leak does not leak tokens.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.database import Database

from .mongo import ASC, DESC, Index, insert_unique

ROLES = ("admin", "member")
TOKEN_PREFIX = "fg_"

INDEXES = [
    Index("users", (("email", ASC),), unique=True),
    Index("api_tokens", (("user_id", ASC),)),
    Index("login_attempts", (("email", ASC), ("at", DESC))),
    Index("login_attempts", (("ip", ASC), ("at", DESC))),
]

_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role}


def _user(doc: dict) -> User:
    return User(doc["_id"], doc["email"], doc["name"], doc["role"])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(db: Database, email: str, name: str, role: str, password: str) -> User | None:
    """A new user; None when the e-mail is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    doc = {
        "_id": uuid.uuid4().hex,
        "email": email.strip().lower(),
        "name": name,
        "role": role,
        "password_hash": _hasher.hash(password),
        "created_at": datetime.now(timezone.utc),
    }
    return _user(doc) if insert_unique(db.users, doc) else None


def issue_token(db: Database, user: User, name: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.api_tokens.insert_one(
        {"_id": _token_hash(token), "user_id": user.id, "name": name, "created_at": datetime.now(timezone.utc)}
    )
    return token


def user_for_token(db: Database, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = db.api_tokens.find_one({"_id": _token_hash(token)})
    if not record:
        return None
    doc = db.users.find_one({"_id": record["user_id"]})
    return _user(doc) if doc else None


def revoke_token(db: Database, token: str) -> None:
    db.api_tokens.delete_one({"_id": _token_hash(token)})


class LoginRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def login(db: Database, email: str, password: str, ip: str, settings) -> User:
    """Check a password, with failed attempts limited per e-mail and per address."""
    email = (email or "").strip().lower()
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=settings.login_window_seconds)
    # One address may try several accounts (an office behind one NAT), so it gets more room.
    limits = (("email", email, settings.login_attempts_per_window), ("ip", ip, 5 * settings.login_attempts_per_window))
    for field, value, limit in limits:
        failures = db.login_attempts.count_documents({field: value, "ok": False, "at": {"$gte": since}})
        if failures >= limit:
            raise LoginRefused("too_many_attempts", "Too many failed sign-ins; wait a few minutes and try again.")
    doc = db.users.find_one({"email": email})
    ok = False
    if doc:
        try:
            ok = _hasher.verify(doc["password_hash"], password or "")
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        _hasher.hash(password or "")  # same cost whether or not the e-mail exists
    db.login_attempts.insert_one({"email": email, "ip": ip, "ok": ok, "at": now})
    if not ok:
        raise LoginRefused("invalid_credentials", "E-mail or password is wrong.")
    return _user(doc)


def bootstrap_first_admin(db: Database, email: str) -> tuple[User, str, str] | None:
    """Create the first admin once: (user, password, token), or None if done before."""
    if not insert_unique(db.bootstrap, {"_id": "first-admin", "at": datetime.now(timezone.utc)}):
        return None
    password = new_password()
    user = create_user(db, email, "Administrator", "admin", password)
    if user is None:
        raise RuntimeError(f"a user {email} exists but the first-admin claim was free")
    return user, password, issue_token(db, user, "cli (first run)")


MIN_PASSWORD = 12


def check_new_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"A password needs at least {MIN_PASSWORD} characters.")
    return password


def list_users(db: Database) -> list[User]:
    return [_user(doc) for doc in db.users.find().sort("email", ASC)]


def find_user(db: Database, user_id: str | None = None, email: str | None = None) -> User | None:
    """One user by id or by e-mail (case-insensitive), or None."""
    query = {"_id": user_id} if user_id else {"email": (email or "").strip().lower()}
    doc = db.users.find_one(query) if (user_id or email) else None
    return _user(doc) if doc else None


def users_by_id(db: Database, user_ids: list[str]) -> dict[str, User]:
    return {doc["_id"]: _user(doc) for doc in db.users.find({"_id": {"$in": list(user_ids)}})}


def change_password(db: Database, user: User, current: str, new: str, keep_token: str) -> None:
    """Set a new password after checking the current one; every other token of the user is revoked."""
    doc = db.users.find_one({"_id": user.id})
    try:
        _hasher.verify(doc["password_hash"], current or "")
    except (VerificationError, InvalidHashError):
        raise LoginRefused("invalid_credentials", "The current password is wrong.") from None
    # Only this user changes their own password: a plain update cannot lose a race here.
    db.users.update_one({"_id": user.id}, {"$set": {"password_hash": _hasher.hash(check_new_password(new))}})
    db.api_tokens.delete_many({"user_id": user.id, "_id": {"$ne": _token_hash(keep_token)}})


def new_password() -> str:
    return secrets.token_urlsafe(15)
