"""Sending parts: exact ranges, parallelism, retries, resume.

A small HTTP server plays presigned S3 (the outside world from the CLI's point
of view): it stores each PUT by part number and can refuse on demand.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from framegate.transfer import TransferError, part_count, part_range, transfer

PART = 64 * 1024


class Storage:
    """What arrived, per (upload, part): the last stored body, and every attempt in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: dict[tuple[str, int], bytes] = {}
        self.tries: list[tuple[str, int]] = []
        self.headers: dict[int, dict] = {}
        self.answers: dict[int, list[int]] = {}  # part -> statuses to answer first, in turn
        self.refuse_signature: str | None = None  # 403 for URLs signed with this
        self.delay = 0.0
        self.active = self.max_active = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, number: int, signature: str = "sig-1", upload: str = "up-1") -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}/masters/key?partNumber={number}&uploadId={upload}&X-Amz-Signature={signature}"

    def parts(self, upload: str = "up-1") -> dict[int, bytes]:
        with self.lock:
            return {n: body for (u, n), body in self.received.items() if u == upload}

    def attempts(self, upload: str = "up-1") -> list[int]:
        with self.lock:
            return [n for u, n in self.tries if u == upload]

    def _handler(self):
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_PUT(self):
                query = parse_qs(urlsplit(self.path).query)
                number, upload = int(query["partNumber"][0]), query["uploadId"][0]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with storage.lock:
                    storage.tries.append((upload, number))
                    storage.active += 1
                    storage.max_active = max(storage.max_active, storage.active)
                    planned = storage.answers.get(number)
                    status = planned.pop(0) if planned else 200
                    declared = self.headers.get("Content-MD5")
                    if declared and declared != base64.b64encode(hashlib.md5(body).digest()).decode():
                        status = "BadDigest"
                    if storage.refuse_signature and query["X-Amz-Signature"][0] == storage.refuse_signature:
                        status = 403
                time.sleep(storage.delay)
                with storage.lock:
                    storage.active -= 1
                    if status == 200:
                        storage.received[(upload, number)] = body
                        storage.headers[number] = dict(self.headers)
                code = f"Code{status}"
                if status == "BadDigest":
                    status, code = 400, "BadDigest"
                reply = b"" if status == 200 else (
                    f"<Error><Code>{code}</Code><Message>refused with {status}</Message></Error>".encode())
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                if status == 200:
                    self.send_header("ETag", '"etag"')
                self.end_headers()
                self.wfile.write(reply)

        return Handler


@pytest.fixture
def storage():
    s = Storage()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def media(tmp_path):
    """A file of 10 full parts and a short one."""
    path = tmp_path / "Hero 60s.mov"
    path.write_bytes(os.urandom(10 * PART + 1234))
    return path


def item_for(storage: Storage, path, done=(), part_size=PART, signature="sig-1") -> dict:
    """An upload as POST /api/v1/uploads describes it."""
    size = os.path.getsize(path)
    count = part_count(size, part_size)
    return {
        "upload_id": "up-1", "filename": os.path.basename(path), "asset_id": "a1", "asset_name": "Hero 60s",
        "size": size, "part_size": part_size, "part_count": count,
        "parts": [{"number": n, "url": storage.url(n, signature)} for n in range(1, count + 1) if n not in done],
        "parts_done": [{"number": n, "size": part_range(n, part_size, size)[1] - part_range(n, part_size, size)[0]}
                       for n in done],
    }


def stored_item(storage: Storage, path, upload="up-1", part_size=PART, urls_for=()) -> dict:
    """What the server would say from what storage holds: sizes and S3 ETags of stored parts,
    URLs for the rest (and for `urls_for`)."""
    size = os.path.getsize(path)
    stored = storage.parts(upload)
    count = part_count(size, part_size)
    return {
        "upload_id": upload, "filename": os.path.basename(path), "size": size, "part_size": part_size,
        "part_count": count,
        "parts": [{"number": n, "url": storage.url(n, upload=upload)}
                  for n in range(1, count + 1) if n not in stored or n in urls_for],
        "parts_done": [{"number": n, "size": len(b), "etag": f'"{hashlib.md5(b).hexdigest()}"'}
                       for n, b in sorted(stored.items())],
    }


def assert_stored_parts_are_exact_ranges(storage: Storage, path, part_size=PART):
    data = path.read_bytes()
    for number, body in storage.parts().items():
        start, end = part_range(number, part_size, len(data))
        assert body == data[start:end], f"part {number} holds other bytes than its range"


class Recorder:
    def __init__(self):
        self.started, self.net, self.finished = None, 0, None
        self.lock = threading.Lock()

    def start(self, total, resumed=0):
        self.started = (total, resumed)

    def advance(self, n):
        with self.lock:
            self.net += n

    def finish(self, ok=True):
        self.finished = ok


def test_every_part_is_put_once_with_its_exact_range_in_parallel(storage, media):
    storage.delay = 0.05
    progress = Recorder()
    result = transfer(item_for(storage, media), str(media), parallel=4, progress=progress)
    assert sorted(storage.attempts()) == list(range(1, 12))
    assert_stored_parts_are_exact_ranges(storage, media)
    assert result.sha256 == hashlib.sha256(media.read_bytes()).hexdigest()
    assert 2 <= storage.max_active <= 4
    assert (result.bytes_sent, result.bytes_resumed, result.parts_sent) == (media.stat().st_size, 0, list(range(1, 12)))
    assert progress.started == (media.stat().st_size, 0) and progress.net == media.stat().st_size
    assert progress.finished is True


def test_parts_go_with_length_and_md5_not_chunked_and_without_credentials(storage, media):
    transfer(item_for(storage, media), str(media), content_md5=True)
    data = media.read_bytes()
    assert len(storage.headers) == 11
    for number, headers in storage.headers.items():
        start, end = part_range(number, PART, len(data))
        assert headers["Content-Length"] == str(end - start)
        assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(data[start:end]).digest()).decode()
        assert "Transfer-Encoding" not in headers
        assert "Authorization" not in headers


def test_content_md5_is_left_out_by_default(storage, media):
    transfer(item_for(storage, media), str(media))
    assert not any("Content-MD5" in h for h in storage.headers.values())


def test_a_part_damaged_on_the_way_is_sent_again(storage, media):
    storage.answers[5] = ["BadDigest"]
    transfer(item_for(storage, media), str(media), backoff=0.01)
    assert storage.attempts().count(5) == 2
    assert_stored_parts_are_exact_ranges(storage, media)


def test_a_stored_part_that_does_not_match_the_file_is_sent_again_when_the_server_allows(storage, media):
    transfer(item_for(storage, media), str(media))
    storage.received[("up-1", 4)] = bytes(PART)  # what an interrupted PUT can leave behind
    tries = len(storage.attempts())
    result = transfer(stored_item(storage, media, urls_for=(4,)), str(media))
    assert storage.attempts()[tries:] == [4]
    assert_stored_parts_are_exact_ranges(storage, media)
    assert result.parts_sent == [4] and 4 not in result.parts_resumed
    assert result.sha256 == hashlib.sha256(media.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["other bytes", "short"])
def test_a_damaged_stored_part_without_a_url_fails_the_transfer_with_its_number(storage, media, damage):
    transfer(item_for(storage, media), str(media))
    storage.received[("up-1", 4)] = bytes(PART) if damage == "other bytes" else storage.received[("up-1", 4)][:100]
    with pytest.raises(TransferError, match=r"parts \[4\] stored by an earlier attempt") as err:
        transfer(stored_item(storage, media), str(media))
    assert err.value.code == "damaged_parts"


def test_parallel_one_sends_one_part_at_a_time(storage, media):
    storage.delay = 0.01
    transfer(item_for(storage, media), str(media), parallel=1)
    assert storage.max_active == 1 and len(storage.parts()) == 11


def test_resume_sends_only_the_missing_parts_and_hashes_the_whole_file(storage, media):
    done = (1, 2, 5, 11)
    progress = Recorder()
    result = transfer(item_for(storage, media, done=done), str(media), progress=progress)
    assert sorted(storage.attempts()) == [3, 4, 6, 7, 8, 9, 10]
    assert_stored_parts_are_exact_ranges(storage, media)
    assert result.sha256 == hashlib.sha256(media.read_bytes()).hexdigest()
    assert result.parts_resumed == [1, 2, 5, 11]
    assert result.bytes_resumed == 3 * PART + 1234
    assert progress.started == (media.stat().st_size, 3 * PART + 1234)


def test_an_interrupted_upload_resumes_where_it_stopped(storage, media):
    storage.answers[3] = [500] * 10  # storage keeps failing part 3
    with pytest.raises(TransferError) as err:
        transfer(item_for(storage, media), str(media), retries=1, backoff=0.01)
    assert err.value.code == "part_failed"
    message = str(err.value)
    assert "part 3 of 11 failed after 2 attempts" in message and "HTTP 500" in message
    assert "run the same command again" in message
    first_run = set(storage.parts())
    assert 3 not in first_run and first_run

    storage.answers.clear()
    attempts_before = len(storage.attempts())
    # What the server answers on a rerun (same fingerprint): the stored parts, and URLs for the rest.
    result = transfer(item_for(storage, media, done=sorted(first_run)), str(media))
    resent = storage.attempts()[attempts_before:]
    assert sorted(resent) == sorted(set(range(1, 12)) - first_run)
    assert set(storage.parts()) == set(range(1, 12))
    assert_stored_parts_are_exact_ranges(storage, media)
    assert result.sha256 == hashlib.sha256(media.read_bytes()).hexdigest()


def test_a_failed_part_is_retried_with_backoff_then_succeeds(storage, media):
    storage.answers[2] = [500, 503]
    progress = Recorder()
    result = transfer(item_for(storage, media), str(media), backoff=0.01, progress=progress)
    assert storage.attempts().count(2) == 3
    assert_stored_parts_are_exact_ranges(storage, media)
    assert progress.net == media.stat().st_size  # failed attempts were taken back
    assert result.parts_sent == list(range(1, 12))


def test_a_part_is_given_up_after_three_retries(storage, media):
    storage.answers[4] = [500] * 4
    with pytest.raises(TransferError, match="part 4 of 11 failed after 4 attempts"):
        transfer(item_for(storage, media), str(media), backoff=0.01)
    assert storage.attempts().count(4) == 4


def test_a_refusal_that_a_retry_cannot_fix_is_not_retried(storage, media):
    storage.answers[1] = [400]
    progress = Recorder()
    with pytest.raises(TransferError, match=r"storage answered HTTP 400 Code400: refused with 400"):
        transfer(item_for(storage, media), str(media), backoff=0.01, progress=progress)
    assert storage.attempts().count(1) == 1
    assert progress.finished is False


def test_expired_urls_are_renewed_once_for_all_parts(storage, media):
    storage.refuse_signature = "old"
    renewals = []

    def refresh():
        renewals.append(1)
        return item_for(storage, media, signature="new")

    result = transfer(item_for(storage, media, signature="old"), str(media), refresh=refresh, backoff=0.01)
    assert len(renewals) == 1
    assert set(storage.parts()) == set(range(1, 12))
    assert result.sha256 == hashlib.sha256(media.read_bytes()).hexdigest()


def test_a_file_that_changed_since_the_upload_was_opened_sends_nothing(storage, media):
    item = item_for(storage, media)
    with open(media, "ab") as f:
        f.write(b"more")
    with pytest.raises(TransferError, match="the file changed") as err:
        transfer(item, str(media))
    assert err.value.code == "file_changed" and storage.attempts() == []


def test_unreachable_storage_is_named_without_leaking_the_signature(media):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    item = {"filename": media.name, "size": media.stat().st_size, "part_size": PART * 16,
            "parts": [{"number": 1, "url": f"http://127.0.0.1:{port}/m/k?partNumber=1&X-Amz-Signature=SECRET"}],
            "parts_done": []}
    with pytest.raises(TransferError) as err:
        transfer(item, str(media), retries=1, backoff=0.01)
    assert f"cannot send to storage at http://127.0.0.1:{port} (connection refused)" in str(err.value)
    assert "SECRET" not in str(err.value)


def test_a_part_without_url_or_record_is_a_server_problem_not_a_silent_gap(storage, media):
    item = item_for(storage, media)
    item["parts"] = item["parts"][1:]
    with pytest.raises(TransferError, match="no upload URL"):
        transfer(item, str(media))

