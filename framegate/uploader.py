"""Batch uploads straight to object storage: resumable, parallel parts, bounded memory.

How one file travels (`transfer`):
- the calling thread is the reader: it reads the file once, in order, in 1 MiB
  reads, feeding SHA-256 (the whole file), and MD5 of the part when Content-MD5
  is asked for (off by default: MD5 is the slowest hash here, the server checks
  the whole file's SHA-256, and a resume checks stored parts by size and ETag).
  Parts the server already holds (`parts_done`) are hashed but not sent, so a
  resumed upload still ends with the whole file's hash;
- each missing part goes to a pool of sender threads that PUT it to its presigned
  URL with Content-Length (and Content-MD5 when asked), streaming it from the file again right after the reader hashed it (a page
  cache read), retrying with backoff;
- at most `parallel + 1` parts are in flight and no part is ever held in memory,
  so memory stays small and flat whatever the part size.

Resuming: a file's `fingerprint` (its real path, size and mtime) is the same on a
rerun, so the server hands back the same upload with the parts it already has.
A stored part whose size (or ETag, when the server passes it on) does not match
the local bytes is sent again, or, without a URL for it, the upload starts over.
"""
from __future__ import annotations

import base64
import concurrent.futures as cf
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from framegate.client import ApiClient, ApiError
from framegate.config import FramegateError
from framegate.progress import NullProgress, Progress

CHUNK_SIZE = 1024 * 1024  # bytes per read, hashing or sending
DEFAULT_PARALLEL = 4
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5  # seconds; doubles on each retry
PUT_TIMEOUT = (10, 300)  # connect, read (the answer after the body is sent)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# A version goes uploaded -> transcoding -> playable -> ready (or failed).
FINAL_STATUSES = frozenset({"ready", "failed"})


class TransferError(FramegateError):
    """A file's bytes did not all reach storage; `code` is stable, the message actionable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class WaitTimeout(FramegateError):
    pass


# Pure rules ---------------------------------------------------------------------

def part_count(size: int, part_size: int) -> int:
    """Parts in an upload; the server counts an empty file as one part, so do we."""
    if part_size <= 0:
        raise ValueError(f"part_size must be positive, not {part_size}")
    return max(1, -(-size // part_size))


def part_range(number: int, part_size: int, size: int) -> tuple[int, int]:
    """Byte range [start, end) of part `number` (1-based)."""
    count = part_count(size, part_size)
    if not 1 <= number <= count:
        raise ValueError(f"part {number} is outside 1..{count}")
    return (number - 1) * part_size, min(number * part_size, size)


def fingerprint_of(realpath: str, size: int, mtime_ns: int) -> str:
    """The client-side identity of a local file, stable across reruns until it changes."""
    return hashlib.sha256(f"{realpath}|{size}|{mtime_ns}".encode()).hexdigest()


@dataclass(frozen=True)
class LocalFile:
    path: str  # as given on the command line
    realpath: str
    size: int
    mtime_ns: int

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> "LocalFile":
        realpath = os.path.realpath(path)
        st = os.stat(realpath)
        if not os.path.isfile(realpath):
            raise IsADirectoryError(realpath)
        return cls(os.fspath(path), realpath, st.st_size, st.st_mtime_ns)

    @property
    def name(self) -> str:
        return os.path.basename(os.path.abspath(self.path))

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.realpath, self.size, self.mtime_ns)

    def spec(self, asset: str | None = None) -> dict:
        """This file's entry in POST /api/v1/uploads; no asset means the server's default (the stem)."""
        spec = {"filename": self.name, "size": self.size, "fingerprint": self.fingerprint}
        if asset:
            spec["asset"] = asset
        return spec

    def unchanged(self) -> bool:
        try:
            st = os.stat(self.realpath)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def local_files(paths: Iterable[str | os.PathLike]) -> list[LocalFile]:
    """Check every path before anything is sent; the same file twice is uploaded once."""
    files, problems, seen = [], [], set()
    for path in paths:
        try:
            found = LocalFile.from_path(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file")
            continue
        except IsADirectoryError:
            problems.append(f"{path}: is a directory; name the files in it (e.g. {path}/*.mov)")
            continue
        except OSError as err:
            problems.append(f"{path}: {err.strerror}")
            continue
        if not os.access(found.realpath, os.R_OK):
            problems.append(f"{path}: not readable (permission denied)")
        elif found.realpath not in seen:
            seen.add(found.realpath)
            files.append(found)
    if problems:
        raise FramegateError("; ".join(problems))
    if not files:
        raise FramegateError("no files to upload")
    return files


def storage_error_text(status: int, body: str) -> str:
    """S3 answers errors in XML; keep its code and message, drop the rest."""
    code = re.search(r"<Code>([^<]+)</Code>", body or "")
    message = re.search(r"<Message>([^<]+)</Message>", body or "")
    text = f"storage answered HTTP {status}"
    if code:
        text += f" {code.group(1)}"
    if message:
        text += f": {message.group(1)}"
    return text


def storage_unreachable_text(url: str, err: Exception) -> str:
    """Never print the presigned URL itself: its query is a credential."""
    parts = urlsplit(url)
    why = "no answer in time" if isinstance(err, requests.Timeout) else (
        "connection refused" if "refused" in str(err).lower() else type(err).__name__)
    return (f"cannot send to storage at {parts.scheme}://{parts.netloc} ({why}); the platform hands out "
            "upload URLs on this address (FRAMEGATE_S3_PUBLIC_ENDPOINT) and this machine must reach it")


# Part bodies ----------------------------------------------------------------------

class PartBody:
    """The bytes [start, end) of a file as a request body with a length, so requests sends
    Content-Length (S3 refuses chunked PUTs) and streams the file; counts bytes as they go out."""

    def __init__(self, path: str, start: int, end: int, progress: Progress):
        self.path, self.start, self.end, self.progress = path, start, end, progress
        self.sent = 0

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            left = len(self)
            while left > 0:
                chunk = f.read(min(CHUNK_SIZE, left))
                if not chunk:
                    raise _got_shorter(self.path)
                left -= len(chunk)
                yield chunk
                self.sent += len(chunk)  # resumed: the chunk before was taken by the socket
                self.progress.advance(len(chunk))


def _got_shorter(path: str) -> TransferError:
    return TransferError("file_changed", f"{path} got shorter while uploading; run the command again")


def _hash_range(f, start: int, end: int, hashers: list, scratch: bytearray) -> None:
    """Feed the bytes [start, end) of an open file to every hasher that is not None."""
    hashers = [h for h in hashers if h is not None]
    view = memoryview(scratch)
    f.seek(start)
    left = end - start
    while left > 0:
        n = f.readinto(view[:min(len(view), left)])
        if not n:
            raise _got_shorter(f.name)
        for h in hashers:
            h.update(view[:n])
        left -= n


def storage_session(parallel: int = DEFAULT_PARALLEL) -> requests.Session:
    """A session for presigned URLs: a connection per sender, and never an Authorization header."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, parallel), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = lambda request: request  # no ~/.netrc credentials on a presigned request
    return session


# One file -----------------------------------------------------------------------

@dataclass
class TransferResult:
    sha256: str
    size: int
    bytes_sent: int
    bytes_resumed: int
    parts_sent: list[int]
    parts_resumed: list[int]
    seconds: float


class _Urls:
    """Presigned URLs per part, renewed once for all senders when storage refuses one (403)."""

    def __init__(self, item: dict, refresh: Callable[[], dict] | None):
        self.urls = {int(p["number"]): p["url"] for p in item.get("parts", [])}
        self.refresh, self.generation, self.lock = refresh, 0, threading.Lock()

    def get(self, number: int) -> tuple[str | None, int]:
        with self.lock:
            return self.urls.get(number), self.generation

    def renew(self, seen_generation: int) -> bool:
        if self.refresh is None:
            return False
        with self.lock:
            if self.generation == seen_generation:  # nobody renewed since this URL was handed out
                fresh = self.refresh()
                self.urls.update({int(p["number"]): p["url"] for p in fresh.get("parts", [])})
                self.generation += 1
            return True


class _PartFailed(Exception):
    def __init__(self, number: int, problem: str, attempts: int):
        super().__init__(problem)
        self.number, self.problem, self.attempts = number, problem, attempts


class _Cancelled(Exception):
    pass


def _plain_md5(etag: object) -> str | None:
    """The part's MD5 from an S3 part ETag, when the server passed it on."""
    text = str(etag or "").strip('"').lower()
    return text if re.fullmatch(r"[0-9a-f]{32}", text) else None


@dataclass
class _Transfer:
    item: dict
    path: str
    session: requests.Session
    parallel: int
    retries: int
    backoff: float
    progress: Progress
    refresh: Callable[[], dict] | None
    timeout: tuple[float, float]
    content_md5: bool

    def __post_init__(self):
        self.size, self.part_size = int(self.item["size"]), int(self.item["part_size"])
        self.count = part_count(self.size, self.part_size)
        self.name = self.item.get("filename") or os.path.basename(self.path)
        self.done = {int(p["number"]): p for p in self.item.get("parts_done", [])  # the server's, by number
                     if 1 <= int(p["number"]) <= self.count}
        self.urls = _Urls(self.item, self.refresh)
        self.stop = threading.Event()
        self.sent: list[int] = []
        self.sent_lock = threading.Lock()
        self.damaged: list[int] = []

    def _bytes(self, numbers: Iterable[int]) -> int:
        return sum(end - start for start, end in (part_range(n, self.part_size, self.size) for n in numbers))

    def run(self) -> TransferResult:
        started = time.monotonic()
        if any(self.urls.get(n)[0] is None for n in range(1, self.count + 1) if n not in self.done):
            raise TransferError("bad_upload", f"{self.name}: the server sent no upload URL for some missing parts; "
                                              "run the command again")
        before = os.stat(self.path)
        if before.st_size != self.size:
            raise TransferError("file_changed", f"{self.name} is {before.st_size} bytes but the upload was opened "
                                                f"for {self.size}; the file changed: run the command again")
        self.progress.start(self.size, self._bytes(self.done))
        ok = False
        try:
            digest = self._read_and_send()
            after = os.stat(self.path)
            if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                raise TransferError("file_changed", f"{self.name} changed while it was being uploaded; "
                                                    "run the command again once it is written")
            if self.damaged:
                raise TransferError(
                    "damaged_parts",
                    f"{self.name}: parts {self.damaged[:10]} stored by an earlier attempt do not match the file "
                    "and the server offers no URL to replace them; the upload has to start over")
            ok = True
        finally:
            self.progress.finish(ok)
        sent = sorted(self.sent)
        resumed = sorted(set(self.done) - set(sent))
        return TransferResult(sha256=digest, size=self.size, bytes_sent=self._bytes(sent),
                              bytes_resumed=self._bytes(resumed), parts_sent=sent, parts_resumed=resumed,
                              seconds=time.monotonic() - started)

    def _read_and_send(self) -> str:
        """The reader: every byte in order through SHA-256; missing parts handed to the senders."""
        whole = hashlib.sha256()
        scratch = bytearray(CHUNK_SIZE)
        slots = threading.Semaphore(self.parallel + 1)
        pool = cf.ThreadPoolExecutor(self.parallel, thread_name_prefix="framegate-part")
        futures = []
        try:
            with open(self.path, "rb", buffering=0) as f:
                for number in range(1, self.count + 1):
                    start, end = part_range(number, self.part_size, self.size)
                    unhashed = whole
                    if number in self.done:
                        if self._stored_part_is_sound(f, number, start, end, whole, scratch):
                            continue
                        unhashed = None  # in `whole` already
                        self.progress.advance(-(end - start))  # counted as stored at the start
                        if self.urls.get(number)[0] is None:
                            self.damaged.append(number)
                            continue
                    if not self._take(slots):
                        break
                    md5 = hashlib.md5() if self.content_md5 else None
                    _hash_range(f, start, end, [unhashed, md5], scratch)
                    headers = {"Content-MD5": base64.b64encode(md5.digest()).decode("ascii")} if md5 else {}
                    futures.append(pool.submit(self._send, number, start, end, headers, slots))
            self._wait(futures)
        except BaseException as err:
            self.stop.set()  # on Ctrl-C, leave without waiting for the parts on the wire
            pool.shutdown(wait=not isinstance(err, KeyboardInterrupt), cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        self._raise_first_failure(futures)
        return whole.hexdigest()

    def _stored_part_is_sound(self, f, number: int, start: int, end: int, whole, scratch: bytearray) -> bool:
        """Hash a part the server holds; it is sound when its size (and MD5, if the server passed the
        ETag on) match the local bytes. An interrupted PUT can leave a damaged part behind."""
        record = self.done[number]
        expected_md5 = _plain_md5(record.get("etag"))
        check = hashlib.md5() if expected_md5 else None
        _hash_range(f, start, end, [whole, check], scratch)
        size_ok = record.get("size") in (None, end - start)
        return size_ok and (check is None or check.hexdigest() == expected_md5)

    def _take(self, slots: threading.Semaphore) -> bool:
        while not slots.acquire(timeout=0.2):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            slots.release()
            return False
        return True

    def _wait(self, futures: list[cf.Future]) -> None:
        pending = set(futures)
        while pending:  # short waits keep Ctrl-C responsive
            _, pending = cf.wait(pending, timeout=0.5)

    def _raise_first_failure(self, futures: list[cf.Future]) -> None:
        errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
        other = next((e for e in errors if not isinstance(e, (_PartFailed, _Cancelled))), None)
        if other is not None:
            raise other
        failures = sorted((e for e in errors if isinstance(e, _PartFailed)), key=lambda e: e.number)
        if failures:
            first = failures[0]
            stored = len(set(self.done) | set(self.sent))
            raise TransferError(
                "part_failed",
                f"{self.name}: part {first.number} of {self.count} failed after {first.attempts} "
                f"attempt{'s' if first.attempts > 1 else ''}: {first.problem}. "
                f"{stored} of {self.count} parts are stored; run the same command again to send the rest",
            )

    def _send(self, number: int, start: int, end: int, headers: dict, slots: threading.Semaphore) -> None:
        try:
            self._put_with_retries(number, start, end, headers)
            with self.sent_lock:
                self.sent.append(number)
        except BaseException:
            self.stop.set()  # the reader stops; parts not yet started are skipped
            raise
        finally:
            slots.release()

    def _put_with_retries(self, number: int, start: int, end: int, headers: dict) -> None:
        # Content-MD5 makes a part all-or-nothing: storage refuses a body cut short by a
        # crash instead of keeping the fragment as the part (seen with the local S3 gateway).
        for attempt in range(self.retries + 1):
            if self.stop.is_set():
                raise _Cancelled()
            url, generation = self.urls.get(number)
            body = PartBody(self.path, start, end, self.progress)
            try:
                resp = self.session.put(url, data=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as err:
                problem, retryable = storage_unreachable_text(url, err), True
            else:
                if resp.status_code < 300:
                    return
                problem = storage_error_text(resp.status_code, resp.text)
                retryable = resp.status_code in RETRY_STATUSES or resp.status_code >= 500
                if resp.status_code == 400 and "BadDigest" in resp.text:
                    problem += " (the bytes changed on the way: network or disk trouble)"
                    retryable = True
                if resp.status_code == 403:  # most often an expired URL: ask the server for fresh ones
                    try:
                        retryable = self.urls.renew(generation)
                    except FramegateError as err:
                        problem, retryable = f"{problem}; fresh upload URLs were refused: {err}", False
                    if attempt == self.retries:
                        problem += " (refused even with fresh URLs: is this machine's clock right?)"
            self.progress.advance(-body.sent)  # this attempt's bytes will be sent again
            if not retryable or attempt == self.retries:
                raise _PartFailed(number, problem, attempt + 1)
            self.stop.wait(self.backoff * 2 ** attempt)


def transfer(item: dict, path: str, *, session: requests.Session | None = None,
             parallel: int = DEFAULT_PARALLEL, retries: int = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF,
             progress: Progress | None = None, refresh: Callable[[], dict] | None = None,
             timeout: tuple[float, float] = PUT_TIMEOUT, content_md5: bool = False) -> TransferResult:
    """Send the parts of `path` that `item` (an upload from POST /api/v1/uploads) lacks, and
    return the whole file's SHA-256. `refresh` returns the item again with fresh URLs."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    return _Transfer(item=item, path=path, session=session or storage_session(parallel), parallel=parallel,
                     retries=retries, backoff=backoff, progress=progress or NullProgress(), refresh=refresh,
                     timeout=timeout, content_md5=content_md5).run()


# Many files ---------------------------------------------------------------------

@dataclass
class UploadResult:
    """What became of one file; `record()` is its line in `framegate upload --json`."""

    file: str
    filename: str
    project_id: str
    size: int
    upload_id: str | None = None
    asset_id: str | None = None
    asset_name: str | None = None
    version: dict | None = None
    sha256: str | None = None
    error: str | None = None
    message: str | None = None
    transfer: TransferResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.version is not None

    def fail(self, code: str, message: str | None) -> "UploadResult":
        self.error, self.message = code, message or code
        return self

    def record(self) -> dict:
        fields = version_fields(self.version or {})
        return {
            "file": self.file,
            "filename": self.filename,
            "project_id": fields["project_id"] or self.project_id,
            "asset_id": fields["asset_id"] or self.asset_id,
            "asset": fields["asset"] or self.asset_name,
            "version_id": fields["version_id"],
            "version": fields["version"],
            "status": fields["status"] or "failed",
            "error": self.error,
            "message": self.message,
            "size": self.size,
            "sha256": fields["sha256"] or self.sha256,
            **{k: fields[k] for k in ("frames", "fps", "fps_rational", "start_timecode", "duration", "kind",
                                      "player_url", "hls_url")},
            "upload_id": self.upload_id,
            "bytes_sent": self.transfer.bytes_sent if self.transfer else 0,
            "bytes_resumed": self.transfer.bytes_resumed if self.transfer else 0,
        }


def version_fields(version: dict) -> dict:
    """A version from the API, flattened to what people and scripts read (None where unknown)."""
    facts = version.get("facts") or {}
    return {
        "project_id": version.get("project_id"),
        "asset_id": version.get("asset_id"),
        "asset": version.get("asset_name"),
        "version_id": version.get("id"),
        "version": version.get("number"),
        "status": version.get("status"),
        "filename": version.get("filename"),
        "size": version.get("size"),
        "sha256": version.get("sha256"),
        "frames": facts.get("frames"),
        "fps": facts.get("fps_float"),
        "fps_rational": facts.get("fps"),
        "start_timecode": facts.get("start_timecode"),
        "duration": facts.get("duration"),
        "kind": facts.get("kind"),
        "created_at": version.get("created_at"),
        "progress": version.get("progress"),
        "player_url": (version.get("playback") or {}).get("player_url"),
        "hls_url": (version.get("playback") or {}).get("hls_url"),
        "failure": (version.get("failure") or {}).get("reason"),
    }


def _pair(files: list[LocalFile], items: list[dict]) -> list[tuple[LocalFile, dict | None]]:
    """Each file's item by name, first come first served (items come back in request order)."""
    left = list(items)
    pairs = []
    for f in files:
        match = next((i for i in left if i.get("filename") == f.name), None)
        if match is not None:
            left.remove(match)
        pairs.append((f, match))
    return pairs


def iter_uploads(client: ApiClient, project_id: str, paths: Iterable[str | os.PathLike], *,
                 asset: str | None = None, parallel: int = DEFAULT_PARALLEL, retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, progress_for: Callable[[str], Progress] | None = None,
                 session: requests.Session | None = None, content_md5: bool = False,
                 notify: Callable[[str], None] | None = None) -> Iterator[UploadResult]:
    """Open one batch for all files, then send and complete them one after another,
    yielding each file's result as soon as it is known."""
    files = local_files(paths)
    options = dict(session=session or storage_session(parallel), parallel=parallel, retries=retries,
                   backoff=backoff, content_md5=content_md5)
    try:
        items = client.create_uploads(project_id, [f.spec(asset) for f in files])
    except ApiError as err:
        for f in files:
            yield UploadResult(f.path, f.name, project_id, f.size).fail(err.code, err.message)
        return
    for f, item in _pair(files, items):
        yield _upload_one(client, project_id, f, item, asset=asset, progress_for=progress_for,
                          notify=notify or (lambda message: None), **options)


def _upload_one(client: ApiClient, project_id: str, f: LocalFile, item: dict | None, *, asset: str | None,
                progress_for: Callable[[str], Progress] | None, notify: Callable[[str], None],
                **options) -> UploadResult:
    result = UploadResult(f.path, f.name, project_id, f.size)
    if item is None:
        return result.fail("no_answer", f"{f.name}: the server's answer did not mention this file; run again")
    if item.get("error"):
        return result.fail(item["error"], item.get("message"))
    result.upload_id, result.asset_id, result.asset_name = (
        item.get("upload_id"), item.get("asset_id"), item.get("asset_name"))
    if item.get("state") == "completed" and item.get("version_id"):
        result.version = client.version(item["version_id"])
        return result
    if not f.unchanged():
        return result.fail("file_changed", f"{f.name} changed after it was listed; run the command again")
    for fresh_start in (False, True):
        try:
            result.transfer = transfer(item, f.realpath, refresh=partial(client.upload, item["upload_id"]),
                                       progress=progress_for(f.name) if progress_for else NullProgress(), **options)
            break
        except TransferError as err:
            if err.code != "damaged_parts" or fresh_start:
                return result.fail(err.code, str(err))
            notify(f"{err}: discarding it and sending {f.name} again")
            try:
                client.abort_upload(item["upload_id"])
                [item] = client.create_uploads(project_id, [f.spec(asset)])
            except ApiError as again:
                return result.fail(again.code, f"{err}; starting over was refused: {again.message}")
            if item.get("error"):
                return result.fail(item["error"], item.get("message"))
            result.upload_id = item["upload_id"]
    result.sha256 = result.transfer.sha256
    try:
        result.version = client.complete_upload(item["upload_id"], result.sha256)
    except ApiError as err:
        return result.fail(err.code, err.message)
    return result


def upload_files(client: ApiClient, project_id: str, paths: Iterable[str | os.PathLike],
                 **options) -> list[UploadResult]:
    """`iter_uploads`, all at once."""
    return list(iter_uploads(client, project_id, paths, **options))


# Waiting ------------------------------------------------------------------------

def wait_for_version(client: ApiClient, version_id: str, *, deadline: float, interval: float = 1.0,
                     on_update: Callable[[dict], None] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll a version until its status is final; `on_update` sees every poll (the hook
    for transcode progress). Raises WaitTimeout at `deadline` (a `clock()` value)."""
    while True:
        version = client.version(version_id)
        if on_update:
            on_update(version)
        if version.get("status") in FINAL_STATUSES:
            return version
        if clock() >= deadline:
            raise WaitTimeout(
                f"version {version.get('number')} of {version.get('asset_name')} is still "
                f"{version.get('status')!r}; see it later with `framegate versions`")
        sleep(max(0.0, min(interval, deadline - clock())))


def wait_for_results(client: ApiClient, results: list[UploadResult], *, timeout: float, interval: float = 1.0,
                     on_update: Callable[[dict], None] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for every uploaded version under one deadline; a failed or late version fails its file."""
    deadline = clock() + timeout
    for result in results:
        if not result.ok:
            continue
        try:
            result.version = wait_for_version(client, result.version["id"], deadline=deadline, interval=interval,
                                              on_update=on_update, clock=clock, sleep=sleep)
        except WaitTimeout as err:
            result.fail("wait_timeout", f"{err} (waited {timeout:g}s)")
            continue
        if result.version.get("status") == "failed":
            result.fail("version_failed", result.version.get("message")
                        or "the platform could not process this version; see it in the web app")
