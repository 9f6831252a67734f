"""Uploads through the real stack: versions, facts, numbering, bad input."""
from __future__ import annotations

import concurrent.futures
import shutil

import pytest
import requests

from tests import media
from tests.integration.uploading import complete, file_sha256, put_parts, start, upload


def leftovers(db, store, settings, project_id: str) -> dict:
    """Everything an upload can leave behind in a project."""
    bucket = settings.bucket("masters")
    return {
        "assets": db.assets.count_documents({"project_id": project_id}),
        "versions": db.versions.count_documents({"project_id": project_id}),
        "uploads": db.uploads.count_documents({"project_id": project_id}),
        "objects": store.keys(bucket, prefix=f"{project_id}/"),
        "multipart": store.open_multipart_uploads(bucket, prefix=f"{project_id}/"),
    }


NOTHING = {"assets": 0, "versions": 0, "uploads": 0, "objects": [], "multipart": []}


def test_upload_makes_version_1_with_the_masters_facts_then_version_2(admin, project, media_dir):
    clip = media.make_mov_2997_df(media_dir)
    first = upload(admin, project["id"], clip, asset="Hero 60s")
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["number"], v1["asset_name"]) == (1, "Hero 60s")
    assert v1["status"] in ("uploaded", "transcoding")  # the completion is polled: transcode may have begun
    assert v1["sha256"] == file_sha256(clip)
    assert v1["size"] == clip.stat().st_size
    facts = v1["facts"]
    assert facts["fps"] == "30000/1001" and facts["drop_frame"] is True
    assert facts["start_timecode"] == "01:00:00;00"
    assert facts["frames"] == 60 and facts["kind"] == "video"

    second = upload(admin, project["id"], clip, asset="Hero 60s")
    assert second.status_code == 201, second.text
    assert second.json()["number"] == 2
    assert second.json()["asset_id"] == v1["asset_id"]

    listed = admin.get(f"/api/v1/projects/{project['id']}/versions").json()["versions"]
    assert [v["number"] for v in listed] == [1, 2]
    fetched = admin.get(f"/api/v1/versions/{v1['id']}").json()
    assert fetched["facts"] == facts


def test_masters_are_stored_once_each_and_unchanged(admin, project, media_dir, store, settings):
    clip = media.make_h264_2398(media_dir)
    version = upload(admin, project["id"], clip).json()
    bucket = settings.bucket("masters")
    keys = store.keys(bucket, prefix=f"{project['id']}/")
    assert len(keys) == 1 and keys[0].endswith("/" + clip.name)
    stored = store.client.get_object(bucket, keys[0]).read()
    assert stored == clip.read_bytes()
    assert version["facts"]["fps"] == "24000/1001"


def test_ten_racing_uploads_on_one_asset_get_ten_consecutive_numbers(admin, project, media_dir, tmp_path):
    clip = media.make_h264_2398(media_dir)
    copies = []
    for i in range(10):  # distinct files so each is its own upload
        copy = tmp_path / f"take{i}.mp4"
        shutil.copy(clip, copy)
        copies.append(copy)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda p: upload(admin, project["id"], p, asset="Race"), copies))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
    assert sorted(r.json()["number"] for r in results) == list(range(1, 11))


def test_batch_upload_puts_many_files_into_many_assets_in_one_call(admin, project, media_dir):
    files = [media.make_h264_2398(media_dir), media.make_wav_stereo(media_dir), media.make_png(media_dir)]
    specs = [{"filename": f.name, "size": f.stat().st_size, "fingerprint": f"batch-{f.name}"} for f in files]
    started = admin.post("/api/v1/uploads", json={"project_id": project["id"], "files": specs})
    assert started.status_code == 201, started.text
    items = started.json()["uploads"]
    assert len({i["asset_name"] for i in items}) == 3
    kinds, assets = {}, set()
    for item, path in zip(items, files):
        put_parts(item, path)
        done = complete(admin, item["upload_id"], file_sha256(path))
        assert done["state"] == "done", done
        kinds[path.suffix] = done["version"]["facts"]["kind"]
        assets.add(done["version"]["asset_id"])
    assert len(assets) == 3
    assert kinds == {".mp4": "video", ".wav": "audio", ".png": "image"}


BAD_MEDIA = [
    ("make_text", "not_media"),
    ("make_truncated_mp4", "truncated"),
    ("make_m3u8", "remote_reference"),
    ("make_ffconcat", "remote_reference"),
]


@pytest.mark.parametrize("maker,code", BAD_MEDIA)
def test_bad_media_is_refused_and_leaves_nothing(admin, project, media_dir, db, store, settings, maker, code):
    bad = getattr(media, maker)(media_dir)
    response = upload(admin, project["id"], bad)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == code
    assert bad.name in response.json()["message"]
    assert leftovers(db, store, settings, project["id"]) == NOTHING


def test_checksum_mismatch_is_refused_and_leaves_nothing(admin, project, media_dir, db, store, settings):
    clip = media.make_h264_2398(media_dir)
    response = upload(admin, project["id"], clip, sha256="ab" * 32)
    assert response.status_code == 422
    assert response.json()["error"] == "checksum_mismatch"
    assert leftovers(db, store, settings, project["id"]) == NOTHING


@pytest.mark.parametrize("overrides,code,status", [
    ({"size": 0}, "empty_file", 400),
    ({"size": 300 * 1024**4}, "too_large", 413),
    ({"filename": "../../etc/passwd"}, "bad_filename", 400),
    ({"filename": "a/b.mov"}, "bad_filename", 400),
    ({"filename": "evil\r\nname.mov"}, "bad_filename", 400),
    ({"size": "12"}, "bad_size", 400),
])
def test_refused_at_start_with_a_named_problem(admin, project, media_dir, db, store, settings, overrides, code, status):
    clip = media.make_h264_2398(media_dir)
    response = start(admin, project["id"], clip, **overrides)
    assert response.status_code == 400  # the only file was refused
    item = response.json()["uploads"][0]
    assert item["error"] == code, item
    assert item["message"]
    # The answer is an error like any other, naming the problem, with the list beside it.
    assert response.json()["error"] == "files_refused" and response.json()["message"] == item["message"]
    assert leftovers(db, store, settings, project["id"]) == NOTHING
    del status  # the per-file status is carried by its code


def test_one_bad_file_in_a_batch_does_not_stop_the_others(admin, project, media_dir):
    clip = media.make_h264_2398(media_dir)
    specs = [
        {"filename": clip.name, "size": clip.stat().st_size, "fingerprint": "batch-good"},
        {"filename": "bad/name.mov", "size": 10, "fingerprint": "batch-bad"},
    ]
    response = admin.post("/api/v1/uploads", json={"project_id": project["id"], "files": specs})
    assert response.status_code == 201
    good, bad = response.json()["uploads"]
    assert "upload_id" in good and bad["error"] == "bad_filename"


def test_a_refused_file_whose_name_is_not_text_is_named_null(admin, project, media_dir):
    response = start(admin, project["id"], media.make_h264_2398(media_dir), filename=["not", "a", "name"])
    assert response.status_code == 400
    item = response.json()["uploads"][0]
    assert item["error"] == "bad_filename" and item["filename"] is None


def test_unknown_project_is_404(admin, media_dir):
    response = start(admin, "no-such-project", media.make_h264_2398(media_dir))
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_project"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"project_id": 5}'])
def test_malformed_requests_get_a_json_error(admin, body):
    response = admin.post("/api/v1/uploads", data=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_completing_before_all_parts_arrive_says_what_is_missing_and_can_be_resumed(admin, project, media_dir, tmp_path):
    big = media.make_large_avi(tmp_path)  # > one 16 MiB part
    started = start(admin, project["id"], big, fingerprint="resume-me")
    item = started.json()["uploads"][0]
    assert item["part_count"] >= 2
    put_parts(item, big, only={1})
    cut_off = requests.put(item["parts"][1]["url"], data=b"only the start of part two", timeout=60)
    assert cut_off.status_code == 403  # the URL is signed for the part's size: the store refuses a short body
    early = admin.post(f"/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(big)})
    assert early.status_code == 409
    assert early.json()["error"] == "incomplete_upload"

    again = start(admin, project["id"], big, fingerprint="resume-me").json()["uploads"][0]
    assert again["upload_id"] == item["upload_id"]
    assert [p["number"] for p in again["parts_done"]] == [1]
    assert {p["number"] for p in again["parts"]} == set(range(2, item["part_count"] + 1))
    put_parts(again, big)
    done = complete(admin, item["upload_id"], file_sha256(big))
    assert done["state"] == "done", done
    retried = admin.post(f"/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(big)})
    assert retried.status_code == 202 and retried.json()["state"] == "done"
    assert retried.json()["version"]["id"] == done["version"]["id"]


def test_aborting_an_upload_removes_its_parts(admin, project, media_dir, db, store, settings, tmp_path):
    big = media.make_large_avi(tmp_path)
    item = start(admin, project["id"], big).json()["uploads"][0]
    put_parts(item, big, only={1})
    assert admin.delete(f"/api/v1/uploads/{item['upload_id']}").status_code == 204
    assert leftovers(db, store, settings, project["id"]) == NOTHING
