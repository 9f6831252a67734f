"""Rules for names users give files, assets and projects (pure)."""
from __future__ import annotations

import unicodedata

MAX_NAME = 255


class BadName(ValueError):
    pass


def check_filename(name: object) -> str:
    """A file name is stored as given, so it must be one plain name: no paths, no controls."""
    if not isinstance(name, str) or not name.strip():
        raise BadName("The file name is empty.")
    if len(name) > MAX_NAME:
        raise BadName(f"The file name is longer than {MAX_NAME} characters.")
    if "/" in name or "\\" in name:
        raise BadName(f"The file name {name!r} contains a path separator; send the bare file name.")
    if name in (".", "..") or name.startswith(".."):
        raise BadName(f"The file name {name!r} is not a file name.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BadName(f"The file name {name!r} contains control characters.")
    return name


def check_display_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadName(f"The {what} name is empty.")
    if len(name) > MAX_NAME or any(unicodedata.category(c) == "Cc" for c in name):
        raise BadName(f"The {what} name {name!r} is too long or contains control characters.")
    return " ".join(name.split())


def default_asset_name(filename: str) -> str:
    stem, dot, _ = filename.rpartition(".")
    return stem if dot and stem else filename
