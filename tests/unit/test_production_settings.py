"""Production refuses default credentials; FRAMEGATE_CDN_URL decides where playback URLs point."""
from __future__ import annotations

from dataclasses import replace

import pytest

from services.common import cdn
from services.common.settings import Settings, load_settings
from services.review.pages import player_config, security_headers

REAL = {"FRAMEGATE_ENV": "production", "FRAMEGATE_SECRET_KEY": "k" * 64, "FRAMEGATE_S3_ACCESS_KEY": "AKIAREAL",
        "FRAMEGATE_S3_SECRET_KEY": "s" * 40, "FRAMEGATE_AMQP_URL": "amqps://framegate:p4ss@mq.example//"}


@pytest.fixture
def env(monkeypatch):
    for key in [k for k in __import__("os").environ if k.startswith("FRAMEGATE_")]:
        monkeypatch.delenv(key)

    def set_env(**values):
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
    return set_env


def test_production_with_real_credentials_starts(env):
    env(**REAL)
    assert load_settings().environment == "production"


@pytest.mark.parametrize("missing, named", [
    ("FRAMEGATE_SECRET_KEY", "FRAMEGATE_SECRET_KEY"),
    ("FRAMEGATE_S3_ACCESS_KEY", "FRAMEGATE_S3_ACCESS_KEY"),
    ("FRAMEGATE_S3_SECRET_KEY", "FRAMEGATE_S3_SECRET_KEY"),
    ("FRAMEGATE_AMQP_URL", "FRAMEGATE_AMQP_URL"),
])
def test_production_refuses_to_start_with_a_default_credential(env, missing, named):
    env(**dict(REAL, **{missing: None}))
    with pytest.raises(RuntimeError, match=named):
        load_settings()


def test_production_refuses_rabbitmqs_guest_account(env):
    env(**dict(REAL, FRAMEGATE_AMQP_URL="amqp://guest:guest@mq.example:5672//"))
    with pytest.raises(RuntimeError, match="guest"):
        load_settings()


def test_development_keeps_its_local_defaults(env):
    assert load_settings().s3_access_key == "framegate"


CDN = replace(Settings(), public_url="https://framegate.example", cdn_url="https://cdn.example/")
VERSION = {"id": "v1", "project_id": "p1", "facts": {}, "renditions": {"poster": "p1/v1/poster.jpg"}}


def test_playback_urls_point_at_the_cdn_when_it_is_set(env):
    env(FRAMEGATE_CDN_URL="https://cdn.example")
    assert load_settings().cdn_url == "https://cdn.example"
    url = cdn.sign_playback_url(CDN, "p1", "v1")
    assert url.startswith("https://cdn.example/cdn/") and url.endswith("/p1/v1/hls/master.m3u8")
    config = player_config(CDN, VERSION)
    assert config["master"].startswith("https://cdn.example/cdn/")
    assert config["poster"].startswith("https://cdn.example/cdn/") and config["cdn_base"].endswith("/p1/v1/")
    policy = security_headers(CDN)["Content-Security-Policy"]
    for directive in ("img-src", "media-src", "connect-src"):
        assert f"{directive} 'self' https://cdn.example" in policy


def test_without_a_cdn_url_playback_stays_on_the_platforms_address():
    local = replace(CDN, cdn_url="")
    assert cdn.sign_playback_url(local, "p1", "v1").startswith("https://framegate.example/cdn/")
    assert player_config(local, VERSION)["master"].startswith("/cdn/")


def test_the_origin_accepts_only_a_signed_unexpired_token_for_that_version():
    secret = "s" * 32
    token = cdn.token_for(secret, 2000, "p1/v1")
    assert cdn.signature_valid(secret, token, "2000", "p1/v1", now=1999)
    assert not cdn.signature_valid(secret, token, "2000", "p1/v1", now=2000)  # expired
    assert not cdn.signature_valid(secret, token, "2001", "p1/v1", now=1999)  # another expiry
    assert not cdn.signature_valid(secret, token, "2000", "p1/v2", now=1999)  # another version
    assert not cdn.signature_valid(secret, "", "", "p1/v1", now=1999)  # the origin key alone
