"""Who the CDN origin route answers: the origin key, from an allowed network."""
import pytest
from flask import Flask

from services.common import cdn
from services.common.settings import Settings
from services.review.origin import _from_nginx, cdn_peers

SETTINGS = Settings(secret_key="k" * 64)


def asks(peer: str, key: str | None, peers) -> bool:
    headers = {cdn.ORIGIN_KEY_HEADER: key} if key else {}
    with Flask(__name__).test_request_context("/_origin/renditions/x", headers=headers,
                                              environ_base={"REMOTE_ADDR": peer}):
        return _from_nginx(SETTINGS, peers)


def test_by_default_only_loopback_with_the_key(monkeypatch):
    monkeypatch.delenv("FRAMEGATE_ORIGIN_PEERS", raising=False)
    peers, key = cdn_peers(), cdn.origin_key(SETTINGS)
    assert asks("127.0.0.1", key, peers) and asks("::1", key, peers)
    assert not asks("10.1.2.3", key, peers)
    assert not asks("127.0.0.1", "wrong", peers) and not asks("127.0.0.1", None, peers)


@pytest.mark.parametrize("peer,allowed", [("10.244.3.7", True), ("192.168.1.5", False)])
def test_a_cluster_names_its_pod_network(monkeypatch, peer, allowed):
    monkeypatch.setenv("FRAMEGATE_ORIGIN_PEERS", "10.244.0.0/16, fd00::/8")
    assert asks(peer, cdn.origin_key(SETTINGS), cdn_peers()) is allowed


@pytest.mark.parametrize("port,allowed", [("8081", True), ("8080", False)])
def test_in_a_cluster_the_origin_answers_only_on_its_own_port(monkeypatch, port, allowed):
    """The port a NetworkPolicy opens to the CDN alone; the pages' port (the Ingress's) never serves it."""
    from services.review.origin import _on_origin_port

    monkeypatch.setenv("FRAMEGATE_ORIGIN_PORT", "8081")
    with Flask(__name__).test_request_context("/_origin/renditions/x", base_url=f"http://10.0.0.5:{port}"):
        assert _on_origin_port() is allowed
