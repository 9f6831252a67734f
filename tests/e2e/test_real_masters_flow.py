"""A real master from upload to ready through the running services: what
transcode did to it is on the version (API) and on the player page."""
from __future__ import annotations

import html
import uuid

from services.common import accounts
from tests import media
from tests.conftest import add_member
from tests.integration.test_review_pages import sign_in
from tests.integration.uploading import upload, wait_for_status

PASSWORD = "a long enough password"


def test_dv_ntsc_master_is_ready_with_notes_on_the_version_and_the_player(api_url, admin, project, db,
                                                                         media_dir):
    # Interlaced (480i, bottom field first) and non-square (10:11) at once.
    done = upload(admin, project["id"], media.make_dv_ntsc(media_dir), asset="DV tape")
    assert done.status_code == 201, done.text
    version = wait_for_status(admin, done.json()["id"], {"ready", "failed"})
    assert version["status"] == "ready", version.get("failure")
    assert version["facts"]["field_order"] and version["facts"]["sample_aspect_ratio"] == "10:11"
    rungs = {r["name"]: (r["width"], r["height"]) for r in version["renditions"]["rungs"]}
    assert rungs["480p"] == (654, 480)
    interlaced = [n for n in version["notes"] if n.startswith("Interlaced master")]
    square = [n for n in version["notes"] if n.startswith("Non-square pixels")]
    assert len(interlaced) == 1 and "bottom field first" in interlaced[0]
    assert len(square) == 1 and "654x480" in square[0]

    email = f"viewer-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Vera Viewer", "member", PASSWORD)
    add_member(admin, project["id"], email, "viewer")
    page = sign_in(api_url, email, PASSWORD).get(api_url + f"/versions/{version['id']}", timeout=30)
    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert "Processing" in shown and interlaced[0] in shown and square[0] in shown
    assert "(10:11 pixels)" in shown and "interlaced" in shown
