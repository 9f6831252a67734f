"""The object store's public endpoint (FRAMEGATE_S3_PUBLIC_ENDPOINT: nginx in
front of the S3 gateway, deploy/local/nginx-s3-public.conf.tmpl) answers CORS
for the platform's own pages only, and passes presigned requests through
unchanged, so their signatures (which cover the host) still verify."""
from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import requests

from services.common.settings import local_port


def public_url(settings, path: str = "/") -> str:
    return f"http://{settings.s3_public_endpoint}{path}"


def platform_origin(settings) -> str:
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}"


def preflight(settings, origin: str, method: str = "PUT", headers: str = "content-type") -> requests.Response:
    return requests.options(public_url(settings, f"/{settings.bucket('masters')}/some/key?partNumber=1&uploadId=x"),
                            headers={"Origin": origin, "Access-Control-Request-Method": method,
                                     "Access-Control-Request-Headers": headers}, timeout=10)


def test_the_public_endpoint_is_nginx_in_front_of_the_gateway_not_the_gateway(settings):
    assert settings.s3_public_endpoint != settings.s3_endpoint
    port = int(settings.s3_public_endpoint.rsplit(":", 1)[1])
    assert port - int(settings.public_url.rsplit(":", 1)[1]) == local_port("s3_public", 0) - local_port("http", 0)


def test_a_preflight_from_the_platform_origin_is_allowed_for_put(settings):
    origin = platform_origin(settings)
    response = preflight(settings, origin)
    assert response.status_code in (200, 204), response.text
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "content-md5"} <= allowed
    assert "Origin" in response.headers.get("Vary", "")


def test_other_origins_and_other_methods_are_refused(settings):
    for origin in ("http://evil.example", "http://127.0.0.1:1", platform_origin(settings) + ".evil.example", "null"):
        response = preflight(settings, origin)
        assert response.status_code == 403, (origin, response.status_code)
        assert "Access-Control-Allow-Origin" not in response.headers, origin
    response = preflight(settings, platform_origin(settings), method="DELETE")
    assert response.status_code == 403
    assert "Access-Control-Allow-Methods" not in response.headers


def test_a_presigned_put_through_it_verifies_and_exposes_the_etag(settings, store):
    bucket, key = settings.bucket("masters"), f"cors-test/{uuid.uuid4().hex}/part.bin"
    upload_id = store.start_multipart(bucket, key, "application/octet-stream")
    try:
        url = store.presign_part(bucket, key, upload_id, 1, timedelta(minutes=5), 1000)
        assert urlsplit(url).netloc == settings.s3_public_endpoint
        origin = platform_origin(settings)
        response = requests.put(url, data=b"x" * 1000, headers={"Origin": origin}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Expose-Headers"] == "ETag"
        assert response.headers["ETag"]
        [part] = store.list_parts(bucket, key, upload_id)
        assert part.size == 1000
        # A stranger's page gets no CORS headers (the browser would hide the answer from it).
        stranger = requests.put(url, data=b"y" * 1000, headers={"Origin": "http://evil.example"}, timeout=30)
        assert "Access-Control-Allow-Origin" not in stranger.headers
        # The signature covers the host: a URL signed for the public endpoint fails at another address.
        moved = url.replace(settings.s3_public_endpoint, settings.s3_endpoint)
        assert requests.put(moved, data=b"z" * 1000, timeout=30).status_code == 403
        # ...and the part's size: the store refuses any other body length.
        assert requests.put(url, data=b"w" * 5000, timeout=30).status_code == 403
        assert requests.put(url, data=b"w" * 10, timeout=30).status_code == 403
        assert [p.size for p in store.list_parts(bucket, key, upload_id)] == [1000]
    finally:
        store.abort_multipart(bucket, key, upload_id)


def test_an_older_data_directory_moves_to_the_public_endpoint(tmp_path):
    """stack.env always derives FRAMEGATE_S3_PUBLIC_ENDPOINT: a data directory made when it
    was the gateway itself gets nginx's address on the next `up` (other values are kept)."""
    from framegate.stack_state import Stack, read_env_file

    base = 29100
    (tmp_path / "stack.env").write_text(
        f"FRAMEGATE_PORT_BASE={base}\nFRAMEGATE_S3_ENDPOINT=127.0.0.1:{base + 900}\n"
        f"FRAMEGATE_S3_PUBLIC_ENDPOINT=127.0.0.1:{base + 900}\nFRAMEGATE_SECRET_KEY=kept{'x' * 60}\n")
    Stack(tmp_path, create=True)
    env = read_env_file(tmp_path / "stack.env")
    assert env["FRAMEGATE_S3_PUBLIC_ENDPOINT"] == f"127.0.0.1:{base + local_port('s3_public', 0)}"
    assert env["FRAMEGATE_S3_ENDPOINT"] == f"127.0.0.1:{base + 900}"
    assert env["FRAMEGATE_SECRET_KEY"] == f"kept{'x' * 60}"
