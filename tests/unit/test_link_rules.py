"""The rules of review links: tokens, domains, expiry, revocation, audience."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.review.link_rules import (LinkRefused, audience, check_domains, check_expiry, check_kind, check_stage,
                                        ensure_live, ensure_may_comment, link_state, new_token,
                                        password_backoff_seconds, reviewer_email, reviewer_name, token_digest)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def refused(code, fn, *args):
    with pytest.raises(LinkRefused) as err:
        fn(*args)
    assert err.value.code == code, err.value.message
    return err.value


def test_tokens_carry_256_random_bits_and_only_a_digest_is_kept():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    t = next(iter(tokens))
    assert token_digest(t) == token_digest(t) and t not in token_digest(t) and len(token_digest(t)) == 64


def test_reviewer_email_must_be_at_an_allowed_domain():
    domains = check_domains(["Agency.example", "@client.example", "agency.example"])
    assert domains == ["agency.example", "client.example"]
    assert reviewer_email(" Ann@AGENCY.example ", domains) == "ann@agency.example"
    err = refused("email_domain_not_allowed", reviewer_email, "ann@agency.example.evil.test", domains)
    assert err.status == 403 and "agency.example" in err.message
    refused("email_domain_not_allowed", reviewer_email, "x@evil-agency.example", domains)
    refused("bad_email", reviewer_email, "not an address", domains)
    assert reviewer_email("anyone@else.example", []) == "anyone@else.example"
    refused("bad_domains", check_domains, ["not a domain"])
    assert reviewer_name("  Ann   Lee ") == "Ann Lee"
    refused("bad_name", reviewer_name, " ")


def test_revoked_and_expired_links_are_refused_with_410():
    live = {"kind": "client", "expires_at": NOW + timedelta(hours=1)}
    assert link_state(live, NOW) == "active"
    ensure_live(live, NOW)
    assert refused("link_expired", ensure_live, {**live, "expires_at": NOW}, NOW).status == 410
    assert link_state({**live, "revoked_at": NOW, "expires_at": NOW - timedelta(days=1)}, NOW) == "revoked"
    assert refused("link_revoked", ensure_live, {**live, "revoked_at": NOW}, NOW).status == 410
    refused("comments_disabled", ensure_may_comment, {**live, "comments": False})


def test_link_fields_are_checked():
    assert check_expiry("2026-12-31T18:00:00Z", NOW) == datetime(2026, 12, 31, 18, tzinfo=timezone.utc)
    assert check_expiry(None, NOW) is None
    refused("expiry_in_past", check_expiry, "2026-12-01T00:00:00Z", NOW)
    refused("bad_expiry", check_expiry, "2026-12-31T18:00:00", NOW)
    refused("bad_expiry", check_expiry, "next week", NOW)
    refused("bad_kind", check_kind, "public")
    refused("bad_stage", check_stage, "")
    assert audience({"kind": "internal"}) == "team" and audience({"kind": "client"}) == "client"


def test_wrong_passwords_back_off_exponentially_to_a_cap():
    assert [password_backoff_seconds(n) for n in range(5)] == [0, 0, 0, 0, 0]
    assert password_backoff_seconds(5) == 2 and password_backoff_seconds(6) == 4
    assert password_backoff_seconds(100) == 300

