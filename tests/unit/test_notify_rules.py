"""Notify's pure rules: targets (SSRF), filters, who may read a note, retries, escaping."""
from __future__ import annotations

import ipaddress
from email import message_from_bytes, policy

import pytest

from services.notify import channels, rules
from services.notify.config import parse_networks
from services.notify.messages import Message, digest
from services.notify.targets import TargetRefused, check_email, check_url


def resolver(*addresses):
    return lambda host, port: [ipaddress.ip_address(a) for a in addresses]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.5.5", "169.254.169.254",
                                     "::1", "fe80::1", "fd00:ec2::254", "0.0.0.0", "100.64.1.1",
                                     "::ffff:127.0.0.1"])
def test_private_loopback_link_local_and_metadata_targets_are_refused(address):
    with pytest.raises(TargetRefused) as refused:
        check_url("https://hooks.example.com/x", (), resolver(address))
    assert refused.value.code == "target_not_allowed"
    assert "FRAMEGATE_NOTIFY_ALLOW" in refused.value.message


def test_a_name_resolving_to_one_private_address_among_public_ones_is_refused():
    with pytest.raises(TargetRefused):
        check_url("https://hooks.example.com/x", (), resolver("93.184.216.34", "10.0.0.1"))


def test_the_operators_allow_list_opens_only_its_networks():
    allow = parse_networks("127.0.0.0/8, 10.1.0.0/16")
    assert check_url("http://127.0.0.1:9/hook", allow, resolver("127.0.0.1"))
    assert check_url("http://internal/hook", allow, resolver("10.1.2.3"))
    with pytest.raises(TargetRefused):
        check_url("http://other/hook", allow, resolver("10.2.0.1"))
    assert check_url("https://hooks.slack.com/services/T/B/x", (), resolver("52.1.2.3"))


@pytest.mark.parametrize("url", ["ftp://example.com/x", "https://", "https://user:pw@example.com/",
                                 "https://example.com/a b", "https://example.com:99999/", "javascript:alert(1)"])
def test_urls_that_are_not_plain_http_targets_are_refused(url):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, (), resolver("93.184.216.34"))
    assert refused.value.code == "invalid_url"


def test_a_bad_allow_list_entry_stops_the_service_rather_than_allowing_anything():
    with pytest.raises(ValueError, match="FRAMEGATE_NOTIFY_ALLOW"):
        parse_networks("127.0.0.0/8, everything")


def test_email_addresses_are_one_address_without_header_tricks():
    assert check_email(" a.b@studio.example ") == "a.b@studio.example"
    for bad in ("a@b", "a@b.example\r\nBcc: x@y.example", "a@b.example, c@d.example", "<a@b.example>"):
        with pytest.raises(TargetRefused):
            check_email(bad)


def test_event_filters_name_known_events_only():
    assert rules.parse_events("note_added, gate_closed") == ["gate_closed", "note_added"]
    assert rules.parse_events(None) == []
    with pytest.raises(ValueError, match="note_deleted"):
        rules.parse_events(["note_deleted"])


def test_internal_notes_never_reach_an_address_without_an_account():
    internal = {"type": "note_added", "visibility": "internal"}
    client = {"type": "note_added", "visibility": "client"}
    assert not rules.may_read(internal, "email", team_address=False)
    assert rules.may_read(internal, "email", team_address=True)
    assert rules.may_read(client, "email", team_address=False)
    assert rules.may_read(internal, "slack", team_address=True)


def test_a_person_hears_only_of_projects_they_belong_to():
    person = {"scope": "person", "user_id": "u1", "project_id": None}
    assert rules.in_reach(person, "p1", {"u1"})
    assert not rules.in_reach(person, "p1", {"u2"})
    assert not rules.in_reach(dict(person, project_id="p2"), "p1", {"u1"})
    assert rules.in_reach({"scope": "project", "project_id": "p1"}, "p1", set())
    assert not rules.in_reach({"scope": "project", "project_id": "p2"}, "p1", set())


def test_retries_follow_the_schedule_honour_retry_after_and_end():
    delays = (5.0, 300.0)
    assert rules.next_delay(1, delays) == 5.0
    assert rules.next_delay(1, delays, retry_after=42) == 42
    assert rules.next_delay(2, delays, retry_after=1) == 300.0
    assert rules.next_delay(1, delays, retry_after=99999, cap=3600) == 3600
    assert rules.next_delay(3, delays) is None
    assert [s for s in (200, 400, 404, 408, 429, 500, 503, None) if rules.retryable(s)] == [408, 429, 500, 503, None]


def test_slack_text_cannot_ping_the_channel_or_fake_a_link():
    payload = channels.slack_payload(Message("Ann <!channel> & co", ["see <http://evil.example|the cut>"]))
    text = json_text(payload)
    assert "<!channel>" not in text and "<http://evil" not in text
    assert "&lt;!channel&gt; &amp; co" in payload["blocks"][0]["text"]["text"]
    assert payload["text"].startswith("Ann &lt;!channel&gt; &amp; co")


def json_text(payload) -> str:
    import json

    return json.dumps(payload)


def test_a_digest_has_a_line_and_a_player_button_per_note_in_frame_order():
    notes = [{"author_name": "Cleo", "version_id": "v1", "frame": f, "to_frame": None, "timecode": f"01:00:00:0{f}",
              "text": f"note {f}"} for f in (7, 3)]  # arrival order
    message = digest(notes, "Acme", "http://fg.example")
    assert message.title == "Cleo left 2 notes"
    assert [link.url for link in message.links] == ["http://fg.example/versions/v1?frame=3",
                                                    "http://fg.example/versions/v1?frame=7"]
    blocks = channels.slack_payload(message)["blocks"]
    assert [e["url"] for e in blocks[-1]["elements"]] == [link.url for link in message.links]


def test_mail_escapes_html_and_keeps_the_subject_on_one_line():
    mail = channels.email_message(Message("Eve\r\nBcc: all@example.com left 1 note", ["<script>x</script> & more"],
                                          project="Acme"), "fg@example.com", "a@example.com", "dlv_1")
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"] and "Bcc: all@example.com" in parsed["Subject"]
    html = parsed.get_body(("html",)).get_content()
    assert "&lt;script&gt;x&lt;/script&gt; &amp; more" in html and "<script>" not in html
    assert "<script>x</script> & more" in parsed.get_body(("plain",)).get_content()
