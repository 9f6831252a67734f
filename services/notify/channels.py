"""A message in each channel's own format, escaped for it: Slack Block Kit
(mrkdwn), e-mail (plain text + HTML), Standard Webhooks (signed JSON)."""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid

from standardwebhooks import Webhook

from .messages import Message
from .rules import clip, header_text, slack_escape


def slack_payload(message: Message) -> dict:
    """Block Kit with a plain-text fallback (`text`, shown in notifications)."""
    heading = f"*{slack_escape(clip(message.title, 500))}*"
    if message.project:
        heading += f"  ·  {slack_escape(clip(message.project, 200))}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": heading}}]
    body = "\n".join(f"• {slack_escape(line)}" for line in message.lines)
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(body, 3000)}})
    if message.links:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": clip(link.label, 75)}, "url": link.url,
             "action_id": f"open_{i}"} for i, link in enumerate(message.links[:25])]})
    fallback = " — ".join(p for p in (message.title, message.project) if p)
    if message.lines:
        fallback += "\n" + "\n".join(message.lines)
    return {"text": slack_escape(clip(fallback, 3000)), "blocks": blocks[:50]}


def email_message(message: Message, sender: str, recipient: str, message_id: str) -> EmailMessage:
    """Plain text and HTML; user text HTML-escaped, the subject one line (no header injection)."""
    mail = EmailMessage()
    subject = f"[Framegate] {message.project + ': ' if message.project else ''}{message.title}"
    mail["Subject"] = header_text(subject, 200)
    mail["From"] = sender
    mail["To"] = header_text(recipient, 254)
    mail["Message-ID"] = make_msgid(idstring=message_id.replace("_", ""), domain="framegate.local")
    text = [message.title, ""] + message.lines + [""] + [f"{link.label}: {link.url}" for link in message.links]
    mail.set_content("\n".join(text) + "\n")
    esc = html.escape
    items = "".join(f"<li>{esc(line)}</li>" for line in message.lines)
    buttons = "".join(f'<p><a href="{esc(link.url, quote=True)}">{esc(link.label)}</a></p>' for link in message.links)
    page = (f"<html><body><h2>{esc(message.title)}</h2>"
            + (f"<p>{esc(message.project)}</p>" if message.project else "")
            + (f"<ul>{items}</ul>" if items else "") + buttons + "</body></html>")
    mail.add_alternative(page, subtype="html")
    return mail


def webhook_body(delivery: dict) -> bytes:
    """Standard Webhooks' payload shape: type, timestamp, data (the event as published)."""
    events = delivery.get("events") or [{}]
    event = events[0]
    payload = {"type": delivery.get("event_type") or event.get("type"), "timestamp": event.get("occurred_at"),
               "data": event}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(delivery_id: str, secret: str, body: bytes, at: datetime | None = None) -> dict:
    """webhook-id stays the same on every retry, so receivers can drop duplicates."""
    at = at or datetime.now(timezone.utc)
    return {"webhook-id": delivery_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery_id, at, body.decode()),
            "Content-Type": "application/json", "User-Agent": "Framegate-Webhooks/1"}
