"""The live dashboard in headless Chromium: an event from another service shows
on an open board without a reload; the production page and the capacity view
draw what the events said."""
from __future__ import annotations

import uuid

import requests

from tests.browser.conftest import sign_in
from tests.conftest import Api
from tests.integration.waiting import wait_until


def member_api(api_url: str, email: str, password: str) -> Api:
    answer = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return Api(api_url, answer.json()["token"])


def test_a_new_production_appears_on_an_open_board_without_reload(page, api_url, reviewer):
    email, password = reviewer
    api = member_api(api_url, email, password)
    first = api.post("/api/v1/projects", json={"name": f"Board first {uuid.uuid4().hex[:6]}"}).json()
    wait_until(lambda: api.get(f"/api/v1/dashboard/productions/{first['id']}").json().get("name"), 60,
               "the first production on the board")

    sign_in(page, email, password, "/dashboard")
    page.wait_for_selector(f"tr[data-project-id='{first['id']}']")
    page.wait_for_selector("#live.on")  # the event stream is open
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    second = api.post("/api/v1/projects", json={"name": f"Board second {uuid.uuid4().hex[:6]}"}).json()
    row = page.wait_for_selector(f"tr[data-project-id='{second['id']}']", timeout=30_000)
    assert second["name"] in row.inner_text() and "in production" in row.inner_text()
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator("#board tbody tr").first.get_attribute("data-project-id") == second["id"]  # newest first
    errors = [m for m in page.console_messages if m.startswith(("pageerror", "error", "http 5"))]
    assert not errors, errors

    page.click(f"tr[data-project-id='{second['id']}'] a")
    page.wait_for_selector("text=Stages and gates")
    assert second["name"] in page.inner_text("h1")

    page.goto("/dashboard/capacity")
    assert page.locator("svg.chart").count() == 3
    assert "Revision load by week" in page.inner_text("main")
