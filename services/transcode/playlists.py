"""Reading and finishing HLS media playlists. Pure text functions."""
from __future__ import annotations

import re

_MAP_URI = re.compile(r'#EXT-X-MAP:.*?URI="([^"]+)"')


def media_uris(playlist: str) -> tuple[str | None, list[str]]:
    """(init section URI, segment URIs in order) of a media playlist."""
    init = None
    segments: list[str] = []
    for line in playlist.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:"):
            match = _MAP_URI.search(line)
            init = match.group(1) if match else None
        elif line and not line.startswith("#"):
            segments.append(line)
    return init, segments


def as_vod(playlist: str) -> str:
    """The finished form: PLAYLIST-TYPE VOD and an ENDLIST, so players know the length."""
    lines = [line for line in playlist.splitlines()
             if not line.startswith("#EXT-X-PLAYLIST-TYPE") and line.strip() != "#EXT-X-ENDLIST"]
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("#EXT-X-TARGETDURATION")),
              1)
    lines.insert(at, "#EXT-X-PLAYLIST-TYPE:VOD")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines + ["#EXT-X-ENDLIST"]) + "\n"
