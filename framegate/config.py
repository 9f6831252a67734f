"""Where the CLI keeps its sign-in, and which setting wins.

Precedence: FRAMEGATE_URL / FRAMEGATE_TOKEN in the environment, then the config
file ($FRAMEGATE_CONFIG, else $XDG_CONFIG_HOME/framegate/config.json, else
~/.config/framegate/config.json), then local-stack defaults.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


DEFAULT_PORT_BASE = 18000
# Same offset as services/common/settings.PORT_OFFSETS["http"]; the CLI is a
# plain HTTP client and does not import the services.
HTTP_PORT_OFFSET = 80
NOT_SIGNED_IN = "not signed in: run `framegate login` (or `make up`)"


class FramegateError(Exception):
    """A failure the CLI reports as one line a person can act on (base of all CLI errors)."""


class ConfigError(FramegateError):
    pass


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str
    email: str | None = None
    source: str = ""  # where the token came from, for messages


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file this environment reads and writes."""
    env = _env(env)
    if env.get("FRAMEGATE_CONFIG"):
        return Path(env["FRAMEGATE_CONFIG"]).expanduser()
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "framegate" / "config.json"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".config" / "framegate" / "config.json"


def read_config(path: Path) -> dict:
    """The saved settings; {} when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON: fix it or delete it and run `framegate login`") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should hold a JSON object: delete it and run `framegate login`")
    return data


def write_config(path: Path, data: dict) -> None:
    """Write atomically, readable by the owner only: the file holds a token."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o600)  # in case the file existed with looser bits
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_credentials(url: str, token: str, email: str | None, env: Mapping[str, str] | None = None) -> Path:
    """Remember a sign-in (used by `framegate login`, and by `make up` after bootstrap)."""
    path = config_path(env)
    data = read_config(path)
    data.update({"url": url.rstrip("/"), "token": token, "email": email})
    write_config(path, data)
    return path


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials | None:
    """The sign-in to use, or None when there is none anywhere."""
    env = _env(env)
    path = config_path(env)
    saved = read_config(path)
    token, source = saved.get("token"), str(path)
    if env.get("FRAMEGATE_TOKEN"):
        token, source = env["FRAMEGATE_TOKEN"], "FRAMEGATE_TOKEN"
    if not token:
        return None
    url = env.get("FRAMEGATE_URL") or saved.get("url") or default_url(env)
    return Credentials(url=url.rstrip("/"), token=token, email=saved.get("email"), source=source)


def port_base(env: Mapping[str, str] | None = None) -> int:
    raw = _env(env).get("FRAMEGATE_PORT_BASE")
    if not raw:
        return DEFAULT_PORT_BASE
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"FRAMEGATE_PORT_BASE={raw!r} is not a number") from None


def default_url(env: Mapping[str, str] | None = None) -> str:
    """The local stack's front door."""
    return f"http://127.0.0.1:{port_base(env) + HTTP_PORT_OFFSET}"


def default_data_dir() -> Path:
    """`<repo>/.data`, found from this package so it works from any directory."""
    return Path(__file__).resolve().parent.parent / ".data"
