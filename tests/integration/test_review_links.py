"""Review links through the real stack: owners make, list and revoke them; a
reviewer without an account opens one with a name and an e-mail (and its
password), watches through per-session URLs, leaves notes the link's rules
allow, and what they played lands in the access log. Every refusal is a 4xx
naming the problem, with nothing stored and nothing in the outbox."""
from __future__ import annotations

import hashlib
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests

from services.common.outbox import outbox_collection
from tests import media
from tests.conftest import add_member, new_member
from tests.integration.uploading import upload, wait_for_status

CSRF = {"X-Framegate-CSRF": "1"}


@pytest.fixture(scope="module")
def cut(admin, tmp_path_factory):
    """A project with one asset in two ready versions (25 fps, 50 frames; then 23.976)."""
    media_dir = tmp_path_factory.mktemp("links")
    project = admin.post("/api/v1/projects", json={"name": f"Links {uuid.uuid4().hex[:8]}"}).json()
    first = upload(admin, project["id"], media.make_mov_25_tc(media_dir), asset="Hero")
    assert first.status_code == 201, first.text
    v1 = wait_for_status(admin, first.json()["id"], {"ready"}, timeout=240)
    second = upload(admin, project["id"], media.make_h264_2398(media_dir), asset="Hero")
    assert second.status_code == 201, second.text
    v2 = wait_for_status(admin, second.json()["id"], {"ready"}, timeout=240)
    assert v2["asset_id"] == v1["asset_id"] and v2["number"] == 2
    return {"project": project, "v1": v1, "v2": v2}


def make_link(admin, cut, **fields) -> dict:
    body = {"version_id": cut["v1"]["id"], "kind": "client", "stage": "First cut"} | fields
    response = admin.post("/api/v1/review/links", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def token_of(link: dict) -> str:
    return urlsplit(link["url"]).path.removeprefix("/l/")


def reviewer_session(api_url, link, name="Cleo Client", email="cleo@client.example", **extra):
    session = requests.Session()
    response = session.post(f"{api_url}/api/v1/review/links/{token_of(link)}/sessions",
                            json={"name": name, "email": email} | extra, timeout=60)
    return session, response


def outbox(db, **query) -> int:
    return db[outbox_collection("review")].count_documents(query)


def stored(db, link_id: str | None = None) -> dict:
    """What a refused request must not have changed."""
    query = {"link_id": link_id} if link_id else {}
    return {"links": db.review_links.count_documents({}), "sessions": db.link_sessions.count_documents(query),
            "notes": db.notes.count_documents({}), "outbox": db[outbox_collection("review")].count_documents({})}


# Owners --------------------------------------------------------------------------

def test_an_owner_makes_a_link_whose_token_is_shown_once_and_kept_only_as_a_digest(admin, cut, db, api_url):
    link = make_link(admin, cut, brief="Focus on pacing; music is temporary.", password="open sesame",
                     allowed_domains=["Client.example"], download=True,
                     expires_at=(datetime.now(timezone.utc) + timedelta(days=2)).isoformat())
    token = token_of(link)
    assert link["url"] == f"{api_url}/l/{token}" and len(token) >= 43
    assert (link["kind"], link["stage"], link["password"], link["allowed_domains"], link["download"],
            link["comments"], link["state"]) == ("client", "First cut", True, ["client.example"], True, True, "active")
    doc = db.review_links.find_one({"_id": link["link_id"]})
    assert doc["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(doc) and "open sesame" not in str(doc)
    assert doc["password_hash"].startswith("$argon2id$")  # services/common/passwords, the platform's costs
    assert outbox(db, routing_key="link_created", **{"body.link_id": link["link_id"]}) == 1
    event = db[outbox_collection("review")].find_one({"routing_key": "link_created", "body.link_id": link["link_id"]})
    assert event["body"]["password"] is True and "open sesame" not in str(event)

    listed = admin.get(f"/api/v1/review/projects/{cut['project']['id']}/links")
    assert listed.status_code == 200
    mine = [l for l in listed.json()["links"] if l["link_id"] == link["link_id"]]
    assert len(mine) == 1 and "url" not in mine[0] and token not in listed.text


def test_only_owners_and_admins_manage_links(admin, cut, db, api_url):
    editor, outsider = new_member(api_url, db, "Eddie Editor"), new_member(api_url, db, "Otto Outsider")
    add_member(admin, cut["project"]["id"], editor.get("/api/v1/me").json()["email"], "editor")
    link = make_link(admin, cut)
    before = stored(db)
    body = {"version_id": cut["v1"]["id"], "kind": "client", "stage": "Sneaky"}
    made = editor.post("/api/v1/review/links", json=body)
    assert made.status_code == 403 and made.json()["error"] == "role_forbids"
    assert made.json()["message"].startswith("You are an editor in this project; only an owner")
    assert editor.post(f"/api/v1/review/links/{link['link_id']}/revoke").status_code == 403
    assert editor.get(f"/api/v1/review/projects/{cut['project']['id']}/links").status_code == 403
    assert outsider.post("/api/v1/review/links", json=body).json()["error"] == "unknown_version"
    revoked = outsider.post(f"/api/v1/review/links/{link['link_id']}/revoke")
    assert revoked.status_code == 404 and revoked.json()["error"] == "unknown_link"
    assert outsider.get(f"/api/v1/review/links/{link['link_id']}/access").status_code == 404
    assert stored(db) == before
    assert db.link_revocations.count_documents({"_id": link["link_id"]}) == 0


@pytest.mark.parametrize("fields, code", [
    ({"kind": "public"}, "bad_kind"),
    ({"stage": ""}, "bad_stage"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "expiry_in_past"),
    ({"expires_at": "next week"}, "bad_expiry"),
    ({"allowed_domains": ["not a domain"]}, "bad_domains"),
    ({"password": "abc"}, "bad_password"),
    ({"comments": "yes"}, "bad_comments"),
    ({"asset_id": "also-an-asset"}, "version_or_asset"),
    ({"version_id": "no-such-version"}, "unknown_version"),
])
def test_bad_link_settings_are_refused_with_nothing_stored(admin, cut, db, fields, code):
    before = stored(db)
    body = {"version_id": cut["v1"]["id"], "kind": "client", "stage": "First cut"} | fields
    response = admin.post("/api/v1/review/links", json=body)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"] == code
    assert stored(db) == before


# Reviewers -------------------------------------------------------------------------

def test_a_reviewer_opens_a_session_with_a_name_and_an_e_mail(admin, cut, db, api_url):
    link = make_link(admin, cut, allowed_domains=["client.example"])
    session, opened = reviewer_session(api_url, link)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert (body["link_id"], body["version_id"], body["kind"]) == (link["link_id"], cut["v1"]["id"], "client")
    cookie = opened.headers["Set-Cookie"]
    assert f"framegate_link_{link['link_id']}=" in cookie and "HttpOnly" in cookie
    secret = session.cookies.get(f"framegate_link_{link['link_id']}")
    record = db.link_sessions.find_one({"_id": body["session_id"]})
    assert secret not in str(record) and record["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert (record["name"], record["email"]) == ("Cleo Client", "cleo@client.example")
    assert record["ip"] == "127.0.0.1" and "python-requests" in record["user_agent"]
    assert outbox(db, routing_key="link_opened", **{"body.session_id": body["session_id"]}) == 1

    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    grant = session.get(f"{api}/playback", timeout=30)
    assert grant.status_code == 200 and grant.json()["expires_in"] <= 60
    assert f"/{cut['project']['id']}/{cut['v1']['id']}/" in grant.json()["master"]
    assert requests.get(api_url + grant.json()["master"], timeout=30).status_code == 200
    # Without the cookie, or with another link's, there is nothing.
    assert requests.get(f"{api}/playback", timeout=30).status_code == 401
    other = make_link(admin, cut)
    stolen = requests.get(f"{api_url}/api/v1/review/link-sessions/{other['link_id']}/playback",
                          cookies={f"framegate_link_{other['link_id']}": secret}, timeout=30)
    assert stolen.status_code == 401


def test_a_link_to_an_asset_plays_its_newest_ready_version(admin, cut, api_url):
    link = make_link(admin, cut, version_id=None, asset_id=cut["v1"]["asset_id"])
    assert link["follows"] == "current" and link["version_id"] is None
    _, opened = reviewer_session(api_url, link)
    assert opened.status_code == 201, opened.text
    assert opened.json()["version_id"] == cut["v2"]["id"]


def test_revocation_is_instant_for_sessions_already_open(admin, cut, db, api_url):
    link = make_link(admin, cut)
    session, opened = reviewer_session(api_url, link)
    assert opened.status_code == 201
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    assert session.get(f"{api}/playback", timeout=30).status_code == 200
    revoked = admin.post(f"/api/v1/review/links/{link['link_id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert outbox(db, routing_key="link_revoked", **{"body.link_id": link["link_id"]}) == 1
    again = admin.post(f"/api/v1/review/links/{link['link_id']}/revoke")
    assert again.status_code == 200
    assert outbox(db, routing_key="link_revoked", **{"body.link_id": link["link_id"]}) == 1
    for response in (session.get(f"{api}/playback", timeout=30), session.get(f"{api}/notes", timeout=30),
                     session.post(f"{api}/notes", json={"frame": 1, "text": "late"}, headers=CSRF, timeout=30)):
        assert response.status_code == 410 and response.json()["error"] == "link_revoked"
    page = session.get(f"{api_url}/l/{token_of(link)}", timeout=30)
    assert page.status_code == 410 and "revoked" in page.text and "player-data" not in page.text


def test_refusals_when_opening_a_link_store_nothing(admin, cut, db, api_url):
    link = make_link(admin, cut, allowed_domains=["client.example"], password="open sesame")
    before = stored(db)
    forged = requests.post(f"{api_url}/api/v1/review/links/{'A' * 43}/sessions",
                           json={"name": "Fay", "email": "fay@client.example"}, timeout=30)
    assert forged.status_code == 404 and forged.json()["error"] == "unknown_link"
    assert requests.get(f"{api_url}/l/{'A' * 43}", timeout=30).status_code == 404
    _, outside = reviewer_session(api_url, link, email="eve@elsewhere.example", password="open sesame")
    assert outside.status_code == 403 and outside.json()["error"] == "email_domain_not_allowed"
    _, nameless = reviewer_session(api_url, link, name=" ", password="open sesame")
    assert nameless.status_code == 400 and nameless.json()["error"] == "bad_name"
    _, missing = reviewer_session(api_url, link)
    assert missing.status_code == 403 and missing.json()["error"] == "password_required"
    assert stored(db) == before


def test_wrong_passwords_are_slowed_down_per_link_and_address(admin, cut, db, api_url):
    link = make_link(admin, cut, password="open sesame")
    before = stored(db, link["link_id"])
    codes = [reviewer_session(api_url, link, password=f"guess {i}")[1] for i in range(4)]
    assert [c.json()["error"] for c in codes] == ["wrong_password"] * 4
    # The fifth wrong guess makes the next one wait, whatever it is.
    assert reviewer_session(api_url, link, password="guess 4")[1].json()["error"] == "wrong_password"
    waiting = reviewer_session(api_url, link, password="open sesame")[1]
    assert waiting.status_code == 429 and waiting.json()["error"] == "too_many_guesses"
    assert 1 <= int(waiting.headers["Retry-After"]) <= 2
    assert stored(db, link["link_id"]) == before
    time.sleep(int(waiting.headers["Retry-After"]) + 0.5)
    assert reviewer_session(api_url, link, password="open sesame")[1].status_code == 201


def test_an_expired_link_is_gone(admin, cut, db, api_url):
    link = make_link(admin, cut, expires_at=(datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat())
    session, opened = reviewer_session(api_url, link)
    assert opened.status_code == 201
    time.sleep(2.5)
    before = stored(db)
    _, late = reviewer_session(api_url, link)
    assert late.status_code == 410 and late.json()["error"] == "link_expired"
    playback = session.get(f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/playback", timeout=30)
    assert playback.status_code == 410 and playback.json()["error"] == "link_expired"
    assert requests.get(f"{api_url}/l/{token_of(link)}", timeout=30).status_code == 410
    assert stored(db) == before


# Notes through a link -----------------------------------------------------------------

def team_note(admin, version_id: str, text: str, visibility: str) -> dict:
    response = admin.post(f"/api/v1/review/versions/{version_id}/notes",
                          json={"frame": 3, "text": text, "visibility": visibility})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_client_reviewer_notes_and_replies_and_never_sees_internal_notes(admin, cut, db, api_url):
    version_id = cut["v1"]["id"]
    secret_text = f"Internal only {uuid.uuid4().hex[:6]}: the client must not see this"
    internal = team_note(admin, version_id, secret_text, "internal")
    shared = team_note(admin, version_id, f"For the client {uuid.uuid4().hex[:6]}", "client")
    link = make_link(admin, cut)
    session, _ = reviewer_session(api_url, link, name="Cleo Client", email="cleo@client.example")
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"

    # Asking for an internal note changes nothing: a client link's notes are client notes.
    added = session.post(f"{api}/notes", headers=CSRF, timeout=30,
                         json={"frame": 10, "to_frame": 20, "text": "Logo <script>x</script> too small",
                               "visibility": "internal",
                               "drawing": [{"tool": "rect", "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}]})
    assert added.status_code == 201, added.text
    note = added.json()
    assert (note["visibility"], note["author_name"], note["author_email"], note["link_id"]) == (
        "client", "Cleo Client", "cleo@client.example", link["link_id"])
    assert (note["timecode"], note["to_timecode"]) == ("10:00:00:10", "10:00:00:20")
    event = db[outbox_collection("review")].find_one({"routing_key": "note_added", "body.note_id": note["note_id"]})
    assert event["body"]["link_id"] == link["link_id"] and event["body"]["author_user_id"] is None
    reply = session.post(f"{api}/notes/{shared['note_id']}/replies", json={"text": "Agreed"}, headers=CSRF, timeout=30)
    assert reply.status_code == 201 and reply.json()["visibility"] == "client"
    hidden = session.post(f"{api}/notes/{internal['note_id']}/replies", json={"text": "peek"}, headers=CSRF,
                          timeout=30)
    assert hidden.status_code == 404 and hidden.json()["error"] == "unknown_note"

    listed = session.get(f"{api}/notes", timeout=30)
    assert listed.status_code == 200 and listed.json()["audience"] == "client"
    ids = {n["note_id"] for n in listed.json()["notes"]}
    assert {note["note_id"], shared["note_id"]} <= ids and internal["note_id"] not in ids
    assert secret_text not in listed.text
    page = session.get(f"{api_url}/l/{token_of(link)}", timeout=30)
    assert page.status_code == 200 and 'id="player-data"' in page.text and 'id="notes-data"' in page.text
    # The page's notes panel reads the link session's notes API (above), never the team's.
    notes_url = f"/api/v1/review/link-sessions/{link['link_id']}/notes"
    assert f'"notes_url": "{notes_url}"' in page.text and "/api/v1/review/versions/" not in page.text
    assert secret_text not in page.text

    # The team sees the reviewer's note, attributed; an internal link sees everything.
    team = admin.get(f"/api/v1/review/versions/{version_id}/notes").json()["notes"]
    assert any(n["note_id"] == note["note_id"] and n["author_email"] == "cleo@client.example" for n in team)
    inside = make_link(admin, cut, kind="internal")
    colleague, _ = reviewer_session(api_url, inside, name="Ian Inside", email="ian@studio.example")
    seen = colleague.get(f"{api_url}/api/v1/review/link-sessions/{inside['link_id']}/notes", timeout=30)
    assert internal["note_id"] in {n["note_id"] for n in seen.json()["notes"]}


@pytest.mark.parametrize("body, code", [
    ({"frame": 5000, "text": "past the end"}, "frame_outside_version"),
    ({"frame": 10, "to_frame": 2, "text": "backwards"}, "range_backwards"),
    ({"frame": 1, "text": ""}, "empty_note"),
    ({"frame": 1, "text": "box", "drawing": [{"tool": "rect", "x": 2, "y": 0, "w": 1, "h": 1}]}, "bad_drawing"),
])
def test_bad_notes_through_a_link_store_nothing(admin, cut, db, api_url, body, code):
    link = make_link(admin, cut)
    session, _ = reviewer_session(api_url, link)
    before = stored(db)
    response = session.post(f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/notes", json=body,
                            headers=CSRF, timeout=30)
    assert response.status_code == 400 and response.json()["error"] == code
    assert stored(db) == before


def test_a_link_without_comments_refuses_notes(admin, cut, db, api_url):
    link = make_link(admin, cut, comments=False)
    session, _ = reviewer_session(api_url, link)
    before = stored(db)
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    refused = session.post(f"{api}/notes", json={"frame": 1, "text": "hello"}, headers=CSRF, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "comments_disabled"
    no_csrf = session.post(f"{api}/notes", json={"frame": 1, "text": "hello"}, timeout=30)
    assert no_csrf.status_code == 403
    assert stored(db) == before
    assert session.get(f"{api}/notes", timeout=30).status_code == 200  # reading is still allowed


def test_a_reviewer_sets_statuses_and_edits_only_their_own_notes_as_new_revisions(admin, cut, db, api_url):
    version_id = cut["v1"]["id"]
    internal = team_note(admin, version_id, f"Internal {uuid.uuid4().hex[:6]}", "internal")
    shared = team_note(admin, version_id, f"For the client {uuid.uuid4().hex[:6]}", "client")
    link = make_link(admin, cut)
    cleo, _ = reviewer_session(api_url, link, name="Cleo Client", email="cleo@client.example")
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    mine = cleo.post(f"{api}/notes", json={"frame": 7, "text": "Logo too small"}, headers=CSRF, timeout=30).json()

    def changes() -> dict:
        return {"revisions": db.note_revisions.count_documents({}), "note_events": db[outbox_collection(
            "review")].count_documents({"routing_key": {"$in": ["note_added", "note_replied", "note_status_changed"]}})}

    # Her own note: edited as a new revision; a status on the team's client note, with its event.
    edited = cleo.post(f"{api}/notes/{mine['note_id']}/revisions", json={"text": "Logo too small, twice as big"},
                       headers=CSRF, timeout=30)
    assert edited.status_code == 201, edited.text
    assert (edited.json()["text"], edited.json()["revisions"]) == ("Logo too small, twice as big", 2)
    resolved = cleo.post(f"{api}/notes/{shared['note_id']}/status", json={"status": "resolved"}, headers=CSRF,
                         timeout=30)
    assert resolved.status_code == 201 and resolved.json()["status"] == "resolved"
    event = db[outbox_collection("review")].find_one({"routing_key": "note_status_changed",
                                                     "body.note_id": shared["note_id"]})
    assert (event["body"]["changed_by"], event["body"]["previous_status"]) == ("Cleo Client", "open")
    history = cleo.get(f"{api}/notes/{mine['note_id']}/history", timeout=30)
    assert [(r["number"], r["text"], r["by"]) for r in history.json()["revisions"]] == [
        (1, "Logo too small", "Cleo Client"), (2, "Logo too small, twice as big", "Cleo Client")]
    # Back in a later session with the same e-mail, it is still hers.
    again, _ = reviewer_session(api_url, link, name="Cleo C.", email="CLEO@client.example")
    assert again.post(f"{api}/notes/{mine['note_id']}/revisions", json={"text": "Logo: twice as big"},
                      headers=CSRF, timeout=30).status_code == 201

    before = changes()
    # Not another's note, not an internal one, not a bad status, not on a link without comments.
    theirs = cleo.post(f"{api}/notes/{shared['note_id']}/revisions", json={"text": "mine now"}, headers=CSRF,
                       timeout=30)
    assert theirs.status_code == 403 and theirs.json()["error"] == "not_your_note"
    other, _ = reviewer_session(api_url, link, name="Otto", email="otto@client.example")
    assert other.post(f"{api}/notes/{mine['note_id']}/revisions", json={"text": "x"}, headers=CSRF,
                      timeout=30).json()["error"] == "not_your_note"
    for path, body in ((f"notes/{internal['note_id']}/status", {"status": "resolved"}),
                       (f"notes/{internal['note_id']}/revisions", {"text": "peek"})):
        hidden = cleo.post(f"{api}/{path}", json=body, headers=CSRF, timeout=30)
        assert hidden.status_code == 404 and hidden.json()["error"] == "unknown_note"
    assert cleo.get(f"{api}/notes/{internal['note_id']}/history", timeout=30).status_code == 404
    bad = cleo.post(f"{api}/notes/{mine['note_id']}/status", json={"status": "done"}, headers=CSRF, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_status"
    quiet = make_link(admin, cut, comments=False)
    reader, _ = reviewer_session(api_url, quiet)
    muted = reader.post(f"{api_url}/api/v1/review/link-sessions/{quiet['link_id']}/notes/{shared['note_id']}/status",
                        json={"status": "open"}, headers=CSRF, timeout=30)
    assert muted.status_code == 403 and muted.json()["error"] == "comments_disabled"
    assert changes() == before


# The access log ----------------------------------------------------------------------------

def test_what_each_reviewer_played_makes_the_access_log(admin, cut, db, api_url):
    link = make_link(admin, cut)
    cleo, _ = reviewer_session(api_url, link, name="Cleo Client", email="cleo@client.example")
    dan, _ = reviewer_session(api_url, link, name="Dan Director", email="dan@client.example")
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    # 50 frames: Cleo plays 0-19, replays 10-24 and jumps to 40-49 (35 frames); Dan plays nothing.
    assert cleo.post(f"{api}/progress", json={"ranges": [[0, 19]]}, headers=CSRF, timeout=30).status_code == 200
    last = cleo.post(f"{api}/progress", json={"ranges": [[10, 24], [40, 400]]}, headers=CSRF, timeout=30)
    assert last.json() == {"watched": [[0, 24], [40, 49]], "percent_watched": 70.0}
    bad = cleo.post(f"{api}/progress", json={"ranges": [[9, 2]]}, headers=CSRF, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_ranges"

    log = admin.get(f"/api/v1/review/links/{link['link_id']}/access")
    assert log.status_code == 200, log.text
    rows = log.json()["sessions"]
    assert [(r["name"], r["email"], r["percent_watched"], r["watched"]) for r in rows] == [
        ("Cleo Client", "cleo@client.example", 70.0, [[0, 24], [40, 49]]),
        ("Dan Director", "dan@client.example", 0.0, [])]
    assert rows[0]["ip"] == "127.0.0.1" and rows[0]["device"] == "script"

    as_csv = admin.get(f"/api/v1/review/links/{link['link_id']}/access?format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("opened_at,name,email") and "Cleo Client" in lines[1] and "0-24, 40-49" in lines[1]
    as_pdf = admin.get(f"/api/v1/review/links/{link['link_id']}/access?format=pdf")
    assert as_pdf.status_code == 200 and as_pdf.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=as_pdf.content, capture_output=True,
                          check=True).stdout.decode()
    assert "Cleo Client" in text and "dan@client.example" in text and "70.0" in text


def test_a_link_that_allows_it_hands_out_a_short_lived_download_of_the_proxy_and_logs_it(admin, cut, db, api_url,
                                                                                         settings):
    link = make_link(admin, cut, download=True)
    cleo, opened = reviewer_session(api_url, link)
    api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"
    assert cleo.post(f"{api}/download", timeout=30).status_code == 403  # no CSRF header
    granted = cleo.post(f"{api}/download", headers=CSRF, timeout=30)
    assert granted.status_code == 200, granted.text
    grant = granted.json()
    assert grant["expires_in"] <= 60 and grant["filename"] == "Hero v1.mp4"
    assert f"/{cut['project']['id']}/{cut['v1']['id']}/" in grant["url"]
    got = requests.get(api_url + grant["url"] if grant["url"].startswith("/") else grant["url"], timeout=60)
    assert got.status_code == 200 and got.content[4:8] == b"ftyp"  # an MP4, through the CDN
    log = admin.get(f"/api/v1/review/links/{link['link_id']}/access").json()["sessions"]
    assert [(r["session_id"], r["downloads"]) for r in log] == [(opened.json()["session_id"], 1)]
    as_csv = admin.get(f"/api/v1/review/links/{link['link_id']}/access?format=csv").text.splitlines()
    assert as_csv[0].endswith(",downloads") and as_csv[1].endswith(",1")
    # The signed URL is the session's grant alone: tampered, it is refused.
    assert requests.get(api_url + grant["url"].replace("/cdn/", "/cdn/x"), timeout=30).status_code in (403, 404)

    before = db.link_downloads.count_documents({})
    closed = make_link(admin, cut)  # download off by default
    dan, _ = reviewer_session(api_url, closed, name="Dan Director", email="dan@client.example")
    refused = dan.post(f"{api_url}/api/v1/review/link-sessions/{closed['link_id']}/download", headers=CSRF, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "download_disabled"
    assert admin.post(f"/api/v1/review/links/{link['link_id']}/revoke").status_code == 200
    gone = cleo.post(f"{api}/download", headers=CSRF, timeout=30)
    assert gone.status_code == 410 and gone.json()["error"] == "link_revoked"
    assert db.link_downloads.count_documents({}) == before


def test_the_review_openapi_document_describes_every_api_route(admin, settings):
    import re

    from services.review.app import create_app

    spec = admin.get("/api/v1/review/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    checked = 0
    for rule in create_app(settings).url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
            checked += 1
    assert checked >= 19
