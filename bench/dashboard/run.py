"""How soon an open dashboard hears of an action: the time from an action's 2xx
to the message on each of N open server-sent-event streams.

    .venv/bin/python bench/dashboard/run.py --data .data --viewers 100 --actions 30

Runs against a running stack (reads <data>/stack.env), through its front door
(nginx), as a fresh admin. The action is creating a production (ingest's API):
its 2xx, then ingest's outbox relay, RabbitMQ, the dashboard's projector, its
projection, the web process's poller and every stream. Prints p50/p99/max over
every (action, viewer) pair, and the same for the first viewer alone, so a slow
fan-out shows apart from a slow pipeline. The viewers' readers run in this
process, on the same two cores as the stack: the figures include that noise,
and the load average at start and end says how noisy the machine was.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common import accounts  # noqa: E402
from services.common.mongo import connect  # noqa: E402
from services.common.settings import load_settings  # noqa: E402
from services.dashboard import store  # noqa: E402

PASSWORD = "bench horse battery staple"


def load_stack_env(data_dir: Path) -> None:
    for line in (data_dir / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key, value)


def sign_in(base: str) -> str:
    db = connect(load_settings())
    email = f"bench-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Bench Admin", "admin", PASSWORD)
    answer = requests.post(base + "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return answer.json()["token"]


class Viewer(threading.Thread):
    """One open stream; records when each production's first message arrived."""

    def __init__(self, base: str, token: str):
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.arrivals: dict[str, float] = {}
        self.connected = threading.Event()

    def run(self) -> None:
        with requests.get(self.base + "/api/v1/dashboard/stream", stream=True, timeout=(10, 120),
                          headers={"Authorization": f"Bearer {self.token}"}) as response:
            response.raise_for_status()
            self.connected.set()
            buffered = ""
            for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
                now = time.perf_counter()  # as the bytes arrive, before any parsing
                buffered += chunk
                *complete, buffered = buffered.split("\n")
                for line in complete:
                    if line.startswith("data: "):
                        self.arrivals.setdefault(json.loads(line[6:])["project_id"], now)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def describe(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{label:<34} n={len(ms):<5} p50={percentile(ms, 50):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
            f"max={max(ms):7.1f} ms  mean={statistics.mean(ms):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".data", type=Path, help="the stack's data directory")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--actions", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between actions")
    parser.add_argument("--timeout", type=float, default=20.0, help="how long to wait for each message")
    args = parser.parse_args()
    load_stack_env(args.data)
    base = os.environ["FRAMEGATE_PUBLIC_URL"].rstrip("/")
    token = sign_in(base)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    load_start = os.getloadavg()[0]

    viewers = [Viewer(base, token) for _ in range(args.viewers)]
    for viewer in viewers:
        viewer.start()
    for viewer in viewers:
        if not viewer.connected.wait(30):
            print("a viewer could not open its stream within 30 s", file=sys.stderr)
            return 1
    print(f"{args.viewers} viewers connected to {base}/api/v1/dashboard/stream")

    db = connect(load_settings())
    latencies, first_viewer, projected, missing = [], [], [], 0
    for n in range(args.actions):
        response = api.post(base + "/api/v1/projects", json={"name": f"Bench {uuid.uuid4().hex[:10]}"}, timeout=30)
        done = time.perf_counter()
        response.raise_for_status()
        project_id = response.json()["id"]
        deadline = done + args.timeout
        # Where the time went: the projection written (relay, broker, projector) ...
        while time.perf_counter() < deadline and db[store.PRODUCTIONS].find_one({"_id": project_id}, {"_id": 1}) is None:
            time.sleep(0.005)
        projected.append(time.perf_counter() - done)
        # ... then the web process's poller and every stream.
        while time.perf_counter() < deadline and not all(project_id in v.arrivals for v in viewers):
            time.sleep(0.005)
        got = [v.arrivals[project_id] - done for v in viewers if project_id in v.arrivals]
        missing += len(viewers) - len(got)
        latencies.extend(got)
        if project_id in viewers[0].arrivals:
            first_viewer.append(viewers[0].arrivals[project_id] - done)
        time.sleep(args.gap)

    print(f"load average: {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end "
          f"({os.cpu_count()} cores; above the core count the figures are noisy)")
    print(describe("2xx -> projection written", projected))
    print(describe("2xx -> SSE message, every viewer", latencies))
    print(describe("2xx -> SSE message, first viewer", first_viewer))
    if missing:
        print(f"MISSING: {missing} messages never arrived within {args.timeout} s")
    print("goal: p99 <= 250 ms with 100 viewers")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
