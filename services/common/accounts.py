"""Users, passwords, credential generations and API tokens.

Passwords are hashed with Argon2id (services/common/passwords.py); API tokens
carry 256 bits of randomness and only their SHA-256 is stored, so a database
leak does not leak tokens.

Who may hold a live token is decided by data, not timing. A user's password
hash and disabled flag live in numbered *credential generations*: generation
0 is the user document itself, and every password change, reset, disable or
enable inserts generation n+1 (a unique `_id`, so two changes cannot both
become n+1). A token records the generation it was issued under and is live
only while that is still the newest. A sign-in that checked the old password
just before a change stores its token under the old generation, so it is dead
on arrival whichever write lands first.

Tokens also expire: after an idle time without use and at an absolute age,
both fixed when the token is issued (browser sessions get shorter ones).
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pymongo.database import Database

from . import passwords, signin_limits
from .mongo import ASC, DESC, Index, insert_unique

ROLES = ("admin", "member")
TOKEN_PREFIX = "fg_"
KINDS = ("api", "browser")

INDEXES = [
    Index("users", (("email", ASC),), unique=True),
    Index("api_tokens", (("user_id", ASC),)),
    Index("api_tokens", (("id", ASC),)),
    Index("credentials", (("user_id", ASC), ("n", DESC))),
    *signin_limits.INDEXES,
]


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    role: str
    disabled: bool = False
    generation: int = field(default=0, compare=False)  # the credential generation it was read under

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role, "disabled": self.disabled}


@dataclass(frozen=True)
class Lifetime:
    idle_seconds: int
    absolute_seconds: int


DEFAULT_API_LIFETIME = Lifetime(12 * 3600, 30 * 86400)  # Settings' defaults


def lifetime(settings, kind: str) -> Lifetime:
    if kind == "browser":
        return Lifetime(settings.session_idle_seconds, settings.session_absolute_seconds)
    return Lifetime(settings.token_idle_seconds, settings.token_absolute_seconds)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Credential generations ------------------------------------------------------

def _credential(db: Database, user_doc: dict) -> dict:
    """The newest generation: {n, password_hash, disabled}."""
    newest = db.credentials.find_one({"user_id": user_doc["_id"]}, sort=[("n", DESC)])
    if newest:
        return newest
    return {"n": 0, "password_hash": user_doc["password_hash"], "disabled": False}


def _user(doc: dict, credential: dict | None = None) -> User:
    credential = credential or {"n": 0, "disabled": False}
    return User(doc["_id"], doc["email"], doc["name"], doc["role"], bool(credential.get("disabled")),
                credential["n"])


def _new_generation(db: Database, user_id: str, after: int, reason: str, password_hash: str,
                    disabled: bool) -> bool:
    """Insert generation after+1; False when someone else took that number first."""
    return insert_unique(db.credentials, {
        "_id": f"{user_id}:{after + 1}", "user_id": user_id, "n": after + 1, "reason": reason,
        "password_hash": password_hash, "disabled": disabled, "at": _now()})


def _change_credential(db: Database, user_id: str, reason: str, password_hash: str | None = None,
                       disabled: bool | None = None) -> int:
    """An admin's change: retried on top of whatever generation is newest. Returns the new n."""
    doc = db.users.find_one({"_id": user_id})
    while True:
        current = _credential(db, doc)
        new_hash = password_hash or current["password_hash"]
        new_disabled = current.get("disabled", False) if disabled is None else disabled
        if _new_generation(db, user_id, current["n"], reason, new_hash, new_disabled):
            # The user's tokens are dead by their generation; each is deleted
            # when next shown, so its holder learns why.
            return current["n"] + 1


# Users -------------------------------------------------------------------------

def create_user(db: Database, email: str, name: str, role: str, password: str, settings=None) -> User | None:
    """A new user; None when the e-mail is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    doc = {
        "_id": uuid.uuid4().hex,
        "email": email.strip().lower(),
        "name": name,
        "role": role,
        "password_hash": passwords.hash_password(password, settings),
        "created_at": _now(),
    }
    return _user(doc) if insert_unique(db.users, doc) else None


def find_user(db: Database, user_id: str | None = None, email: str | None = None) -> User | None:
    """One user by id or by e-mail (case-insensitive), or None."""
    query = {"_id": user_id} if user_id else {"email": (email or "").strip().lower()}
    doc = db.users.find_one(query) if (user_id or email) else None
    return _user(doc, _credential(db, doc)) if doc else None


def users_by_id(db: Database, user_ids: list[str]) -> dict[str, User]:
    """Users by id, for lists of members (their credential state does not matter there)."""
    return {doc["_id"]: _user(doc) for doc in db.users.find({"_id": {"$in": list(user_ids)}})}


def list_users(db: Database) -> list[User]:
    newest: dict[str, dict] = {}
    for cred in db.credentials.find({}, {"password_hash": 0}).sort("n", ASC):
        newest[cred["user_id"]] = cred
    return [_user(doc, newest.get(doc["_id"])) for doc in db.users.find().sort("email", ASC)]


def set_disabled(db: Database, user_id: str, disabled: bool) -> None:
    """Disable (every token dies at once, sign-in refused) or enable again."""
    _change_credential(db, user_id, "disabled" if disabled else "enabled", disabled=disabled)


def reset_password(db: Database, user_id: str, settings=None) -> str:
    """A new generated password (to show once); every token of the user dies."""
    password = new_password()
    _change_credential(db, user_id, "reset", password_hash=passwords.hash_password(password, settings))
    return password


MIN_PASSWORD = 12


def check_new_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"A password needs at least {MIN_PASSWORD} characters.")
    return password


def new_password() -> str:
    return secrets.token_urlsafe(15)


class LoginRefused(Exception):
    def __init__(self, code: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


def change_password(db: Database, user: User, current: str, new: str, keep_token: str, settings=None) -> None:
    """Set a new password after checking the current one; every other token of the user dies.

    The new generation must be exactly the one after the generation the current
    password was checked against: if an admin reset or disabled the account in
    between, the change is refused rather than undoing that."""
    check_new_password(new)
    doc = db.users.find_one({"_id": user.id})
    credential = _credential(db, doc)
    if not _verify(credential, current, settings):
        raise LoginRefused("invalid_credentials", "The current password is wrong.")
    new_hash = passwords.hash_password(new, settings)
    if not _new_generation(db, user.id, credential["n"], "changed", new_hash, credential.get("disabled", False)):
        raise LoginRefused("conflict", "The account changed meanwhile (reset or disabled); sign in again.")
    # The caller's own token moves to the new generation; a concurrent request
    # with it between the insert above and this update may see a 401 once.
    db.api_tokens.update_one({"_id": _token_hash(keep_token)}, {"$set": {"generation": credential["n"] + 1}})


def _verify(credential: dict, password: str, settings) -> bool:
    try:
        return passwords.verify_password(credential["password_hash"], password or "", settings)
    except passwords.HashingBusy:
        raise LoginRefused("busy", "Too many sign-ins at this moment; try again in a few seconds.", 2) from None


def _rehash_if_needed(db: Database, user_doc: dict, credential: dict, password: str, settings) -> None:
    """Store the hash again with today's Argon2id parameters. In place: the
    password is the same, so a lost update (FerretDB) only means it is redone."""
    if not passwords.needs_rehash(credential["password_hash"], settings):
        return
    try:
        fresh = passwords.hash_password(password, settings)
    except passwords.HashingBusy:
        return  # next time
    if credential["n"] == 0:
        db.users.update_one({"_id": user_doc["_id"]}, {"$set": {"password_hash": fresh}})
    else:
        db.credentials.update_one({"_id": credential["_id"]}, {"$set": {"password_hash": fresh}})


def login(db: Database, email: str, password: str, ip: str, settings) -> User:
    """Check a password, with attempts limited per (e-mail, address) and per address.

    The returned user carries the credential generation the password was
    checked against; issue_token stores it in the token."""
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    now = _now()
    try:
        attempt = signin_limits.begin_attempt(db, email, ip, signin_limits.Limits.from_settings(settings), now)
    except signin_limits.Refused as err:
        raise LoginRefused("too_many_attempts", "Too many failed sign-ins; wait a few minutes and try again.",
                           err.wait_seconds) from None
    outcome = "failed"
    try:
        doc = db.users.find_one({"email": email})
        if doc:
            credential = _credential(db, doc)
            ok = _verify(credential, password, settings)
        else:
            _verify({"password_hash": _dummy_hash(settings)}, password, settings)  # same cost, known e-mail or not
            ok = False
        if not ok:
            raise LoginRefused("invalid_credentials", "E-mail or password is wrong.")
        if credential.get("disabled"):
            outcome = "ok"
            raise LoginRefused("account_disabled", "This account is disabled; ask an admin.")
        outcome = "ok"
        _rehash_if_needed(db, doc, credential, password, settings)
        return _user(doc, credential)
    except LoginRefused as err:
        if err.code == "busy":
            outcome = "busy"
        raise
    finally:
        signin_limits.finish_attempt(db, attempt, outcome)


_dummy_hashes: dict[str, str] = {}


def _dummy_hash(settings) -> str:
    """A hash with today's parameters to check unknown e-mails against (made once, not at import)."""
    key = str(passwords.argon2_parameters(settings))
    if key not in _dummy_hashes:
        _dummy_hashes[key] = passwords.hasher(settings).hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


# Tokens ------------------------------------------------------------------------

def issue_token(db: Database, user: User, name: str, life: Lifetime | None = None, kind: str = "api") -> str:
    """A new token under the user's credential generation (as read when the password was checked)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    life = life or DEFAULT_API_LIFETIME
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    db.api_tokens.insert_one({
        "_id": _token_hash(token), "id": uuid.uuid4().hex, "user_id": user.id, "name": name, "kind": kind,
        "generation": user.generation, "created_at": now, "last_used_at": now,
        "expires_at": now + timedelta(seconds=life.absolute_seconds), "idle_seconds": life.idle_seconds})
    return token


@dataclass(frozen=True)
class TokenCheck:
    user: User | None
    reason: str = ""  # unknown, expired, idle, revoked, disabled


def token_state(record: dict, newest_generation: int, disabled: bool, now: datetime) -> str:
    """'' when the token is live, else why not (pure: the rule alone)."""
    if disabled:
        return "disabled"
    if record.get("generation", 0) != newest_generation:
        return "revoked"
    # Tokens issued before lifetimes existed expire at the default absolute age.
    expires_at = record.get("expires_at") or record["created_at"] + timedelta(seconds=DEFAULT_API_LIFETIME.absolute_seconds)
    if now >= expires_at:
        return "expired"
    idle = record.get("idle_seconds")
    if idle and now - record.get("last_used_at", record["created_at"]) > timedelta(seconds=idle):
        return "idle"
    return ""


def touch_interval(idle_seconds: int) -> timedelta:
    """How stale `last_used_at` may get before a request writes it again: a
    tenth of the idle lifetime, at most five minutes."""
    return timedelta(seconds=min(300.0, idle_seconds / 10))


def check_token(db: Database, token: str, now: datetime | None = None) -> TokenCheck:
    if not token or not token.startswith(TOKEN_PREFIX):
        return TokenCheck(None, "unknown")
    record = db.api_tokens.find_one({"_id": _token_hash(token)})
    if not record:
        return TokenCheck(None, "unknown")
    doc = db.users.find_one({"_id": record["user_id"]})
    if not doc:
        return TokenCheck(None, "unknown")
    now = now or _now()
    credential = _credential(db, doc)
    state = token_state(record, credential["n"], bool(credential.get("disabled")), now)
    if state:
        db.api_tokens.delete_one({"_id": record["_id"]})  # housekeeping; it is dead either way
        return TokenCheck(None, state)
    idle = record.get("idle_seconds")
    if idle and now - record.get("last_used_at", record["created_at"]) > touch_interval(idle):
        # Not on every request. A lost or reordered write (FerretDB) leaves an
        # older last_used_at, at most one interval old, so a token may idle out
        # that much early, never late; and update_one never recreates a revoked token.
        db.api_tokens.update_one({"_id": record["_id"]}, {"$set": {"last_used_at": now}})
    return TokenCheck(_user(doc, credential))


def user_for_token(db: Database, token: str) -> User | None:
    return check_token(db, token).user


def revoke_token(db: Database, token: str) -> None:
    db.api_tokens.delete_one({"_id": _token_hash(token)})


def list_tokens(db: Database, user: User, current_token: str) -> list[dict]:
    """The user's tokens and sessions, newest first (never the secrets)."""
    current = _token_hash(current_token)

    def iso(value):
        return value.isoformat().replace("+00:00", "Z") if value else None

    return [{"id": t["id"], "name": t["name"], "kind": t.get("kind", "api"), "created_at": iso(t["created_at"]),
             "last_used_at": iso(t.get("last_used_at")), "expires_at": iso(t.get("expires_at")),
             "current": t["_id"] == current}
            for t in db.api_tokens.find({"user_id": user.id, "generation": user.generation, "id": {"$exists": True}})
            .sort("created_at", DESC)]


def revoke_token_by_id(db: Database, user: User, token_id: str) -> bool:
    return db.api_tokens.delete_one({"user_id": user.id, "id": token_id}).deleted_count == 1


# The first admin -----------------------------------------------------------------
#
# Two steps: claim (one document, unique _id, naming the admin's e-mail and
# user id) and create the user. A crash between them leaves a claim without a
# user; the next bootstrap finishes it instead of refusing for ever. The
# caller may bring the password (`framegate up` saves it before asking), so a
# repeated call with the same password, after the answer was lost, gets a
# fresh token instead of a 409.

FIRST_ADMIN = "first-admin"


def claim_first_admin(db: Database, email: str) -> dict:
    """Step one: the claim (ours, or the one made before)."""
    claim = {"_id": FIRST_ADMIN, "email": email.strip().lower(), "user_id": uuid.uuid4().hex, "at": _now()}
    if insert_unique(db.bootstrap, claim):
        return claim
    return db.bootstrap.find_one({"_id": FIRST_ADMIN})


def bootstrap_first_admin(db: Database, email: str, settings=None,
                          password: str | None = None) -> tuple[User, str, str, bool] | None:
    """(admin, password, token, created), or None when it was done before and
    `password` is not the first admin's."""
    claim = claim_first_admin(db, email)
    if "user_id" not in claim:
        return None  # claimed before claims named their user: done long ago
    doc = db.users.find_one({"_id": claim["user_id"]})
    if doc is None:  # ours, or a claim whose creator crashed before step two
        password = password or new_password()
        created = {"_id": claim["user_id"], "email": claim["email"], "name": "Administrator", "role": "admin",
                   "password_hash": passwords.hash_password(password, settings), "created_at": _now()}
        if insert_unique(db.users, created):
            user = _user(created)
            return user, password, issue_token(db, user, "cli (first run)", lifetime(settings, "api")
                                               if settings else None), True
        doc = db.users.find_one({"_id": claim["user_id"]})  # a concurrent resume won
        if doc is None:
            raise RuntimeError(f"a user {claim['email']} exists but is not the claimed first admin")
    credential = _credential(db, doc)
    if not password or credential.get("disabled") or not _verify(credential, password, settings):
        return None
    user = _user(doc, credential)
    return user, password, issue_token(db, user, "cli (first run)", lifetime(settings, "api") if settings else None), False
