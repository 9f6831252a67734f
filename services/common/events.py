"""The event contract: every event the platform publishes, typed and versioned.

Nothing else invents event payloads. Each event is a frozen dataclass; the
envelope (type, version, event_id, occurred_at, project_id) is common, the
rest are the ids and facts the event is about — never bytes.
"""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import ClassVar

# Events are published on a topic exchange per source service, as nameko does:
# exchange "<source>.events", routing key = event type.
EVENT_TYPES: dict[str, type["Event"]] = {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    return uuid.uuid4().hex


def event_id_for(*parts: str) -> str:
    """A deterministic event id: retrying the same write yields the same event."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "framegate:" + ":".join(parts)).hex


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str]
    version: ClassVar[int]
    source: ClassVar[str]

    project_id: str
    event_id: str = field(default_factory=new_event_id)
    occurred_at: str = field(default_factory=_now)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        EVENT_TYPES[cls.type] = cls

    def to_wire(self) -> dict:
        """The one serialiser: envelope first, then the event's own fields."""
        body = {"type": self.type, "version": self.version, "source": self.source}
        body.update(dataclasses.asdict(self))
        return body


class UnknownEvent(ValueError):
    pass


def from_wire(body: dict) -> Event:
    """Parse a wire dict back into its event class, refusing unknown or newer versions."""
    try:
        cls = EVENT_TYPES[body["type"]]
    except KeyError:
        raise UnknownEvent(f"unknown event type {body.get('type')!r}") from None
    if body.get("version") != cls.version:
        raise UnknownEvent(f"{cls.type} version {body.get('version')} is not {cls.version}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in body.items() if k in names})


@dataclass(frozen=True, kw_only=True)
class VersionUploaded(Event):
    """A master is stored, checked and probed; its version number is assigned."""

    type: ClassVar[str] = "version_uploaded"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "ingest"

    asset_id: str
    version_id: str
    version_number: int
    master_bucket: str
    master_key: str
    sha256: str
    size: int
    media_kind: str  # video | audio | image
    uploaded_by: str
    facts: dict = field(default_factory=dict)  # the master's MediaFacts, as ingest recorded them


@dataclass(frozen=True, kw_only=True)
class TranscodeProgress(Event):
    """How far a version's transcode is; sent about once a second while it runs."""

    type: ClassVar[str] = "transcode_progress"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "transcode"

    asset_id: str
    version_id: str
    percent: float
    stage: str  # starting | encoding | publishing | done


@dataclass(frozen=True, kw_only=True)
class VersionPlayable(Event):
    """The first segment of every rung is stored: the version can be played while it encodes."""

    type: ClassVar[str] = "version_playable"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "transcode"

    asset_id: str
    version_id: str
    master_playlist: str  # key in the renditions bucket


@dataclass(frozen=True, kw_only=True)
class VersionReady(Event):
    """Every rendition of a version is stored."""

    type: ClassVar[str] = "version_ready"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "transcode"

    asset_id: str
    version_id: str
    renditions: dict  # keys in the renditions bucket, rungs, frames; see transcode's Result
    notes: list = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class VersionFailed(Event):
    """A version could not be transcoded; the reason is for a person to act on."""

    type: ClassVar[str] = "version_failed"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "transcode"

    asset_id: str
    version_id: str
    code: str
    reason: str


# --- review: links, notes, viewing -------------------------------------------
# Note events carry the note's visibility: a consumer that speaks to clients
# (notify's client mails, a client-facing board) drops `internal` ones.


@dataclass(frozen=True, kw_only=True)
class LinkCreated(Event):
    """A review link was made for one version, or for the current version of an asset."""

    type: ClassVar[str] = "link_created"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    link_id: str
    asset_id: str
    version_id: str | None  # None: the link follows the asset's current version
    kind: str  # internal | client
    stage: str
    created_by: str
    expires_at: str | None = None
    allowed_domains: list = field(default_factory=list)
    comments: bool = True
    download: bool = False
    password: bool = False  # whether one is set; never the password


@dataclass(frozen=True, kw_only=True)
class LinkOpened(Event):
    """A reviewer opened a link and began a viewing session."""

    type: ClassVar[str] = "link_opened"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    link_id: str
    session_id: str
    asset_id: str
    version_id: str
    kind: str
    reviewer_name: str
    reviewer_email: str


@dataclass(frozen=True, kw_only=True)
class LinkRevoked(Event):
    """A link was revoked: its sessions stop within the playback URL lifetime."""

    type: ClassVar[str] = "link_revoked"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    link_id: str
    asset_id: str
    revoked_by: str


@dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    """A note pinned to a frame (or a range) of a version."""

    type: ClassVar[str] = "note_added"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    note_id: str
    asset_id: str
    version_id: str
    frame: int
    to_frame: int | None
    timecode: str
    text: str
    visibility: str  # internal | client
    author_name: str
    author_email: str
    author_user_id: str | None = None  # None for a reviewer without an account
    link_id: str | None = None  # the link it came through, if any
    mentions: list = field(default_factory=list)  # user ids
    has_drawing: bool = False


@dataclass(frozen=True, kw_only=True)
class NoteReplied(Event):
    """A reply in a note's thread."""

    type: ClassVar[str] = "note_replied"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    note_id: str  # the reply's own id
    parent_note_id: str
    asset_id: str
    version_id: str
    text: str
    visibility: str
    author_name: str
    author_email: str
    author_user_id: str | None = None
    link_id: str | None = None
    mentions: list = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class NoteStatusChanged(Event):
    """A note was resolved, reopened or set out of scope."""

    type: ClassVar[str] = "note_status_changed"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    note_id: str
    asset_id: str
    version_id: str
    status: str  # open | resolved | out_of_scope
    previous_status: str
    visibility: str
    changed_by: str  # the person's name


@dataclass(frozen=True, kw_only=True)
class PlaybackProgress(Event):
    """What one viewing session has actually played so far (frame ranges, not time on the page)."""

    type: ClassVar[str] = "playback_progress"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    session_id: str
    asset_id: str
    version_id: str
    # [{"first": frame, "last": frame}, …], merged, inclusive. Objects, not pairs:
    # the outbox (FerretDB) cannot store arrays inside arrays.
    watched: list
    percent_watched: float
    link_id: str | None = None
    viewer_email: str = ""


@dataclass(frozen=True, kw_only=True)
class ApprovalRecorded(Event):
    """An approver's decision on a gate's version is recorded (append-only, chained)."""

    type: ClassVar[str] = "approval_recorded"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    gate_id: str
    stage: str
    round: int
    decision_id: str
    version_id: str
    version_number: int
    decision: str  # approve | changes
    email: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class GateClosed(Event):
    """A gate's rule is met for one version; the gate takes no more decisions."""

    type: ClassVar[str] = "gate_closed"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    gate_id: str
    stage: str
    round: int
    version_id: str
    version_number: int
    sha256: str
    decision_ids: list = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StageAdvanced(Event):
    """The project moved past a stage whose gate closed."""

    type: ClassVar[str] = "stage_advanced"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    from_stage: str
    to_stage: str | None  # None once the final stage closed


@dataclass(frozen=True, kw_only=True)
class VersionLocked(Event):
    """An approved version is locked: its master, renditions, notes and decisions must not change."""

    type: ClassVar[str] = "version_locked"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    asset_id: str
    version_id: str
    gate_id: str


# --- projects and submissions (for read models such as the dashboard) --------


@dataclass(frozen=True, kw_only=True)
class ProjectCreated(Event):
    """A production was created; its creator owns it (and is shown as its producer)."""

    type: ClassVar[str] = "project_created"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "ingest"

    name: str
    created_by: str  # user id
    created_by_email: str = ""
    created_by_name: str = ""


@dataclass(frozen=True, kw_only=True)
class VersionSubmitted(Event):
    """A ready version was put up for a stage's gate: a new round of decisions opens."""

    type: ClassVar[str] = "version_submitted"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    gate_id: str
    stage: str
    round: int
    asset_id: str
    version_id: str
    version_number: int
    approvers: list = field(default_factory=list)  # e-mails or role:<name>, every path's, in order
    rule: str = "all"
    submitted_by: str = ""


@dataclass(frozen=True, kw_only=True)
class ProjectArchived(Event):
    """A project is frozen: readable, but nothing in it can change; its review links are expired."""

    type: ClassVar[str] = "project_archived"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "approval"

    archived_by: str  # an e-mail, or "workflow" when the final stage closed
    reason: str  # "archived" or "final_stage_closed"


@dataclass(frozen=True, kw_only=True)
class NoteEdited(Event):
    """A note's text or drawing was edited: a new revision. `new_mentions` are the user ids the
    edit mentions that the note did not mention before (they have not heard of it yet)."""

    type: ClassVar[str] = "note_edited"
    version: ClassVar[int] = 1
    source: ClassVar[str] = "review"

    note_id: str
    parent_note_id: str | None = None  # set when the edited note is a reply
    asset_id: str
    version_id: str
    revision: int
    text: str
    visibility: str
    edited_by: str  # the person's name
    link_id: str | None = None
    mentions: list = field(default_factory=list)  # user ids, all the text mentions now
    new_mentions: list = field(default_factory=list)
