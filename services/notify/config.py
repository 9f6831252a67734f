"""Notify's own settings, from environment variables (the shared ones come
from services.common.settings)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

# The spec's schedule, shortened: now, 5 s, 5 min, 30 min, 2 h (then dead-letter).
DEFAULT_RETRY_DELAYS = (5.0, 300.0, 1800.0, 7200.0)


def parse_networks(text: str) -> tuple:
    """'127.0.0.0/8, 10.1.0.0/16' -> networks; a bad entry is an error at start, not a silent allow."""
    networks = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"FRAMEGATE_NOTIFY_ALLOW: {part!r} is not a network (CIDR like 10.0.0.0/8)") from None
    return tuple(networks)


def parse_delays(text: str) -> tuple[float, ...]:
    delays = tuple(float(p) for p in text.split(",") if p.strip())
    if not delays or any(d < 0 for d in delays):
        raise ValueError("FRAMEGATE_NOTIFY_RETRY_DELAYS must be seconds, comma-separated, none negative")
    return delays


@dataclass(frozen=True)
class NotifyConfig:
    # Networks targets may resolve into although they are loopback/private/link-local.
    allow: tuple = ()
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "Framegate <framegate@localhost>"
    # Seconds before each retry; a delivery is tried 1 + len(retry_delays) times.
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    max_retry_after: float = 3600.0  # a Retry-After longer than this is capped
    # Notes of one reviewer session go out as one digest once no note came for this long.
    note_quiet_seconds: float = 60.0
    slack_interval_seconds: float = 1.0  # Slack: one message a second per webhook
    http_timeout_seconds: float = 10.0
    extra: dict = field(default_factory=dict)

    @property
    def attempts(self) -> int:
        return 1 + len(self.retry_delays)


def load_config() -> NotifyConfig:
    env = os.environ.get
    return NotifyConfig(
        allow=parse_networks(env("FRAMEGATE_NOTIFY_ALLOW", "")),
        smtp_host=env("FRAMEGATE_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env("FRAMEGATE_SMTP_PORT", "25")),
        smtp_from=env("FRAMEGATE_SMTP_FROM", "Framegate <framegate@localhost>"),
        retry_delays=parse_delays(env("FRAMEGATE_NOTIFY_RETRY_DELAYS", ",".join(map(str, DEFAULT_RETRY_DELAYS)))),
        note_quiet_seconds=float(env("FRAMEGATE_NOTIFY_NOTE_QUIET_SECONDS", "60")),
        slack_interval_seconds=float(env("FRAMEGATE_NOTIFY_SLACK_INTERVAL", "1")),
        http_timeout_seconds=float(env("FRAMEGATE_NOTIFY_HTTP_TIMEOUT", "10")),
    )
