"""The CDN (nginx in the local stack): signed playback URLs in front of a
cache in front of the never-public renditions bucket."""
from __future__ import annotations

import io
import time
import uuid
from urllib.parse import urljoin

import pytest
import requests

from services.common import cdn
from services.common.settings import local_port

MASTER = b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180\n180p/index.m3u8\n"
EVENT = b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg_00001.m4s\n"


@pytest.fixture
def version_keys(settings, store):
    """A made-up version's renditions put straight into the bucket; removed afterwards."""
    project_id, version_id = uuid.uuid4().hex, uuid.uuid4().hex
    bucket = settings.bucket("renditions")
    store.ensure_buckets()
    objects = {
        "hls/master.m3u8": MASTER,
        "hls/180p/index.m3u8": EVENT,
        "hls/180p/init.mp4": b"init" * 100,
        "hls/180p/seg_00001.m4s": uuid.uuid4().bytes * 4096,
        "poster.jpg": b"\xff\xd8\xff" + b"j" * 500,
    }
    for path, body in objects.items():
        store.client.put_object(bucket, f"{project_id}/{version_id}/{path}", io.BytesIO(body), len(body))
    yield project_id, version_id, objects
    for path in objects:
        store.client.remove_object(bucket, f"{project_id}/{version_id}/{path}")


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=30, **kwargs)


def test_a_signed_url_serves_the_object(settings, version_keys):
    project_id, version_id, objects = version_keys
    url = cdn.sign_playback_url(settings, project_id, version_id, "hls/180p/seg_00001.m4s", ttl=300)
    response = get(url)
    assert response.status_code == 200
    assert response.content == objects["hls/180p/seg_00001.m4s"]
    assert response.headers["Content-Type"] == "video/iso.segment"


def test_relative_uris_in_playlists_resolve_to_signed_urls(settings, version_keys):
    project_id, version_id, objects = version_keys
    master_url = cdn.sign_playback_url(settings, project_id, version_id, ttl=300)
    master = get(master_url)
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    rung_url = urljoin(master_url, master.text.strip().splitlines()[-1])
    rung = get(rung_url)
    assert rung.status_code == 200 and rung.content == objects["hls/180p/index.m3u8"]
    for line in ("init.mp4", "seg_00001.m4s"):
        assert get(urljoin(rung_url, line)).content == objects[f"hls/180p/{line}"]


def test_unsigned_tampered_other_scope_and_expired_requests_get_403(settings, version_keys):
    project_id, version_id, _ = version_keys
    path = "hls/180p/seg_00001.m4s"
    good = cdn.sign_playback_url(settings, project_id, version_id, path, ttl=300)
    token, expires = good.split("/cdn/")[1].split("/")[:2]
    base = settings.public_url.rstrip("/")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    refused = {
        "unsigned": f"{base}/cdn/{project_id}/{version_id}/{path}",
        "no token": f"{base}/cdn//{expires}/{project_id}/{version_id}/{path}",
        "tampered token": good.replace(token, flipped),
        "expiry moved later": good.replace(f"/{expires}/", f"/{int(expires) + 3600}/"),
        "another version's scope": good.replace(f"/{version_id}/", f"/{uuid.uuid4().hex}/"),
        "another project's scope": good.replace(f"/{project_id}/", f"/{uuid.uuid4().hex}/"),
        "expired": cdn.sign_playback_url(settings, project_id, version_id, path, ttl=-1),
        "signed with another secret": good.replace(
            token, cdn.token_for("not-the-secret", int(expires), f"{project_id}/{version_id}")),
    }
    for why, url in refused.items():
        response = get(url)
        assert response.status_code == 403, (why, url, response.status_code)
        assert b"seg" not in response.content and len(response.content) < 1000


def test_a_token_for_one_version_does_not_reach_another(settings, version_keys):
    project_id, version_id, _ = version_keys
    other = cdn.sign_playback_url(settings, project_id, uuid.uuid4().hex, "hls/master.m3u8", ttl=300)
    token_and_expiry = other.split("/cdn/")[1].split("/")[:2]
    borrowed = f"{settings.public_url}/cdn/{'/'.join(token_and_expiry)}/{project_id}/{version_id}/hls/master.m3u8"
    assert get(borrowed).status_code == 403


def test_the_bucket_is_never_public(settings, version_keys):
    project_id, version_id, _ = version_keys
    key = f"{project_id}/{version_id}/hls/180p/seg_00001.m4s"
    bucket = settings.bucket("renditions")
    assert get(f"http://{settings.s3_endpoint}/{bucket}/{key}").status_code == 403
    assert get(f"http://{settings.s3_endpoint}/{bucket}?list-type=2").status_code == 403


def test_the_origin_answers_only_nginx(settings, version_keys):
    project_id, version_id, _ = version_keys
    path = f"/_origin/renditions/{project_id}/{version_id}/poster.jpg"
    direct = f"http://127.0.0.1:{local_port('review')}{path}"
    assert get(settings.public_url + path).status_code == 404  # nginx refuses /_origin/
    assert get(direct).status_code == 404  # no origin key
    assert get(direct, headers={cdn.ORIGIN_KEY_HEADER: "guess"}).status_code == 404
    key = {cdn.ORIGIN_KEY_HEADER: cdn.origin_key(settings)}
    assert get(direct, headers=key).status_code == 404  # the key alone grants nothing

    def signed(scope: str, expires: int) -> dict:
        token = cdn.token_for(cdn.signing_secret(settings), expires, scope)
        return {**key, cdn.TOKEN_HEADER: token, cdn.EXPIRES_HEADER: str(expires)}

    scope, later, past = f"{project_id}/{version_id}", int(time.time()) + 600, int(time.time()) - 1
    assert get(direct, headers=signed(scope, past)).status_code == 404  # expired
    assert get(direct, headers=signed(f"{project_id}/{uuid.uuid4().hex}", later)).status_code == 404  # other version
    with_key = get(direct, headers=signed(scope, later))
    assert with_key.status_code == 200 and with_key.content.startswith(b"\xff\xd8")


def test_a_second_viewer_is_served_from_the_cache(settings, version_keys):
    project_id, version_id, objects = version_keys
    path = "hls/180p/seg_00001.m4s"
    first_viewer = cdn.sign_playback_url(settings, project_id, version_id, path, ttl=600)
    second_viewer = cdn.sign_playback_url(settings, project_id, version_id, path, ttl=900)
    assert first_viewer != second_viewer  # separate sessions, separate tokens
    first, second = get(first_viewer), get(second_viewer)
    assert first.headers["X-Cache-Status"] == "MISS"
    assert second.headers["X-Cache-Status"] == "HIT"
    assert first.content == second.content == objects[path]
    assert "immutable" in second.headers["Cache-Control"]


def test_a_growing_playlist_is_cached_only_briefly(settings, store, version_keys):
    project_id, version_id, _ = version_keys
    url = cdn.sign_playback_url(settings, project_id, version_id, "hls/180p/index.m3u8", ttl=300)
    first = get(url)
    assert first.content == EVENT and first.headers["Cache-Control"] == "public, max-age=1"
    finished = EVENT.replace(b"EVENT", b"VOD") + b"#EXTINF:2.0,\nseg_00002.m4s\n#EXT-X-ENDLIST\n"
    key = f"{project_id}/{version_id}/hls/180p/index.m3u8"
    store.client.put_object(settings.bucket("renditions"), key, io.BytesIO(finished), len(finished))
    time.sleep(2.2)  # max-age=1 in whole seconds: at most 2 s of staleness
    later = get(url)
    assert later.content == finished
    assert "immutable" in later.headers["Cache-Control"]  # complete: now cacheable for long


def test_a_missing_rendition_is_404_and_not_cached(settings, store, version_keys):
    project_id, version_id, _ = version_keys
    url = cdn.sign_playback_url(settings, project_id, version_id, "hls/180p/seg_00002.m4s", ttl=300)
    assert get(url).status_code == 404
    body = b"late segment"
    store.client.put_object(settings.bucket("renditions"), f"{project_id}/{version_id}/hls/180p/seg_00002.m4s",
                            io.BytesIO(body), len(body))
    try:
        assert get(url).content == body  # written meanwhile: served at once
    finally:
        store.client.remove_object(settings.bucket("renditions"), f"{project_id}/{version_id}/hls/180p/seg_00002.m4s")


def test_signing_refuses_paths_outside_a_version():
    class S:
        secret_key, public_url = "k", "http://x"
    for bad in ("../other/hls/master.m3u8", "/abs", "a//b", "a b"):
        with pytest.raises(ValueError):
            cdn.sign_playback_path(S, "p", "v", bad)
    with pytest.raises(ValueError):
        cdn.sign_playback_path(S, "p/q", "v", "x")
