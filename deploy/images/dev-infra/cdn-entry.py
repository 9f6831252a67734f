#!/usr/bin/python3
"""The dev overlay's CDN and front door (image framegate-dev-cdn): renders the
local stack's nginx template (deploy/local/nginx.conf.tmpl, not a copy of its
contents) into /tmp/nginx/nginx.conf, then becomes nginx in the foreground.

The CDN secrets come from the container's FRAMEGATE_SECRET_KEY (and
FRAMEGATE_CDN_SECRET if set) through services/common/cdn.py itself, copied
into the image beside this script: the services sign URLs with the very same
functions, so the two cannot drift. Rendering is framegate/stack_infra.py's
render_template (same placeholder syntax, unknown placeholders are an error);
tests/deploy/test_cdn_image.py checks both render the same file.

Environment (defaults are the dev overlay's, see k8s/overlays/dev/cdn.yaml):
  FRAMEGATE_SECRET_KEY    required; FRAMEGATE_CDN_SECRET optional
  NGINX_LISTEN            8080              (an address:port works too)
  NGINX_INGEST_UPSTREAM   ingest:80         (the ingest Service)
  NGINX_REVIEW_UPSTREAM   review:80         (the review Service: pages, player)
  NGINX_REVIEW_ORIGIN_UPSTREAM  review:8081 (review's CDN origin port)
  NGINX_DIR               /tmp/nginx        (pid, temp files, cache: on the /tmp volume)

`cdn-entry --print` renders to stdout and exits (for tests: the output holds the secrets).
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

NGINX = "/usr/sbin/nginx"
TEMPLATE = Path(os.environ.get("NGINX_TEMPLATE", "/etc/framegate/nginx.conf.tmpl"))
CDN_MODULE = Path(os.environ.get("FRAMEGATE_CDN_MODULE", "/usr/local/lib/framegate/cdn.py"))


def fail(message: str) -> None:
    print(f"cdn-entry: {message}", file=sys.stderr)
    sys.exit(1)


def load_cdn():
    spec = importlib.util.spec_from_file_location("framegate_cdn", CDN_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_template(template: Path, values: dict) -> str:
    """framegate/stack_infra.py's render_template: {{name}} placeholders, nginx's $variables untouched."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            fail(f"{template}: unknown placeholder {{{{{m.group(1)}}}}}")
        return str(values[m.group(1)])
    return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", sub, template.read_text())


def values(env: dict, cdn) -> dict:
    if not env.get("FRAMEGATE_SECRET_KEY"):
        fail("FRAMEGATE_SECRET_KEY is not set (the CDN secrets are derived from it)")
    d = env.get("NGINX_DIR", "/tmp/nginx")
    return {
        "user_directive": "user www-data;" if os.geteuid() == 0 else "# (not root: workers run as this user)",
        "nginx_dir": d,
        "error_log": "stderr",
        "access_log": "/dev/stdout",
        "http_listen": env.get("NGINX_LISTEN", "8080"),
        "ingest_upstream": env.get("NGINX_INGEST_UPSTREAM", "ingest:80"),
        "review_upstream": env.get("NGINX_REVIEW_UPSTREAM", "review:80"),
        "review_origin_upstream": env.get("NGINX_REVIEW_ORIGIN_UPSTREAM", "review:8081"),
        "approval_upstream": env.get("NGINX_APPROVAL_UPSTREAM", "approval:80"),
        # No notify or dashboard Deployment in k8s/ yet: until there is, their routes
        # answer 502 rather than nginx refusing to start on an unresolvable host name.
        "notify_upstream": env.get("NGINX_NOTIFY_UPSTREAM", "127.0.0.1:9"),
        "dashboard_upstream": env.get("NGINX_DASHBOARD_UPSTREAM", "127.0.0.1:9"),
        "cdn_secret": cdn.signing_secret_from_env(env),
        "cdn_origin_key": cdn.origin_key_from_env(env),
        "cdn_origin_header": cdn.ORIGIN_KEY_HEADER,
    }


def main(argv: list[str]) -> None:
    v = values(dict(os.environ), load_cdn())
    text = render_template(TEMPLATE, v)
    if argv[1:] == ["--print"]:
        sys.stdout.write(text)
        return
    d = Path(v["nginx_dir"])
    for sub in ("run", "tmp", "cache"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    conf = d / "nginx.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the CDN secrets
    with os.fdopen(fd, "w") as f:
        f.write(text)
    # -e: the log of startup, before nginx.conf's error_log applies (the
    # compiled-in /var/log/nginx is not writable here).
    os.execv(NGINX, [NGINX, "-e", "stderr", "-p", f"{d}/", "-c", str(conf), *argv[1:]])


if __name__ == "__main__":
    main(sys.argv)
