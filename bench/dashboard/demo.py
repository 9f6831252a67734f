"""Fill a stack's dashboard with a dozen productions' worth of events (published
on RabbitMQ as the services publish them, dated over the last weeks), then take
screenshots of the board, a production and the capacity view.

    .venv/bin/python bench/dashboard/demo.py --data .data --out docs/

For looking at the pages (docs/dashboard*.png); the productions it makes carry
ids no service knows, so admins see them and members do not. The events go onto
the dashboard's own queues only, so no other service acts on them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kombu import Connection  # noqa: E402

from bench.dashboard.run import load_stack_env  # noqa: E402
from services.common import accounts  # noqa: E402
from services.common import events as ev  # noqa: E402
from services.common.mongo import connect  # noqa: E402
from services.common.settings import load_settings  # noqa: E402
from services.dashboard.projector import queue_for  # noqa: E402

PASSWORD = "demo horse battery staple"
PRODUCERS = ["pat@northlight.example", "sam@northlight.example", "alex@northlight.example"]
CLIENTS = ["acme.example", "brightbank.example", "volta-motors.example", "oakfield.example"]


class Production:
    def __init__(self, name: str, producer: str, client: str, started_days_ago: float, now: datetime):
        self.id, self.name, self.producer, self.client = uuid.uuid4().hex, name, producer, client
        self.at = now - timedelta(days=started_days_ago)
        self.events: list[ev.Event] = []
        self.versions = 0
        self.asset = uuid.uuid4().hex
        self.add(ev.ProjectCreated, hours=0, name=name, created_by="u", created_by_email=producer,
                 created_by_name=producer.split("@")[0].title())

    def add(self, cls, hours: float = 3, **fields):
        self.at += timedelta(hours=hours)
        stamp = self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.events.append(cls(project_id=self.id, occurred_at=stamp, **fields))

    def version(self, hours=6):
        self.versions += 1
        self.vid = uuid.uuid4().hex
        self.add(ev.VersionUploaded, hours=hours, asset_id=self.asset, version_id=self.vid,
                 version_number=self.versions, master_bucket="m", master_key="k", sha256="0" * 64, size=1,
                 media_kind="video", uploaded_by="u")
        self.add(ev.VersionReady, hours=0.2, asset_id=self.asset, version_id=self.vid, renditions={})

    def send(self, stage="Client cut", opened=True, watched=0.0, hours=1):
        self.link = uuid.uuid4().hex
        self.add(ev.LinkCreated, hours=hours, link_id=self.link, asset_id=self.asset, version_id=self.vid,
                 kind="client", stage=stage, created_by="u")
        if opened:
            session = uuid.uuid4().hex
            self.add(ev.LinkOpened, hours=2, link_id=self.link, session_id=session, asset_id=self.asset,
                     version_id=self.vid, kind="client", reviewer_name="Client", reviewer_email=f"cd@{self.client}")
            if watched:
                self.add(ev.PlaybackProgress, hours=0.1, session_id=session, asset_id=self.asset,
                         version_id=self.vid, watched=[{"first": 0, "last": 100}], percent_watched=watched,
                         link_id=self.link)

    def notes(self, count: int, hours=20):
        self.note_ids = []
        for i in range(count):
            note = uuid.uuid4().hex
            self.note_ids.append(note)
            self.add(ev.NoteAdded, hours=hours if i == 0 else 0.1, note_id=note, asset_id=self.asset,
                     version_id=self.vid, frame=24 * i, to_frame=None, timecode="", text=f"Note {i}",
                     visibility="client", author_name="Client", author_email=f"cd@{self.client}", link_id=self.link)

    def resolve(self, count: int):
        for note in self.note_ids[:count]:
            self.add(ev.NoteStatusChanged, hours=1, note_id=note, asset_id=self.asset, version_id=self.vid,
                     status="resolved", previous_status="open", visibility="client", changed_by="Editor")

    def submit(self, stage: str, approvers: list[str], approved: int = 0, changes: bool = False, round_=1):
        gate = f"{self.id}:{stage}"
        self.add(ev.VersionSubmitted, hours=2, gate_id=gate, stage=stage, round=round_, asset_id=self.asset,
                 version_id=self.vid, version_number=self.versions, approvers=approvers, rule="all",
                 submitted_by=self.producer)
        for email in approvers[:approved]:
            self.add(ev.ApprovalRecorded, hours=5, gate_id=gate, stage=stage, round=round_,
                     decision_id=uuid.uuid4().hex, version_id=self.vid, version_number=self.versions,
                     decision="approve", email=email)
        if changes:
            self.add(ev.ApprovalRecorded, hours=5, gate_id=gate, stage=stage, round=round_,
                     decision_id=uuid.uuid4().hex, version_id=self.vid, version_number=self.versions,
                     decision="changes", email=approvers[-1], reason="Logo too small")

    def close(self, stage: str, to_stage: str | None):
        gate = f"{self.id}:{stage}"
        self.add(ev.GateClosed, hours=0.1, gate_id=gate, stage=stage, round=1, version_id=self.vid,
                 version_number=self.versions, sha256="0" * 64)
        self.add(ev.VersionLocked, hours=0, asset_id=self.asset, version_id=self.vid, gate_id=gate)
        self.add(ev.StageAdvanced, hours=0, from_stage=stage, to_stage=to_stage)


def productions(now: datetime) -> list[Production]:
    made = []

    def new(name, producer, client, days):
        p = Production(name, PRODUCERS[producer], CLIENTS[client], days, now)
        made.append(p)
        return p

    p = new("Acme Spring 60s", 0, 0, 3)
    p.version(); p.send(watched=45.0)
    p = new("Brightbank Savings — hero", 1, 1, 9)
    p.version(); p.send(watched=100.0); p.notes(6)
    p = new("Volta EV launch", 0, 2, 30)
    p.version(); p.send(watched=80.0); p.notes(4); p.resolve(2); p.version(30); p.send(watched=60.0); p.notes(3)
    p.resolve(1)
    p = new("Oakfield Farms social cut-downs", 2, 3, 16)
    p.version(); p.send(watched=92.0); p.notes(5); p.resolve(3); p.version(40)
    p = new("Acme Summer teaser", 2, 0, 20)
    p.version(); p.send(watched=100.0); p.notes(2); p.resolve(2); p.version(20)
    p.submit("client-rough-cut", ["cd@acme.example", "brand@acme.example"], approved=1)
    p = new("Brightbank app tutorial", 1, 1, 25)
    p.version(); p.submit("rough-cut-internal", ["pat@northlight.example"], approved=1)
    p.close("rough-cut-internal", "client-rough-cut"); p.version(30)
    p.submit("client-rough-cut", ["cd@brightbank.example", "legal@brightbank.example", "cmo@brightbank.example"])
    p = new("Volta dealer film", 0, 2, 40)
    p.version(); p.send(watched=100.0); p.notes(7); p.resolve(7); p.version(50)
    p.submit("client-rough-cut", ["cd@volta-motors.example"], changes=True)
    p = new("Oakfield brand story", 2, 3, 45)
    p.version(); p.submit("client-rough-cut", ["cd@oakfield.example"], approved=1)
    p.close("client-rough-cut", "colour-grade")
    p = new("Acme annual report film", 0, 0, 50)
    p.version(); p.submit("online-delivery", ["cd@acme.example"], approved=1); p.close("online-delivery", None)
    p = new("Brightbank 15s pre-roll", 1, 1, 2)
    p.version(); p.send(opened=False)
    p = new("Volta charging explainer", 2, 2, 12)
    p.version(); p.send(watched=30.0, hours=40)
    p = new("Oakfield harvest OOH", 0, 3, 1)
    p.version()
    return made


def screenshots(base: str, email: str, out: Path, detail_id: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=base, viewport={"width": 1360, "height": 900}).new_page()
        page.goto("/dashboard")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        page.goto("/dashboard?producer=northlight.example")  # the demo's productions, not a test stack's others
        page.wait_for_selector("#live.on")
        page.screenshot(path=str(out / "dashboard.png"), full_page=True)
        page.goto(f"/dashboard/productions/{detail_id}")
        page.wait_for_selector("#live.on")
        page.screenshot(path=str(out / "dashboard-production.png"), full_page=True)
        page.goto("/dashboard/capacity")
        page.wait_for_selector("#live.on")
        page.screenshot(path=str(out / "dashboard-capacity.png"), full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".data", type=Path)
    parser.add_argument("--out", default="docs", type=Path)
    args = parser.parse_args()
    load_stack_env(args.data)
    settings = load_settings()
    made = productions(datetime.now(timezone.utc))
    # Straight onto the dashboard's own queues: on the services' exchanges transcode
    # would try to transcode these made-up uploads.
    with Connection(settings.amqp_url) as conn:
        producer = conn.Producer(serializer="json")
        for production in made:
            for event in production.events:
                producer.publish(event.to_wire(), exchange="", routing_key=queue_for(event.source, event.type),
                                 retry=True, delivery_mode=2)
    print(f"published {sum(len(p.events) for p in made)} events for {len(made)} productions")
    db = connect(settings)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = sum(1 for p in made if (db.dashboard_productions.find_one({"_id": p.id}, {"event_count": 1}) or {})
                   .get("event_count") == len(p.events))
        if done == len(made):
            break
        time.sleep(0.5)
    email = f"producer-{uuid.uuid4().hex[:6]}@northlight.example"
    accounts.create_user(db, email, "Erin Executive", "admin", PASSWORD)
    args.out.mkdir(parents=True, exist_ok=True)
    screenshots(os.environ["FRAMEGATE_PUBLIC_URL"], email, args.out, made[5].id)
    print(f"screenshots in {args.out}/dashboard*.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
