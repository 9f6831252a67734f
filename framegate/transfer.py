"""One file's parallel, resumable transfer straight to object storage, and the
part arithmetic it rests on.

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

Resuming: a stored part whose size (or ETag, when the server passes it on) does
not match the local bytes is sent again, or, without a URL for it, the upload
starts over (see `framegate.batch` for how a rerun finds the same upload).
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
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from framegate.config import FramegateError
from framegate.progress import NullProgress, Progress

CHUNK_SIZE = 1024 * 1024  # bytes per read, hashing or sending
DEFAULT_PARALLEL = 4
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5  # seconds; doubles on each retry
PUT_TIMEOUT = (10, 300)  # connect, read (the answer after the body is sent)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TransferError(FramegateError):
    """A file's bytes did not all reach storage; `code` is stable, the message actionable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


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
