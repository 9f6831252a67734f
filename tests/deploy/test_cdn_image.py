"""The dev overlay's CDN image (framegate-dev-cdn) is the local stack's nginx,
not a fork of it: its entry script renders deploy/local/nginx.conf.tmpl the way
framegate/stack_infra.py does, and derives the CDN secrets with
services/common/cdn.py itself (the image carries today's copies of both).
Run against the deploy test stack, locked down as on Kubernetes, it checks
signed URLs, refuses unsigned ones, caches, and is the platform's front door."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from framegate import stack_infra
from services.common import cdn
from services.common.settings import local_port
from tests.deploy.needs import need
from tests.deploy.podman import TAG, Container, podman, stack_env

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "deploy" / "images" / "dev-infra" / "cdn-entry.py"
IMAGE = f"localhost/framegate-dev-cdn:{TAG}"
LOCKED_DOWN = ["--read-only", "--tmpfs", "/tmp:rw,size=256m,mode=1777", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges"]
CDN_OFFSET = 205  # beside test_images.py's containers (201-204), unused by the stack


def port(offset: int) -> int:
    return int(os.environ.get("FRAMEGATE_PORT_BASE", "18000")) + offset


def entry_print(env: dict[str, str]) -> str:
    """The entry script run on this machine, with the repository's template and cdn.py."""
    out = subprocess.run([sys.executable, str(ENTRY), "--print"], capture_output=True, text=True, env={
        "PATH": os.environ["PATH"], "NGINX_TEMPLATE": str(stack_infra.NGINX_TEMPLATE),
        "FRAMEGATE_CDN_MODULE": str(REPO / "services" / "common" / "cdn.py"), **env})
    assert out.returncode == 0, out.stderr
    return out.stdout


# ------------------------------------------------ one template, one derivation


def test_the_entry_script_renders_the_template_as_the_local_stack_does():
    key = "k-" + uuid.uuid4().hex
    env = {"FRAMEGATE_SECRET_KEY": key, "NGINX_LISTEN": "127.0.0.1:1080", "NGINX_INGEST_UPSTREAM": "127.0.0.1:1101",
           "NGINX_REVIEW_UPSTREAM": "127.0.0.1:1103", "NGINX_REVIEW_ORIGIN_UPSTREAM": "127.0.0.1:1103",
           "NGINX_APPROVAL_UPSTREAM": "127.0.0.1:1121", "NGINX_NOTIFY_UPSTREAM": "127.0.0.1:1123",
           "NGINX_DASHBOARD_UPSTREAM": "127.0.0.1:1126",
           "NGINX_DIR": "/srv/nginx"}
    rendered = entry_print(env)
    # What framegate/stack_infra.py's Nginx.prepare passes for the same place,
    # ports and key (as a non-root user), through its own render_template.
    local = stack_infra.render_template(stack_infra.NGINX_TEMPLATE, {
        "user_directive": "# (not root: workers run as this user)" if os.geteuid() else "user www-data;",
        "nginx_dir": "/srv/nginx", "http_listen": "127.0.0.1:1080", "ingest_upstream": "127.0.0.1:1101",
        "review_upstream": "127.0.0.1:1103", "review_origin_upstream": "127.0.0.1:1103",
        "approval_upstream": "127.0.0.1:1121",
        "notify_upstream": "127.0.0.1:1123",
        "dashboard_upstream": "127.0.0.1:1126",
        "error_log": "stderr", "access_log": "/dev/stdout",
        "cdn_secret": cdn.signing_secret_from_env({"FRAMEGATE_SECRET_KEY": key}),
        "cdn_origin_key": cdn.origin_key_from_env({"FRAMEGATE_SECRET_KEY": key}),
        "cdn_origin_header": cdn.ORIGIN_KEY_HEADER})
    assert rendered == local
    assert cdn.signing_secret_from_env({"FRAMEGATE_SECRET_KEY": key}) in rendered
    assert f'{cdn.ORIGIN_KEY_HEADER} "{cdn.origin_key_from_env({"FRAMEGATE_SECRET_KEY": key})}"' in rendered
    assert "{{" not in rendered


def test_the_entry_script_defaults_are_the_dev_overlays_services_and_a_cdn_secret_wins():
    rendered = entry_print({"FRAMEGATE_SECRET_KEY": "k", "FRAMEGATE_CDN_SECRET": "explicit"})
    assert "listen 8080;" in rendered
    assert "server ingest:80;" in rendered and "server review:80;" in rendered and "server review:8081;" in rendered
    assert "server approval:80;" in rendered
    assert "pid /tmp/nginx/run/nginx.pid;" in rendered and "proxy_cache_path /tmp/nginx/cache " in rendered
    assert 'secure_link_md5 "explicit:$cdn_expires:$cdn_scope:explicit";' in rendered


def test_the_entry_script_refuses_to_start_without_a_secret_key():
    out = subprocess.run([sys.executable, str(ENTRY), "--print"], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "NGINX_TEMPLATE": str(stack_infra.NGINX_TEMPLATE),
                              "FRAMEGATE_CDN_MODULE": str(REPO / "services" / "common" / "cdn.py")})
    assert out.returncode == 1 and "FRAMEGATE_SECRET_KEY" in out.stderr and not out.stdout


# ------------------------------------------------------------------ the image


@pytest.fixture(scope="module")
def cdn_image():
    need(None if podman("image", "exists", IMAGE, check=False).returncode == 0
         else f"{IMAGE} is not built (make dev-images)")
    return IMAGE


def test_the_image_carries_todays_template_and_signing_module(cdn_image):
    for inside, repo in (("/etc/framegate/nginx.conf.tmpl", stack_infra.NGINX_TEMPLATE),
                         ("/usr/local/lib/framegate/cdn.py", REPO / "services" / "common" / "cdn.py")):
        out = podman("run", "--rm", "--entrypoint", "cat", cdn_image, inside)
        assert out.stdout == repo.read_text(), f"{inside} in {cdn_image} is stale: make dev-images"


def test_nginx_in_the_image_accepts_the_rendered_config_on_a_read_only_root(cdn_image):
    out = podman("run", "--rm", *LOCKED_DOWN, "-e", "FRAMEGATE_SECRET_KEY=k",
                 "-e", "NGINX_INGEST_UPSTREAM=127.0.0.1:9", "-e", "NGINX_REVIEW_UPSTREAM=127.0.0.1:9",
                 "-e", "NGINX_REVIEW_ORIGIN_UPSTREAM=127.0.0.1:9", "-e", "NGINX_APPROVAL_UPSTREAM=127.0.0.1:9",
                 cdn_image, "-t", check=False)
    assert out.returncode == 0 and "test is successful" in out.stderr, out.stderr


@pytest.fixture
def played_cdn(cdn_image):
    need(None if os.environ.get("FRAMEGATE_SECRET_KEY") else "no stack environment (make test-deploy sets it)")
    listen = f"127.0.0.1:{port(CDN_OFFSET)}"
    env = {"FRAMEGATE_SECRET_KEY": stack_env()["FRAMEGATE_SECRET_KEY"], "NGINX_LISTEN": listen,
           "NGINX_INGEST_UPSTREAM": f"127.0.0.1:{local_port('ingest')}",
           "NGINX_REVIEW_UPSTREAM": f"127.0.0.1:{local_port('review')}",
           "NGINX_REVIEW_ORIGIN_UPSTREAM": f"127.0.0.1:{local_port('review')}",
           "NGINX_APPROVAL_UPSTREAM": f"127.0.0.1:{local_port('approval')}"}
    if os.environ.get("FRAMEGATE_CDN_SECRET"):
        env["FRAMEGATE_CDN_SECRET"] = os.environ["FRAMEGATE_CDN_SECRET"]
    c = Container("cdn", cdn_image, env, LOCKED_DOWN)
    c.url = f"http://{listen}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(c.url + "/cdn/", timeout=1)
                break
            except requests.RequestException:
                assert c.state("Running") == "true", c.logs()
                assert time.monotonic() < deadline, c.logs()
                time.sleep(0.2)
        yield c
    finally:
        c.remove()


def test_the_image_is_the_platforms_cdn_and_front_door_against_the_stack(played_cdn, settings, store):
    c = played_cdn
    project_id, version_id = uuid.uuid4().hex, uuid.uuid4().hex
    key = f"{project_id}/{version_id}/hls/180p/seg_00001.m4s"
    body = uuid.uuid4().bytes * 2048
    store.ensure_buckets()
    store.client.put_object(settings.bucket("renditions"), key, io.BytesIO(body), len(body))
    try:
        path = cdn.sign_playback_path(settings, project_id, version_id, "hls/180p/seg_00001.m4s", ttl=300)
        first, second = (requests.get(c.url + path, timeout=10) for _ in range(2))
        assert first.status_code == 200 and first.content == body, (first.status_code, c.logs()[-2000:])
        assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
        unsigned = requests.get(f"{c.url}/cdn/{project_id}/{version_id}/hls/180p/seg_00001.m4s", timeout=10)
        assert unsigned.status_code == 403
        expired = cdn.sign_playback_path(settings, project_id, version_id, "hls/180p/seg_00001.m4s", ttl=-1)
        assert requests.get(c.url + expired, timeout=10).status_code == 403
        assert requests.get(f"{c.url}/_origin/renditions/{key}", timeout=10).status_code == 404
    finally:
        store.client.remove_object(settings.bucket("renditions"), key)
    # The front door: the API is ingest's, pages are review's; health and metrics are not public.
    for private in ("/healthz", "/metrics"):
        assert requests.get(c.url + private, timeout=10).status_code == 404, private
    api = requests.get(c.url + "/api/v1/projects", timeout=10)
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"  # ingest's answer
    page = requests.get(c.url + "/", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and "text/html" in page.headers["Content-Type"]  # review's sign-in
    # As the image's user, under tini; the log goes to the container's output.
    assert {row[0] for row in c.top("user")} == {"framegate"}
    assert c.top("pid", "args")[0][1].startswith("/usr/bin/tini")
    assert "GET /cdn/" in c.logs()
    took, code = c.stop(timeout=20)  # SIGQUIT (the image's STOPSIGNAL): graceful
    assert code == 0 and took < 15, (took, code)
