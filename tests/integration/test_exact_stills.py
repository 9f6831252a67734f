"""Exact stills: frame N of the master, cut by the review service, kept in the
renditions bucket and served through the CDN with a signed URL.

For every kind of master (25 fps long GOP, 29.97 drop-frame, ProRes, HEVC,
rotated, odd size, HDR), the still for frame N is ffmpeg's own decode of the
master's frame N (selected by index from the first frame, no seeking)
converted to RGB the way the renditions are, and the frame index burned into
the picture reads N. Access is playback's: members and link sessions; a
revoked link and a stranger get nothing.
"""
from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from services.common.picture import TO_RGB, colour_filters
from services.review.stills import still_key
from tests import media
from tests.browser.framecode import read_indexes
from tests.e2e.test_cli import json_lines, run
from tests.integration.uploading import upload

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
# (fixture, frame asked for): frames past the first GOP's reordering, not on a keyframe.
KINDS = [("25 fps H.264", 37), ("29.97 DF", 41), ("ProRes", 17), ("HEVC", 33), ("rotated", 21),
         ("odd size", 13), ("HDR PQ", 18)]


@pytest.fixture(scope="module")
def stills_project(admin):
    response = admin.post("/api/v1/projects", json={"name": f"Exact stills {uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def versions(admin, stills_project, tmp_path_factory):
    """One uploaded version per kind (the still needs the master and its facts, not the renditions)."""
    media_dir = tmp_path_factory.mktemp("indexed")
    made = {}
    for kind, _ in KINDS:
        path = media.INDEXED[kind](media_dir)
        done = upload(admin, stills_project["id"], path, asset=kind)
        assert done.status_code == 201, done.text
        made[kind] = (path, admin.get(f"/api/v1/versions/{done.json()['id']}").json())
    return made


def reference_png(master: Path, facts: dict, frame: int, out: Path) -> Path:
    """ffmpeg's own decode of frame `frame`: every frame decoded from the first, the Nth kept,
    turned upright by ffmpeg's autorotate, converted to RGB by the renditions' colour pipeline."""
    colour, _ = colour_filters(type("Tags", (), {k: facts.get(k) for k in (
        "color_primaries", "color_transfer", "color_space", "color_range")}), out_format="yuv444p")
    chain = [f"select=eq(n\\,{frame})", *colour, TO_RGB]
    subprocess.run([*FFMPEG, "-i", str(master), "-map", "0:v:0", "-vf", ",".join(chain), "-frames:v", "1",
                    "-fps_mode", "passthrough", str(out)], check=True, capture_output=True, timeout=120)
    return out


def psnr(a: Path, b: Path) -> float:
    """ffmpeg's PSNR of two pictures of one size (inf when identical)."""
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(a), "-i", str(b), "-lavfi", "psnr",
                           "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    found = re.search(r"average:(inf|[0-9.]+)", done.stderr)
    assert found, done.stderr
    return float(found.group(1))


def index_in(png: Path, rotation: int) -> int:
    """The frame index the picture carries (drawn across the coded picture, so turned back first)."""
    if rotation:
        upright = png.with_name(png.stem + "-coded.png")
        turn = {90: "transpose=cclock", 270: "transpose=clock", 180: "hflip,vflip"}[rotation]
        subprocess.run([*FFMPEG, "-i", str(png), "-vf", turn, str(upright)], check=True, capture_output=True)
        png = upright
    [index] = read_indexes(png)
    return index


def fetch(url: str, api_url: str) -> requests.Response:
    return requests.get(url if url.startswith("http") else api_url + url, timeout=60)


@pytest.mark.parametrize("kind,frame", KINDS, ids=[k for k, _ in KINDS])
def test_the_still_of_frame_n_is_the_masters_frame_n(kind, frame, admin, api_url, versions, tmp_path):
    master, version = versions[kind]
    facts = version["facts"]
    answer = admin.get(f"/api/v1/review/versions/{version['id']}/stills/{frame}")
    assert answer.status_code == 200, answer.text
    still = answer.json()
    assert still["frame"] == frame and "/cdn/" in still["url"]
    served = fetch(still["url"], api_url)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"
    got = tmp_path / "still.png"
    got.write_bytes(served.content)

    want = reference_png(master, facts, frame, tmp_path / "reference.png")
    assert psnr(got, want) >= 50
    assert index_in(got, int(facts.get("rotation") or 0) % 360) == frame
    # A neighbour is measurably another picture: the comparison can tell frames apart.
    neighbour = reference_png(master, facts, frame + 1, tmp_path / "neighbour.png")
    assert psnr(got, neighbour) < 30
    size = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                           str(got)], capture_output=True, text=True, check=True).stdout.strip()
    assert size == f"{still['width']},{still['height']}"


def test_a_still_is_cut_once_kept_and_cached_by_the_cdn(admin, api_url, versions, store, settings):
    _, version = versions["25 fps H.264"]
    first = admin.get(f"/api/v1/review/versions/{version['id']}/stills/7").json()
    again = admin.get(f"/api/v1/review/versions/{version['id']}/stills/7").json()
    assert first["made"] is True and again["made"] is False
    assert store.exists(settings.bucket("renditions"), still_key(version["project_id"], version["id"], 7))
    statuses = [fetch(url, api_url).headers.get("X-Cache-Status") for url in (first["url"], again["url"])]
    assert statuses[-1] == "HIT", statuses
    assert fetch(first["url"], api_url).content == fetch(again["url"], api_url).content


def test_the_cli_writes_the_same_png(admin, api_url, versions, tmp_path):
    _, version = versions["29.97 DF"]
    out = tmp_path / "frame.png"
    done = run("still", version["id"], "--frame", "41", "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    [written] = json_lines(done.stdout)
    assert written["frame"] == 41 and written["file"] == str(out)
    served = fetch(admin.get(f"/api/v1/review/versions/{version['id']}/stills/41").json()["url"], api_url)
    assert out.read_bytes() == served.content

    bad = run("still", version["id"], "--frame", "60", "-o", str(tmp_path / "past.png"))
    assert bad.returncode != 0 and "frames 0 to 59" in bad.stderr
    assert not (tmp_path / "past.png").exists()


def test_bad_frames_and_non_video_versions_get_a_clear_error(admin, stills_project, versions, tmp_path):
    _, version = versions["ProRes"]
    for frame, code in (("24", "frame_out_of_range"), ("-1", "bad_frame"), ("x1", "bad_frame")):
        answer = admin.get(f"/api/v1/review/versions/{version['id']}/stills/{frame}")
        assert answer.status_code == 400 and answer.json()["error"] == code, (frame, answer.text)
    sound = upload(admin, stills_project["id"], media.make_wav_stereo(tmp_path), asset="Sound")
    assert sound.status_code == 201, sound.text
    answer = admin.get(f"/api/v1/review/versions/{sound.json()['id']}/stills/0")
    assert answer.status_code == 400 and answer.json()["error"] == "no_frames"
    assert "only video versions" in answer.json()["message"]


def test_a_stranger_gets_nothing_and_a_link_session_gets_stills_until_revoked(admin, member, api_url, versions):
    _, version = versions["HEVC"]
    stranger = member.get(f"/api/v1/review/versions/{version['id']}/stills/3")
    assert stranger.status_code == 404 and stranger.json()["error"] == "unknown_version"

    link = admin.post("/api/v1/review/links", json={"version_id": version["id"], "kind": "client",
                                                    "stage": "Grade", "brief": "Check the pixels."}).json()
    reviewer = requests.Session()
    opened = reviewer.post(f"{api_url}/api/v1/review/links/{link['url'].rsplit('/', 1)[1]}/sessions",
                           json={"name": "Cleo Client", "email": "cleo@client.example"}, timeout=30)
    assert opened.status_code == 201, opened.text
    stills = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/stills/"
    path = stills + "3"
    seen = reviewer.get(path, timeout=60)
    assert seen.status_code == 200, seen.text
    assert fetch(seen.json()["url"], api_url).status_code == 200

    assert admin.post(f"/api/v1/review/links/{link['link_id']}/revoke").status_code == 200
    refused = reviewer.get(path, timeout=60)
    assert refused.status_code == 410, refused.text
    assert reviewer.get(stills + "4", timeout=60).status_code == 410


def test_an_interlaced_master_with_non_square_pixels_gives_a_deinterlaced_still_at_display_size(
        admin, api_url, stills_project, tmp_path):
    done = upload(admin, stills_project["id"], media.make_dv_ntsc(tmp_path), asset="DV")
    assert done.status_code == 201, done.text
    version = admin.get(f"/api/v1/versions/{done.json()['id']}").json()
    assert version["facts"].get("field_order") in ("bb", "bt"), version["facts"]  # interlaced, bottom field first
    still = admin.get(f"/api/v1/review/versions/{version['id']}/stills/5").json()
    assert (still["width"], still["height"]) == (655, 480)  # 720 x 10/11 square pixels, as the renditions
    got = tmp_path / "dv.png"
    got.write_bytes(fetch(still["url"], api_url).content)
    size = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                           str(got)], capture_output=True, text=True, check=True).stdout.strip()
    assert size == "655,480"
