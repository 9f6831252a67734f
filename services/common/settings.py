"""Configuration from environment variables, with defaults for the local stack.

Production sets the same variables to managed or clustered servers; the code
never changes between the two.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Ports of the local stack are offsets from one base, so a test stack can run
# beside the development stack on other ports (FRAMEGATE_PORT_BASE).
PORT_OFFSETS = {
    "http": 80,  # nginx: the front door and, later, the CDN
    "s3_public": 81,  # nginx: the object store as browsers reach it (presigned URLs, CORS)
    "ingest": 101,
    "ingest_relay": 102,
    "review": 103,
    "ingest_status": 105,
    "transcode_dispatch": 106,
    "transcode_relay": 107,
    "ingest_reconciler": 108,
    "approval": 121,  # after the transcode workers' 111-118
    "approval_relay": 122,
    "review_relay": 104,
    "notify": 123,  # HTTP: subscriptions, deliveries
    "notify_events": 124,  # nameko event consumers
    "notify_worker": 125,  # Celery deliveries
    "dashboard": 126,  # HTTP: the board, SSE
    "dashboard_events": 127,  # nameko projection
    "smtp": 128,  # the mail relay notify sends to (the test stack's recording SMTP server listens here)
    "postgres": 432,
    "mongo": 17,
    "ferretdb_debug": 89,
    "s3": 900,
    "amqp": 672,
    "amqp_management": 673,
    "amqp_dist": 674,
}
MAX_LOCAL_WORKERS = 8
# /healthz and /metrics of each local transcode worker
PORT_OFFSETS.update({f"transcode_worker_{i}": 110 + i for i in range(1, MAX_LOCAL_WORKERS + 1)})
DEFAULT_PORT_BASE = 18000
DEV_SECRET = "dev-insecure-secret"
DEV_S3_ACCESS_KEY = "framegate"
DEV_S3_SECRET_KEY = "framegate-dev-secret"


def local_port(name: str, base: int | None = None) -> int:
    if base is None:
        base = int(os.environ.get("FRAMEGATE_PORT_BASE", DEFAULT_PORT_BASE))
    return base + PORT_OFFSETS[name]


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    mongo_url: str = ""
    mongo_db: str = "framegate"
    amqp_url: str = ""
    s3_endpoint: str = ""
    s3_public_endpoint: str = ""  # what clients use for presigned URLs
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    bucket_prefix: str = "framegate-"
    public_url: str = ""  # where users reach the platform
    cdn_url: str = ""  # where playback URLs point (production: the CDN); empty: public_url
    secret_key: str = DEV_SECRET
    setup_key: str = ""  # lets `framegate up` create the first admin once
    max_upload_bytes: int = 200 * 1024**3
    ffprobe_timeout_seconds: float = 60.0
    # Big masters (ingest): the full frame count where no index gives it, the
    # background completion's lease, abandoned uploads, open uploads per user.
    ffprobe_count_timeout_seconds: float = 3600.0
    completion_lease_seconds: float = 60.0
    completion_poll_seconds: float = 5.0
    abandoned_upload_seconds: float = 7 * 24 * 3600.0
    max_open_uploads_per_user: int = 1000
    login_attempts_per_window: int = 10  # per (e-mail, address) before backoff
    login_attempts_per_address: int = 50  # failures per address across e-mails
    login_window_seconds: int = 900
    # Signed CDN URLs: a player page's are short-lived and refreshed while it
    # plays, so removing a member stops their playback within this lifetime;
    # `hls_url` in the API's version JSON (for the CLI, ffprobe, VLC) lasts longer.
    playback_ttl_seconds: int = 60
    api_playback_ttl_seconds: int = 600
    login_backoff_seconds: float = 30.0  # then 60, 120, ... up to the window
    # Lifetimes of API tokens and of browser sessions: idle, and absolute.
    token_idle_seconds: int = 12 * 3600
    token_absolute_seconds: int = 30 * 86400
    session_idle_seconds: int = 2 * 3600
    session_absolute_seconds: int = 24 * 3600
    # Argon2id: OWASP's floor; each hash in flight holds argon2_memory_kib.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    max_concurrent_hashes: int = 2  # per process
    hash_wait_seconds: float = 3.0
    # The longest one transcode job may run; workers enforce it, the ingest
    # reconciler and the workers' shutdown grace period are sized from it.
    transcode_time_limit_seconds: float = 4 * 3600.0
    extra: dict = field(default_factory=dict)

    def bucket(self, name: str) -> str:
        """Bucket names carry a prefix so several stacks can share one store."""
        return f"{self.bucket_prefix}{name}"

    def check(self) -> None:
        """Refuse to run outside development with a default secret or credential."""
        if self.environment == "development":
            return
        if self.secret_key == DEV_SECRET:
            raise RuntimeError("FRAMEGATE_SECRET_KEY must be set outside development")
        if self.s3_access_key == DEV_S3_ACCESS_KEY or self.s3_secret_key == DEV_S3_SECRET_KEY:
            raise RuntimeError("FRAMEGATE_S3_ACCESS_KEY and FRAMEGATE_S3_SECRET_KEY must be set outside development")
        amqp = urlsplit(self.amqp_url)
        if not amqp.password or (amqp.username, amqp.password) == ("guest", "guest"):
            raise RuntimeError("FRAMEGATE_AMQP_URL must carry real credentials outside development "
                               "(not RabbitMQ's guest account)")


def load_settings() -> Settings:
    s3 = _env("FRAMEGATE_S3_ENDPOINT", f"127.0.0.1:{local_port('s3')}")
    settings = Settings(
        environment=_env("FRAMEGATE_ENV", "development"),
        mongo_url=_env("FRAMEGATE_MONGO_URL", f"mongodb://127.0.0.1:{local_port('mongo')}/"),
        mongo_db=_env("FRAMEGATE_MONGO_DB", "framegate"),
        amqp_url=_env("FRAMEGATE_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{local_port('amqp')}//"),
        s3_endpoint=s3,
        s3_public_endpoint=_env("FRAMEGATE_S3_PUBLIC_ENDPOINT", s3),
        s3_access_key=_env("FRAMEGATE_S3_ACCESS_KEY", DEV_S3_ACCESS_KEY),
        s3_secret_key=_env("FRAMEGATE_S3_SECRET_KEY", DEV_S3_SECRET_KEY),
        s3_secure=_env("FRAMEGATE_S3_SECURE", "0") == "1",
        s3_region=_env("FRAMEGATE_S3_REGION", "us-east-1"),
        bucket_prefix=_env("FRAMEGATE_BUCKET_PREFIX", "framegate-"),
        public_url=_env("FRAMEGATE_PUBLIC_URL", f"http://127.0.0.1:{local_port('http')}"),
        cdn_url=_env("FRAMEGATE_CDN_URL", ""),
        secret_key=_env("FRAMEGATE_SECRET_KEY", DEV_SECRET),
        setup_key=_env("FRAMEGATE_SETUP_KEY", ""),
        max_upload_bytes=int(_env("FRAMEGATE_MAX_UPLOAD_BYTES", str(200 * 1024**3))),
        ffprobe_timeout_seconds=float(_env("FRAMEGATE_FFPROBE_TIMEOUT", "60")),
        ffprobe_count_timeout_seconds=float(_env("FRAMEGATE_FFPROBE_COUNT_TIMEOUT", "3600")),
        completion_lease_seconds=float(_env("FRAMEGATE_COMPLETION_LEASE_SECONDS", "60")),
        completion_poll_seconds=float(_env("FRAMEGATE_COMPLETION_POLL_SECONDS", "5")),
        abandoned_upload_seconds=float(_env("FRAMEGATE_ABANDONED_UPLOAD_SECONDS", str(7 * 24 * 3600))),
        max_open_uploads_per_user=int(_env("FRAMEGATE_MAX_OPEN_UPLOADS", "1000")),
        login_attempts_per_window=int(_env("FRAMEGATE_LOGIN_ATTEMPTS", "10")),
        login_attempts_per_address=int(_env("FRAMEGATE_LOGIN_ATTEMPTS_PER_ADDRESS", "50")),
        login_window_seconds=int(_env("FRAMEGATE_LOGIN_WINDOW", "900")),
        playback_ttl_seconds=int(_env("FRAMEGATE_PLAYBACK_TTL", "60")),
        api_playback_ttl_seconds=int(_env("FRAMEGATE_API_PLAYBACK_TTL", "600")),
        login_backoff_seconds=float(_env("FRAMEGATE_LOGIN_BACKOFF", "30")),
        token_idle_seconds=int(_env("FRAMEGATE_TOKEN_IDLE_SECONDS", str(12 * 3600))),
        token_absolute_seconds=int(_env("FRAMEGATE_TOKEN_ABSOLUTE_SECONDS", str(30 * 86400))),
        session_idle_seconds=int(_env("FRAMEGATE_SESSION_IDLE_SECONDS", str(2 * 3600))),
        session_absolute_seconds=int(_env("FRAMEGATE_SESSION_ABSOLUTE_SECONDS", str(24 * 3600))),
        argon2_memory_kib=int(_env("FRAMEGATE_ARGON2_MEMORY_KIB", str(19 * 1024))),
        argon2_time_cost=int(_env("FRAMEGATE_ARGON2_TIME_COST", "2")),
        max_concurrent_hashes=int(_env("FRAMEGATE_MAX_CONCURRENT_HASHES", "2")),
        hash_wait_seconds=float(_env("FRAMEGATE_HASH_WAIT_SECONDS", "3")),
        transcode_time_limit_seconds=float(_env("FRAMEGATE_TRANSCODE_TIME_LIMIT", str(4 * 3600))),
    )
    settings.check()
    return settings
