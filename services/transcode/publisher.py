"""Uploads renditions to the renditions bucket while ffmpeg is still writing them.

A segment is finished once its playlist lists it (ffmpeg writes the segment,
then renames a new playlist into place), so each `sync()` uploads newly listed
init sections and segments first and the playlist that names them after: a
player never sees a playlist entry whose segment is missing. The master
playlist goes up once every rendition has a segment; from then on the version
is playable. `finish()` turns the playlists into VOD, uploads the extras and
removes keys a previous attempt left that this one did not write, so a rerun
leaves exactly one set of renditions under `<project_id>/<version_id>/`.
"""
from __future__ import annotations

import io
import logging
import mimetypes
from pathlib import Path

from minio.deleteobjects import DeleteObject

from services.transcode.playlists import as_vod, media_uris

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment",
                 ".mp4": "video/mp4", ".vtt": "text/vtt", ".json": "application/json",
                 ".jpg": "image/jpeg", ".png": "image/png"}
# What the CDN may keep: segments never change within a run; an EVENT playlist
# changes every segment; a finished playlist only if the version is re-transcoded.
CACHE_IMMUTABLE = "public, max-age=86400"
CACHE_LIVE = "no-cache"
CACHE_FINAL = "public, max-age=60"


class Publisher:
    def __init__(self, store, bucket: str, prefix: str, out_dir: Path, hls_names: tuple[str, ...],
                 master_text: str | None, log: logging.Logger, hls_dir: str = "hls"):
        self.store, self.bucket, self.prefix = store, bucket, prefix.rstrip("/")
        self.out_dir, self.hls_names, self.hls_dir = Path(out_dir), hls_names, hls_dir
        self.master_text = master_text
        self.log = log
        self.uploaded: dict[str, str] = {}  # key -> cache policy it went up with
        self._listed: dict[str, str] = {}  # rendition name -> playlist text last uploaded
        self.playable = False

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}"

    def sync(self) -> bool:
        """Upload whatever ffmpeg has finished since the last call; True once playable."""
        for name in self.hls_names:
            self._sync_rendition(name)
        if not self.playable and self.hls_names and all(
                media_uris(self._listed.get(n, ""))[1] for n in self.hls_names):
            self._put_text(f"{self.hls_dir}/master.m3u8", self.master_text, CACHE_FINAL)
            self.playable = True
            self.log.info("renditions playable", extra={"prefix": self.prefix})
        return self.playable

    def seconds_listed(self) -> float:
        """Media seconds every rendition has listed so far (the slowest one's)."""
        if not self.hls_names:
            return 0.0
        return min(_listed_seconds(self._listed.get(n, "")) for n in self.hls_names)

    def finish(self, extras: dict[str, Path]) -> list[str]:
        """Final upload: VOD playlists, master, then `extras` (key suffix -> local file)."""
        self.sync()
        for name in self.hls_names:
            text = self._read_playlist(name)
            if text is None:
                raise FileNotFoundError(f"ffmpeg wrote no playlist for {name}")
            self._put_text(f"{self.hls_dir}/{name}/index.m3u8", as_vod(text), CACHE_FINAL)
        if self.master_text is not None:
            self._put_text(f"{self.hls_dir}/master.m3u8", self.master_text, CACHE_FINAL)
            self.playable = True
        for relative, path in extras.items():
            self._put_file(relative, path, CACHE_FINAL)
        self._remove_stale()
        return sorted(self.uploaded)

    def _sync_rendition(self, name: str) -> None:
        text = self._read_playlist(name)
        if text is None or text == self._listed.get(name):
            return
        init, segments = media_uris(text)
        folder = f"{self.hls_dir}/{name}"
        for uri in ([init] if init else []) + segments:
            if self.key(f"{folder}/{uri}") not in self.uploaded:
                self._put_file(f"{folder}/{uri}", self.out_dir / folder / uri, CACHE_IMMUTABLE)
        self._put_text(f"{folder}/index.m3u8", text, CACHE_LIVE)
        self._listed[name] = text

    def _read_playlist(self, name: str) -> str | None:
        path = self.out_dir / self.hls_dir / name / "index.m3u8"
        try:
            return path.read_text()
        except FileNotFoundError:
            return None

    def _put_file(self, relative: str, path: Path, cache: str) -> None:
        key = self.key(relative)
        self.store.client.fput_object(self.bucket, key, str(path), content_type=_content_type(key),
                                      metadata={"Cache-Control": cache})
        self.uploaded[key] = cache

    def _put_text(self, relative: str, text: str, cache: str) -> None:
        key = self.key(relative)
        data = text.encode()
        self.store.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                                     content_type=_content_type(key),
                                     metadata={"Cache-Control": cache})
        self.uploaded[key] = cache

    def _remove_stale(self) -> None:
        stale = [k for k in self.store.keys(self.bucket, self.prefix + "/") if k not in self.uploaded]
        if stale:
            errors = list(self.store.client.remove_objects(
                self.bucket, [DeleteObject(k) for k in stale]))
            if errors:
                raise RuntimeError(f"could not remove stale renditions: {errors[:3]}")
            self.log.info("removed stale renditions", extra={"prefix": self.prefix,
                                                             "count": len(stale)})


def _listed_seconds(playlist: str) -> float:
    return sum(float(line[len("#EXTINF:"):].split(",")[0]) for line in playlist.splitlines()
               if line.startswith("#EXTINF:"))


def _content_type(key: str) -> str:
    suffix = Path(key).suffix
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"
