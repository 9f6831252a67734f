"""Headless Chromium (Debian's, through playwright) against the real stack,
and a signed-in reviewer."""
from __future__ import annotations

import uuid

import pytest

from services.common import accounts

CHROMIUM = "/usr/bin/chromium"
# The network here is closed: keep Chromium from calling home at every start.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def reviewer(db):
    """A member account with a known password (e-mail, password)."""
    email = f"reviewer-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Rita Reviewer", "member", PASSWORD)
    return email, PASSWORD


@pytest.fixture
def page(browser, api_url):
    context = browser.new_context(base_url=api_url, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("response", lambda r: r.status >= 400 and messages.append(f"http {r.status}: {r.url}"))
    page.console_messages = messages
    yield page
    context.close()


def sign_in(page, email: str, password: str, next_path: str = "/projects") -> None:
    page.goto(next_path)
    assert "/signin" in page.url  # every page sends a stranger to sign-in first
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")
