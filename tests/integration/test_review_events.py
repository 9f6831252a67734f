"""Review's events reach RabbitMQ through its outbox relay (review-relay), as
the consumers that come later (notify, dashboard) will receive them: typed,
once per fact, and an internal note never in an event meant for clients."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.common import events
from services.common.outbox import outbox_collection
from tests import media
from tests.integration.uploading import upload, wait_for_status
from tests.integration.test_review_links import CSRF, make_link, reviewer_session

REVIEW_EVENTS = Exchange("review.events", type="topic", durable=True)


@pytest.fixture(scope="module")
def review_events(settings):
    """A durable queue bound to every review event, as a consumer service would have."""
    queue = Queue(f"test-review-events-{uuid.uuid4().hex[:8]}", REVIEW_EVENTS, routing_key="#", durable=True)
    with Connection(settings.amqp_url) as conn:
        REVIEW_EVENTS(conn.channel()).declare()
        queue(conn.channel()).declare()
    yield Inbox(settings, queue)
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).delete()


class Inbox:
    """What arrived on the queue, kept so each test can look for its own events."""

    def __init__(self, settings, queue: Queue):
        self.settings, self.queue, self.seen = settings, queue, []

    def drain(self, seconds: float = 1.0) -> None:
        with Connection(self.settings.amqp_url, connect_timeout=5) as conn:
            simple = conn.SimpleQueue(self.queue)
            try:
                while True:
                    try:
                        message = simple.get(block=True, timeout=seconds)
                    except simple.Empty:
                        return
                    message.ack()
                    self.seen.append(message.payload if isinstance(message.payload, dict)
                                     else json.loads(message.payload))
            finally:
                simple.close()

    def matching(self, kind: str, **fields) -> list[dict]:
        return [e for e in self.seen if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, kind: str, timeout: float = 60.0, **fields) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(kind, **fields)
            if found:
                return found[0]
            self.drain()
        raise AssertionError(f"no {kind} event with {fields} arrived within {timeout}s")


@pytest.fixture(scope="module")
def cut(admin, tmp_path_factory):
    """A project with one ready version (25 fps, 50 frames)."""
    media_dir = tmp_path_factory.mktemp("review-events")
    project = admin.post("/api/v1/projects", json={"name": f"Review events {uuid.uuid4().hex[:8]}"}).json()
    made = upload(admin, project["id"], media.make_mov_25_tc(media_dir), asset="Hero")
    assert made.status_code == 201, made.text
    v1 = wait_for_status(admin, made.json()["id"], {"ready"}, timeout=240)
    return {"project": project, "v1": v1}


def test_link_and_note_events_reach_rabbitmq(admin, cut, api_url, review_events):
    link = make_link(admin, cut, kind="client", stage="Rough cut")
    session, opened = reviewer_session(api_url, link)
    assert opened.status_code == 201, opened.text
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    note = session.post(f"{api}/notes", json={"frame": 12, "to_frame": 20, "text": "Hold this shot longer"},
                        headers=CSRF, timeout=30).json()
    reply = admin.post(f"/api/v1/review/notes/{note['note_id']}/replies", json={"text": "Will do"}).json()
    status = admin.post(f"/api/v1/review/notes/{note['note_id']}/status", json={"status": "resolved"})
    assert status.status_code == 201, status.text
    assert admin.post(f"/api/v1/review/links/{link['link_id']}/revoke").status_code == 200

    created = events.from_wire(review_events.wait_for("link_created", link_id=link["link_id"]))
    assert (created.kind, created.stage, created.project_id) == ("client", "Rough cut", cut["project"]["id"])
    opened_event = review_events.wait_for("link_opened", link_id=link["link_id"])
    assert (opened_event["reviewer_email"], opened_event["version_id"]) == ("cleo@client.example", cut["v1"]["id"])
    added = review_events.wait_for("note_added", note_id=note["note_id"])
    assert (added["frame"], added["to_frame"], added["visibility"], added["link_id"]) == (
        12, 20, "client", link["link_id"])
    assert review_events.wait_for("note_replied", note_id=reply["note_id"])["parent_note_id"] == note["note_id"]
    changed = review_events.wait_for("note_status_changed", note_id=note["note_id"])
    assert (changed["previous_status"], changed["status"]) == ("open", "resolved")
    review_events.wait_for("link_revoked", link_id=link["link_id"])
    # Each fact once, however often the relay looked.
    review_events.drain()
    assert len(review_events.matching("note_added", note_id=note["note_id"])) == 1
    assert len(review_events.matching("link_created", link_id=link["link_id"])) == 1


def test_the_stack_runs_review_relay_as_a_relay_of_announcements(settings):
    from services.common.settings import local_port

    base = f"http://127.0.0.1:{local_port('review_relay')}"
    assert requests.get(base + "/healthz", timeout=10).json()["status"] == "ok"
    metrics = requests.get(base + "/metrics", timeout=10).text
    assert 'framegate_outbox_unheard_events{service="review"}' in metrics


def test_playback_progress_is_announced_per_quarter_and_at_the_end_not_per_report(admin, cut, api_url, db,
                                                                                  review_events):
    frames = cut["v1"]["facts"]["frames"]
    assert frames == 50
    link = make_link(admin, cut, kind="client", stage="Watch")
    session, opened = reviewer_session(api_url, link)
    session_id = opened.json()["session_id"]
    progress = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/progress"

    def report(ranges, **extra):
        answer = session.post(progress, json={"ranges": ranges} | extra, headers=CSRF, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["percent_watched"]

    assert report([[0, 9]]) == 20.0  # under a quarter: nothing to announce
    assert report([[0, 14]]) == 30.0  # a quarter reached
    assert report([[0, 14]]) == 30.0  # the same report again
    assert report([[0, 29]]) == 60.0  # half reached
    refused = session.post(progress, json={"ranges": [[0, 29]], "ended": "yes"}, headers=CSRF, timeout=30)
    assert refused.status_code == 400 and refused.json()["error"] == "bad_ended"
    assert report([[0, 29]], ended=True) == 60.0  # the page goes
    assert report([[0, 29]], ended=True) == 60.0  # and says so twice
    recorded = list(db[outbox_collection("review")].find(
        {"routing_key": "playback_progress", "body.session_id": session_id}).sort("created_at", 1))
    assert [e["body"]["percent_watched"] for e in recorded] == [30.0, 60.0, 60.0]

    deadline = time.monotonic() + 60
    while len(review_events.matching("playback_progress", session_id=session_id)) < 3:
        assert time.monotonic() < deadline, "playback_progress events did not all arrive"
        review_events.drain()
    last = events.from_wire(review_events.matching("playback_progress", session_id=session_id)[-1])
    assert last.watched == [{"first": 0, "last": 29}] and last.percent_watched == 60.0
    assert (last.link_id, last.viewer_email, last.version_id) == (link["link_id"], "cleo@client.example",
                                                                  cut["v1"]["id"])


def test_mentions_of_project_members_reach_the_note_events(admin, cut, api_url, db, review_events):
    from tests.conftest import add_member, new_member

    ann = new_member(api_url, db, "Ann Mention")
    ann_email = ann.get("/api/v1/me").json()["email"]
    add_member(admin, cut["project"]["id"], ann_email, "viewer")
    ann_id = next(m["user_id"] for m in admin.get(f"/api/v1/projects/{cut['project']['id']}/members").json()["members"]
                  if m["email"] == ann_email)
    handle = ann_email.split("@")[0]
    note = admin.post(f"/api/v1/review/versions/{cut['v1']['id']}/notes",
                      json={"frame": 3, "text": f"@{handle} can you check? Not @nobody"}).json()
    assert note["mentions"] == [ann_id] and note["mention_handles"] == [handle]
    # A reviewer through a client link mentions her too, by e-mail.
    link = make_link(admin, cut, kind="client", stage="Mentions")
    session, _ = reviewer_session(api_url, link)
    reply = session.post(f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/notes/{note['note_id']}/replies",
                         json={"text": f"Thanks @{ann_email}!"}, headers=CSRF, timeout=30)
    assert reply.status_code == 201, reply.text
    assert reply.json()["mentions"] == [ann_id] and reply.json()["mention_handles"] == [ann_email.lower()]

    assert review_events.wait_for("note_added", note_id=note["note_id"])["mentions"] == [ann_id]
    assert review_events.wait_for("note_replied", note_id=reply.json()["note_id"])["mentions"] == [ann_id]


def test_an_edit_that_adds_a_mention_names_the_newly_mentioned(admin, cut, api_url, db, review_events):
    from tests.conftest import add_member, new_member

    bo = new_member(api_url, db, "Bo Edited")
    bo_email = bo.get("/api/v1/me").json()["email"]
    add_member(admin, cut["project"]["id"], bo_email, "viewer")
    bo_id = next(m["user_id"] for m in admin.get(f"/api/v1/projects/{cut['project']['id']}/members").json()["members"]
                 if m["email"] == bo_email)
    note = admin.post(f"/api/v1/review/versions/{cut['v1']['id']}/notes", json={"frame": 4, "text": "Grade looks flat"}).json()
    assert note["mentions"] == []

    handle = bo_email.split("@")[0]
    edited = admin.post(f"/api/v1/review/notes/{note['note_id']}/revisions",
                        json={"text": f"Grade looks flat, @{handle} please look"})
    assert edited.status_code == 201, edited.text
    assert edited.json()["mentions"] == [bo_id] and edited.json()["mention_handles"] == [handle]
    assert mentions_now(admin, cut, note) == [bo_id]
    first_edit = review_events.wait_for("note_edited", note_id=note["note_id"], revision=2)
    assert first_edit["new_mentions"] == [bo_id] and first_edit["mentions"] == [bo_id]

    # Editing again, still mentioning Bo: he has heard already, so nobody is newly mentioned.
    again = admin.post(f"/api/v1/review/notes/{note['note_id']}/revisions",
                       json={"text": f"Grade looks flat in the sky, @{handle}"})
    assert again.json()["mentions"] == [bo_id]
    assert review_events.wait_for("note_edited", note_id=note["note_id"], revision=3)["new_mentions"] == []
    # A status change keeps what the text mentions.
    admin.post(f"/api/v1/review/notes/{note['note_id']}/status", json={"status": "resolved"})
    assert mentions_now(admin, cut, note) == [bo_id]


def mentions_now(api, cut, note: dict) -> list[str]:
    listed = api.get(f"/api/v1/review/versions/{cut['v1']['id']}/notes").json()["notes"]
    return next(n["mentions"] for n in listed if n["note_id"] == note["note_id"])
