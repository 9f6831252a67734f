"""Chaos: SIGKILL each process of the local stack in turn while a stream of
small versions is uploaded and transcoded, then check that nothing was lost,
duplicated or left stuck.

    python -m tests.chaos.chaos --versions 40 --rounds 3     (`make chaos`)

`tests/chaos/test_chaos.py` runs a short version inside `make test`. Both need
a running stack: FRAMEGATE_DATA and the FRAMEGATE_* settings in the environment
(as `make test` exports them) and the first admin's token in the CLI config.

A kill takes the component's whole process group, as the OOM killer or a
dying container would; the stack then restarts it (`start_component`), the way
Kubernetes restarts a pod. The uploader is a careful client: it retries every
step until the platform answers, and counts an upload as acknowledged only
when a completion answered with a version. At the end it prints

    acknowledged=N ready=N lost=0 duplicated=0 stuck=0 failed=0
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from framegate import stack
from framegate.stack_component import running_pid
from framegate.stack_state import Stack
from services.common.mongo import connect
from services.common.settings import load_settings

# Every process a version's journey passes through, in the order they are killed.
VICTIMS = ("outbox-relay", "ingest", "transcode-dispatch", "ingest-status", "transcode-worker-1",
           "transcode-relay", "rabbitmq", "ferretdb", "postgres", "s3", "nginx")
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
RETRY_PAUSE = 0.5


def log(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ media

class Clips:
    """Distinct 1 s clips made on demand: one encode, then remuxes that differ in a tag."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.base = directory / "base.mp4"
        if not self.base.exists():
            subprocess.run([*FFMPEG, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(self.base)],
                           check=True, capture_output=True, timeout=60)

    def make(self, i: int) -> Path:
        clip = self.directory / f"chaos_{i:04d}.mp4"
        subprocess.run([*FFMPEG, "-i", str(self.base), "-c", "copy",
                        "-metadata", f"comment=chaos {i} {uuid.uuid4().hex}", str(clip)],
                       check=True, capture_output=True, timeout=60)
        return clip


# --------------------------------------------------------------- uploader

@dataclass
class Acknowledged:
    clip: str
    sha256: str
    version_id: str
    number: int


@dataclass
class UploadStream:
    """Uploads clips one after another to one asset, retrying each step until it lands."""

    api_url: str
    token: str
    project_id: str
    asset: str
    give_up_after: float = 300.0
    acknowledged: list[Acknowledged] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    retries: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def run(self, clips: Clips, at_least: int, until: threading.Event, at_most: int) -> None:
        """Upload one clip after another: at least `at_least`, and on until `until` is set."""
        for i in range(at_most):
            if i >= at_least and until.is_set():
                return
            clip = clips.make(i)
            try:
                self.acknowledged.append(self.upload(clip))
                log(f"acknowledged {clip.name} as v{self.acknowledged[-1].number}")
            except (TimeoutError, RuntimeError) as err:  # refused or never answered: not acknowledged
                self.abandoned.append(f"{clip.name} ({err})")
                log(f"gave up on {clip.name}: {err}")

    def _call(self, step: str, method: str, path: str, ok: tuple[int, ...], deadline: float, **kwargs):
        """One API step, repeated while the platform is unreachable or answers 5xx."""
        while True:
            try:
                response = self.http.request(method, self.api_url + path, timeout=30, **kwargs)
                if response.status_code in ok:
                    return response
                if response.status_code < 500 and response.status_code not in (408, 429):
                    raise RuntimeError(f"{step}: HTTP {response.status_code}: {response.text[:300]}")
            except requests.RequestException:
                pass
            self.retries[step] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{step} did not succeed in {self.give_up_after:.0f}s")
            time.sleep(RETRY_PAUSE)

    def upload(self, clip: Path) -> Acknowledged:
        deadline = time.monotonic() + self.give_up_after
        data = clip.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        spec = {"filename": clip.name, "size": len(data), "fingerprint": f"chaos-{sha[:32]}", "asset": self.asset}
        while True:
            started = self._call("start", "POST", "/api/v1/uploads", (201,), deadline,
                                 json={"project_id": self.project_id, "files": [spec]})
            item = started.json()["uploads"][0]
            if item.get("version_id"):  # an earlier completion of this very upload landed
                return self._acknowledge(clip, sha, item["version_id"], deadline)
            if self._send_parts(item, data, deadline):
                break
        done = self._complete(item["upload_id"], sha, deadline)
        return self._acknowledge(clip, sha, done, deadline)

    def _send_parts(self, item: dict, data: bytes, deadline: float) -> bool:
        """PUT each missing part; False when a part was refused (the caller starts over, which resumes)."""
        for part in item["parts"]:
            n = part["number"]
            chunk = data[(n - 1) * item["part_size"]: n * item["part_size"]]
            try:
                if requests.put(part["url"], data=chunk, timeout=30).status_code != 200:
                    self.retries["part"] += 1
                    time.sleep(RETRY_PAUSE)
                    return False
            except requests.RequestException:
                self.retries["part"] += 1
                time.sleep(RETRY_PAUSE)
                return False
            if time.monotonic() > deadline:
                raise TimeoutError("parts did not go up in time")
        return True

    def _complete(self, upload_id: str, sha: str, deadline: float) -> str:
        """Complete the upload and poll its completion (202) until it names the version.

        A retryable failure (the server was slow or a store was away) is completed again."""
        self._call("complete", "POST", f"/api/v1/uploads/{upload_id}/complete", (200, 201, 202), deadline,
                   json={"sha256": sha})
        while True:
            completion = self._call("completion", "GET", f"/api/v1/uploads/{upload_id}/completion", (200,),
                                    deadline).json()
            if completion.get("state") == "done" and completion.get("version_id"):
                return completion["version_id"]
            if completion.get("state") == "failed":
                failure = completion.get("failure") or {}
                if not failure.get("retryable"):
                    raise RuntimeError(f"completion failed: {failure}")
                self.retries["complete"] += 1
                self._call("complete", "POST", f"/api/v1/uploads/{upload_id}/complete", (200, 201, 202), deadline,
                           json={"sha256": sha})
            if time.monotonic() > deadline:
                raise TimeoutError("completion did not finish in time")
            time.sleep(RETRY_PAUSE)

    def _acknowledge(self, clip: Path, sha: str, version_id: str, deadline: float) -> Acknowledged:
        version = self._call("version", "GET", f"/api/v1/versions/{version_id}", (200,), deadline).json()
        return Acknowledged(clip.name, sha, version_id, version["number"])


# ----------------------------------------------------------------- killer

@dataclass
class Killer:
    """SIGKILLs each victim in turn at random moments; the stack restarts it."""

    data: Path
    victims: tuple[str, ...]
    pause: tuple[float, float] = (1.0, 5.0)
    down_for: tuple[float, float] = (0.5, 3.0)
    kills: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, rounds: int, rng: random.Random) -> None:
        for _ in range(rounds):
            order = list(self.victims)
            rng.shuffle(order)
            for name in order:
                if self.stop.wait(rng.uniform(*self.pause)):
                    return
                self.kill(name)
                self.stop.wait(rng.uniform(*self.down_for))
                self.restart(name)

    def kill(self, name: str) -> None:
        st = Stack(self.data)
        pid = running_pid(st, stack.COMPONENTS[name])
        if not pid:
            log(f"{name} is not running; nothing to kill")
            return
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            return
        self.kills.append(name)
        log(f"SIGKILL {name} (pid {pid})")

    def restart(self, name: str) -> None:
        """Start the victim again, and anything that exited because of it, as a kubelet would."""
        for attempt in range(5):
            st = Stack(self.data)
            down = [n for n in stack.ORDER
                    if (n == name or stack.COMPONENTS[n].wanted()) and not running_pid(st, stack.COMPONENTS[n])]
            try:
                for n in down:
                    log(f"restarted {n}: {stack.start_component(self.data, n)}")
                return
            except Exception as err:  # a dependency may be coming back too
                log(f"restart failed ({err}); again")
                time.sleep(2)
        raise RuntimeError(f"{name} did not come back")


# ------------------------------------------------------------------ check

@dataclass
class Outcome:
    acknowledged: int
    ready: int
    lost: list[str]
    duplicated: list[str]
    stuck: list[str]
    failed: list[str]

    def line(self) -> str:
        return (f"acknowledged={self.acknowledged} ready={self.ready} lost={len(self.lost)} "
                f"duplicated={len(self.duplicated)} stuck={len(self.stuck)} failed={len(self.failed)}")

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.failed)


def settle(stream: UploadStream, timeout: float) -> dict[str, str]:
    """Wait until every acknowledged version is ready or failed; {version_id: status}."""
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    while True:
        for ack in stream.acknowledged:
            if status.get(ack.version_id) in ("ready", "failed"):
                continue
            try:
                response = stream.http.get(f"{stream.api_url}/api/v1/versions/{ack.version_id}", timeout=10)
                status[ack.version_id] = response.json()["status"] if response.ok else f"http {response.status_code}"
            except requests.RequestException as err:
                status[ack.version_id] = f"unreachable: {err}"
        if all(s in ("ready", "failed") for s in status.values()) or time.monotonic() > deadline:
            return status
        time.sleep(1)


def check(db, stream: UploadStream, status: dict[str, str]) -> Outcome:
    """Compare what the client was told with the record the platform kept."""
    acked = {a.version_id: a for a in stream.acknowledged}
    versions = list(db.versions.find({"project_id": stream.project_id}))
    by_id = {v["_id"]: v for v in versions}
    lost = [f"{a.clip}: version {vid} not recorded" for vid, a in acked.items() if vid not in by_id]
    lost += [f"{a.clip}: no version_uploaded event" for vid, a in acked.items()
             if vid in by_id and not db.ingest_outbox.count_documents({"body.version_id": vid,
                                                                      "routing_key": "version_uploaded"})]
    duplicated = []
    numbers = sorted(v["number"] for v in versions)
    if numbers != list(range(1, len(numbers) + 1)):
        duplicated.append(f"version numbers are {numbers}, not 1..{len(numbers)}")
    for sha, n in Counter(v["sha256"] for v in versions).items():
        if n > 1:
            duplicated.append(f"{n} versions of one file (sha256 {sha[:12]})")
    finals = Counter()
    for state in db.version_states.find({"version_id": {"$in": list(by_id)}, "status": {"$in": ["ready", "failed"]}}):
        finals[state["version_id"]] += 1
    duplicated += [f"version {vid} ended {n} times" for vid, n in finals.items() if n > 1]
    claims = Counter(c["_id"].rsplit(":", 1)[0] for c in db.handled_events.find(
        {"_id": {"$in": [f"transcode_dispatch:{e['_id']}" for e in db.ingest_outbox.find(
            {"body.version_id": {"$in": list(by_id)}, "routing_key": "version_uploaded"})]}}))
    stuck = [f"{acked[vid].clip} v{acked[vid].number}: {s}" for vid, s in status.items() if s not in ("ready", "failed")]
    failed = [f"{acked[vid].clip} v{acked[vid].number}: {(db.version_states.find_one({'version_id': vid, 'status': 'failed'}) or {}).get('reason')}"
              for vid, s in status.items() if s == "failed"]
    unacked = [v for v in versions if v["_id"] not in acked]
    if unacked:  # made by an upload the client gave up on: fine if it is not also a duplicate
        log(f"{len(unacked)} version(s) exist that the client never saw acknowledged")
    log(f"dispatcher claims seen: {sum(claims.values())}")
    return Outcome(len(acked), sum(1 for s in status.values() if s == "ready"), lost, duplicated, stuck, failed)


# ------------------------------------------------------------------- run

def run(data: Path, versions: int, rounds: int, seed: int, workdir: Path, settle_seconds: float = 300) -> Outcome:
    settings = load_settings()
    config_path = stack.cli_config_path()
    token = json.loads(config_path.read_text())["token"]
    api_url = settings.public_url.rstrip("/")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    project = http.post(api_url + "/api/v1/projects", json={"name": f"Chaos {uuid.uuid4().hex[:8]}"}, timeout=30)
    project.raise_for_status()
    project_id = project.json()["id"]
    clips = Clips(workdir)
    rng = random.Random(seed)
    log(f"seed {seed}: {versions} versions, {rounds} round(s) of kills over {', '.join(VICTIMS)}")

    stream = UploadStream(api_url, token, project_id, asset="Chaos cut")
    killer = Killer(data, VICTIMS)
    killed_all = threading.Event()
    uploader = threading.Thread(target=stream.run, args=(clips, versions, killed_all, versions * 20), name="uploader")
    uploader.start()
    killer.run(rounds, rng)
    killed_all.set()
    uploader.join()
    stack.up(data)  # anything the killer could not bring back
    status = settle(stream, settle_seconds)
    outcome = check(connect(settings), stream, status)
    log(f"kills: {len(killer.kills)} ({', '.join(killer.kills)}); client retries: {dict(stream.retries)}")
    for kind in ("lost", "duplicated", "stuck", "failed"):
        for line in getattr(outcome, kind):
            log(f"{kind}: {line}")
    if stream.abandoned:
        log(f"the client gave up on: {', '.join(stream.abandoned)}")
    print(outcome.line(), flush=True)
    return outcome


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=40, help="at least this many; uploads go on while kills do")
    parser.add_argument("--rounds", type=int, default=3, help="times every victim is killed")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/framegate-chaos"))
    args = parser.parse_args(argv)
    data = Path(os.environ["FRAMEGATE_DATA"])
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    outcome = run(data, args.versions, args.rounds, seed, args.workdir)
    return 0 if outcome.clean and not outcome.acknowledged == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
