"""The notifications page: a dead-lettered webhook shows with a Retry button,
and the retry delivers it once the endpoint is back."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.notify import store
from tests.browser.conftest import sign_in
from tests.conftest import add_member
from tests.integration.notify_fakes import RecordingHttp
from tests.integration.test_notify_delivery import delivery_of, gate_closed, publish, subscribe
from tests.integration.waiting import wait_until

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def endpoint():
    server = RecordingHttp().start()
    yield server
    server.stop()


def test_a_dead_letter_is_shown_with_a_retry_button_that_delivers_it(page, admin, project, reviewer, settings, db,
                                                                      endpoint):
    email, password = reviewer
    add_member(admin, project["id"], email, "owner")
    endpoint.failing.add("/hook")
    sub = subscribe(admin, channel="webhook", target=f"{endpoint.url}/hook", project_id=project["id"])
    event = gate_closed(project["id"], "Client review")
    publish(settings, event)
    dead = wait_until(lambda: (d := delivery_of(db, event.event_id, sub["id"])) and d["status"] == "dead" and d, 60,
                      "the dead letter")

    sign_in(page, email, password, "/notify/deliveries?failed=1")
    row = page.locator(f"tr[data-id='{dead['_id']}']")
    assert row.locator(".status-dead").inner_text() == "dead"
    assert "HTTP 500" in row.locator(".last-error").inner_text()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "notify-dead-letters.png"), full_page=True)

    endpoint.failing.discard("/hook")
    row.locator("button", has_text="Retry").click()
    page.wait_for_selector("#notice")
    assert dead["_id"] in page.inner_text("#notice")
    wait_until(lambda: store.delivery(db, dead["_id"])["status"] == "delivered", 60, "the retried delivery")
    page.goto("/notify/deliveries")
    assert page.locator(f"tr[data-id='{dead['_id']}'] .status-delivered").inner_text() == "delivered"
    assert len(endpoint.to("/hook")) == dead["attempts"] + 1
    assert not [m for m in page.console_messages if "pageerror" in m]
