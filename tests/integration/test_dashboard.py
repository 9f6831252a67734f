"""The dashboard through the real stack: events over RabbitMQ change its
projection once, a rebuild from its log equals the live projection, a real
production moves through its states as ingest, review and approval act, and
each member sees only their own productions."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import subprocess
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from kombu import Connection

from services.common import events as ev
from services.common.outbox_relay import Relay
from services.dashboard import store
from services.dashboard.projector import queue_for
from tests import media
from tests.conftest import add_member, new_member
from tests.integration.test_review_links import CSRF, reviewer_session
from tests.integration.uploading import upload, wait_for_status
from tests.integration.waiting import wait_until

D = "/api/v1/dashboard"


@pytest.fixture(scope="module")
def publish(settings):
    """Put an event on the dashboard's own queue for its type, on RabbitMQ. Made-up
    events go only there: on the services' exchanges, transcode would try to
    transcode a made-up upload (and announce its failure)."""
    with Connection(settings.amqp_url) as conn:
        producer = conn.Producer(serializer="json")

        def send(event: ev.Event) -> None:
            producer.publish(event.to_wire(), exchange="", routing_key=queue_for(event.source, event.type),
                             retry=True, delivery_mode=2)

        yield send


def production(api, project_id: str) -> dict | None:
    response = api.get(f"{D}/productions/{project_id}")
    return response.json() if response.status_code == 200 else None


def wait_for(api, project_id: str, what: str, check, timeout: float = 60) -> dict:
    return wait_until(lambda: (lambda v: v if v and check(v) else None)(production(api, project_id)), timeout, what)


def publish_review_events(settings) -> None:
    """Review's outbox relay, run once (the stack's own review relay may publish them too:
    the dashboard takes each event once either way)."""
    Relay(settings, "review").publish_pending()


def story(project_id: str) -> list[ev.Event]:
    """A production sent to a client who leaves two notes, a second apart each."""
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    v1 = uuid.uuid4().hex
    made = [
        ev.ProjectCreated(project_id=project_id, name=f"Synthetic {project_id[:6]}", created_by="u1",
                          created_by_email="pat@studio.example"),
        ev.VersionUploaded(project_id=project_id, asset_id="a1", version_id=v1, version_number=1, master_bucket="m",
                           master_key="k", sha256="0" * 64, size=1, media_kind="video", uploaded_by="u1"),
        ev.VersionReady(project_id=project_id, asset_id="a1", version_id=v1, renditions={}),
        ev.LinkCreated(project_id=project_id, link_id="l1", asset_id="a1", version_id=v1, kind="client", stage="First cut",
                       created_by="u1"),
        ev.LinkOpened(project_id=project_id, link_id="l1", session_id="s1", asset_id="a1", version_id=v1, kind="client",
                      reviewer_name="Ann", reviewer_email="ann@agency.example"),
        ev.NoteAdded(project_id=project_id, note_id="n1", asset_id="a1", version_id=v1, frame=1, to_frame=None, timecode="",
                     text="Bigger logo", visibility="client", author_name="Ann", author_email="ann@agency.example",
                     link_id="l1"),
        ev.NoteAdded(project_id=project_id, note_id="n2", asset_id="a1", version_id=v1, frame=9, to_frame=None, timecode="",
                     text="Warmer grade", visibility="client", author_name="Ann", author_email="ann@agency.example",
                     link_id="l1"),
    ]
    return [dataclasses.replace(event, occurred_at=(start + timedelta(seconds=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
            for n, event in enumerate(made)]


def test_events_through_rabbitmq_change_the_projection_and_a_redelivery_counts_once(admin, db, publish):
    project_id = uuid.uuid4().hex
    sent = story(project_id)
    for event in sent:
        publish(event)
    view = wait_for(admin, project_id, "notes received on the board",
                    lambda v: v["state"] == "notes received" and v["open_notes"] == 2)
    assert view["name"] == f"Synthetic {project_id[:6]}" and view["producer"] == "pat@studio.example"
    assert view["clients"] == ["agency.example"] and view["link_activity"]["opened"] == 1

    for event in sent[-2:]:  # the broker delivers the two notes again
        publish(event)
    publish(ev.NoteStatusChanged(project_id=project_id, note_id="n1", asset_id="a1", version_id=sent[1].version_id,
                                 status="resolved", previous_status="open", visibility="client", changed_by="Ed"))
    view = wait_for(admin, project_id, "the resolved note on the board", lambda v: v["state"] == "in revision")
    assert view["open_notes"] == 1 and view["notes_total"] == 2
    assert view["event_count"] == len(sent) + 1
    assert db[store.EVENTS].count_documents({"project_id": project_id}) == len(sent) + 1


def test_a_rebuild_from_the_log_equals_the_live_projection(admin, db, publish, settings):
    project_id = uuid.uuid4().hex
    sent = story(project_id)
    for event in sent:
        publish(event)
    wait_for(admin, project_id, "the story on the board", lambda v: v["event_count"] == len(sent))
    live = store.view_of(db, project_id)
    others = {pid: store.view_of(db, pid) for pid in store.logged_projects(db)}

    done = subprocess.run([sys.executable, "-m", "services.dashboard.rebuild"], capture_output=True, text=True,
                          env=os.environ, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "rebuilt" in done.stdout
    assert store.view_of(db, project_id) == live
    rebuilt = {pid: store.view_of(db, pid) for pid in others}
    # Productions the projector changed during the rebuild may have moved on; the rest are identical.
    same = [pid for pid in others if rebuilt[pid] == others[pid]]
    assert len(same) >= len(others) - 2


def test_bad_filters_are_refused_with_the_field_named(admin):
    response = admin.get(f"{D}/productions", params={"state": "lost"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_state"
    assert "in client review" in response.json()["message"]
    response = admin.get(f"{D}/productions", params={"sort": "colour"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_sort"


def test_members_see_their_productions_and_admins_all(api_url, db, admin, publish):
    mine = admin.post("/api/v1/projects", json={"name": f"Board {uuid.uuid4().hex[:8]}"}).json()
    member = new_member(api_url, db, "Mia Member")
    wait_for(admin, mine["id"], "project_created on the board", lambda v: v["name"] == mine["name"])
    assert production(member, mine["id"]) is None
    listed = member.get(f"{D}/productions").json()["productions"]
    assert mine["id"] not in {r["project_id"] for r in listed}
    assert requests.get(f"{api_url}{D}/productions", timeout=30).status_code == 401

    email = member.get("/api/v1/me").json()["email"]
    add_member(admin, mine["id"], email, "viewer")
    shown = wait_until(lambda: production(member, mine["id"]), 30, "the member sees the production")
    assert shown["name"] == mine["name"] and shown["state"] == "in production"
    listed = member.get(f"{D}/productions").json()["productions"]
    assert [r["project_id"] for r in listed] == [mine["id"]]
    assert admin.get(f"{D}/productions").json()["productions"]  # admins see every production


def test_productions_made_as_a_stream_opens_reach_it(api_url, db):
    """Who may see what is asked of ingest and kept a while; a production announced just
    after that answer must still reach its maker's open stream, not be taken as another's."""
    member = new_member(api_url, db, "Sid Streamer")
    with member.session.get(f"{api_url}{D}/stream", stream=True, timeout=60) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        made = [member.post("/api/v1/projects", json={"name": f"Quick {n} {uuid.uuid4().hex[:6]}"}).json()["id"]
                for n in range(3)]
        heard: set[str] = set()
        deadline = time.monotonic() + 30
        for line in response.iter_lines(decode_unicode=True):  # a keep-alive at least every 15 s
            if line.startswith("data: "):
                heard.add(json.loads(line[len("data: "):])["project_id"])
            if set(made) <= heard or time.monotonic() > deadline:
                break
    assert set(made) <= heard, f"not heard on the stream: {set(made) - heard}"


@pytest.fixture(scope="module")
def cut(admin, tmp_path_factory):
    media_dir = tmp_path_factory.mktemp("board")
    project = admin.post("/api/v1/projects", json={"name": f"Spring spot {uuid.uuid4().hex[:6]}"}).json()
    first = upload(admin, project["id"], media.make_mov_25_tc(media_dir), asset="Hero")
    assert first.status_code == 201, first.text
    return {"project": project, "v1": wait_for_status(admin, first.json()["id"], {"ready"}, timeout=240)}


def test_a_real_production_moves_through_its_states(api_url, admin, cut, settings, db):
    project_id, version = cut["project"]["id"], cut["v1"]
    view = wait_for(admin, project_id, "version 1 ready on the board",
                    lambda v: [x["status"] for x in v["versions"]] == ["ready"])
    assert view["state"] == "in production" and view["name"] == cut["project"]["name"]

    link = admin.post("/api/v1/review/links", json={"version_id": version["id"], "kind": "client",
                                                    "stage": "First cut"}).json()
    session, opened = reviewer_session(api_url, link, name="Cleo Client", email="cleo@client.example")
    assert opened.status_code == 201, opened.text
    publish_review_events(settings)
    wait_for(admin, project_id, "client review on the board",
             lambda v: v["state"] == "in client review" and v["link_activity"]["opened"] == 1)

    added = session.post(f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/notes", headers=CSRF, timeout=30,
                         json={"frame": 10, "text": "Logo too small"})
    assert added.status_code == 201, added.text
    publish_review_events(settings)
    wait_for(admin, project_id, "notes received on the board",
             lambda v: v["state"] == "notes received" and v["open_notes"] == 1)

    base = f"/api/v1/approval/projects/{project_id}"
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    me = admin.get("/api/v1/me").json()["email"]
    stage = admin.get(f"{base}/stage").json()["stage"]
    assert admin.put(f"{base}/stages/{stage}/gate", json={"approvers": [me]}).status_code == 200
    submitted = admin.post(f"{base}/submit", json={"version_id": version["id"]}).json()
    view = wait_for(admin, project_id, "awaiting approval on the board", lambda v: v["state"] == "awaiting approval")
    assert view["pending_approvers"] == [me] and view["stage"] == stage

    decided = admin.post(f"/api/v1/approval/gates/{submitted['gate_id']}/decisions", json={"decision": "approve"})
    assert decided.status_code == 201, decided.text
    view = wait_for(admin, project_id, "the gate closed on the board", lambda v: v["state"] == "approved")
    assert view["pending_approvers"] == [] and view["stage"] != stage
    assert [s["name"] for s in view["stages"]][:2] == [stage, view["stage"]]
    assert any(m["kind"] == "gate" for m in view["timeline"])

    row = [r for r in admin.get(f"{D}/productions").json()["productions"] if r["project_id"] == project_id][0]
    assert (row["state"], row["open_notes"], row["pending_approvers"]) == ("approved", 1, [])


def test_concurrent_writers_leave_the_projection_of_the_whole_log(db, monkeypatch):
    """Eight writers logging and folding one production's events at once (as several
    projector replicas would: the in-process lock is taken away): FerretDB loses
    concurrent updates, but the last write is always a fold of the whole log."""
    monkeypatch.setattr(store, "_lock", lambda project_id: contextlib.nullcontext())
    slow_fold = store.fold  # a fold that takes a while widens the window for a stale write

    def slow(events):
        time.sleep(random.random() * 0.05)
        return slow_fold(events)

    monkeypatch.setattr(store, "fold", slow)
    project_id = uuid.uuid4().hex
    start = datetime.now(timezone.utc)
    notes = [ev.NoteAdded(project_id=project_id, note_id=f"n{i}", asset_id="a1", version_id="v1", frame=i,
                          to_frame=None, timecode="", text="x", visibility="client", author_name="Ann",
                          author_email="ann@agency.example", link_id="l1",
                          occurred_at=(start + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
                          .replace("+00:00", "Z")).to_wire() for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda body: store.consume(db, body), notes[:10] + notes))  # ten arrive twice
    view = store.view_of(db, project_id)
    assert (view["event_count"], view["open_notes"], view["state"]) == (40, 40, "notes received")
