"""`framegate notify …` and `framegate deliveries …`: subscriptions to the
platform's events (Slack, e-mail, signed webhooks) and what was sent for them.

    framegate notify add (--slack URL | --email ADDR | --webhook URL) [--project NAME] [--events LIST] [--personal]
    framegate notify list | remove ID | test ID
    framegate deliveries [--failed] | deliveries retry ID
"""
from __future__ import annotations

import argparse
import json

from framegate.client import ApiClient
from framegate.config import FramegateError

API = "/api/v1/notify"


def show(data: dict, as_json: bool, line: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if as_json else line, flush=True)


def subscription_line(sub: dict) -> str:
    where = sub["project_id"] or ("you" if sub["scope"] == "person" else "installation")
    events = ",".join(sub["events"]) or "all events"
    off = "  (disabled)" if sub.get("disabled") else ""
    return f"{sub['id']}  {sub['channel']:<7} {sub['target']}  [{sub['scope']}: {where}; {events}]{off}"


def delivery_line(d: dict) -> str:
    error = f"  {d['last_error']}" if d.get("last_error") else ""
    return (f"{d['id']}  {d['status']:<9} {d['channel']:<7} {d['kind'] or '':<7} {d['event_type'] or '':<20} "
            f"tries {d['attempts']}  {d['target']}{error}")


def cmd_notify(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.notify_command == "add":
        channel, target = next((c, t) for c, t in (("slack", args.slack), ("email", args.email),
                                                   ("webhook", args.webhook)) if t is not None)
        body = {"channel": channel, "target": target, "events": args.events or []}
        if args.project:
            project = client.project_named(args.project)
            if project is None:
                raise FramegateError(f"no project named {args.project!r} (framegate projects)")
            body["project_id"] = project["id"]
        body["scope"] = "person" if args.personal else ("project" if args.project else "installation")
        sub = client.request("POST", f"{API}/subscriptions", json=body)
        line = f"subscription_id {sub['id']}"
        if sub.get("secret"):
            line += f"\nsecret {sub['secret']}  (shown once: keep it to verify the webhook signatures)"
        show({"subscription_id": sub["id"], **{k: v for k, v in sub.items() if k != "id"}}, args.json, line)
        return 0
    if args.notify_command == "list":
        for sub in client.request("GET", f"{API}/subscriptions")["subscriptions"]:
            show(sub, args.json, subscription_line(sub))
        return 0
    if args.notify_command == "remove":
        client.request("DELETE", f"{API}/subscriptions/{args.id}")
        show({"removed": args.id}, args.json, f"removed {args.id}")
        return 0
    sent = client.request("POST", f"{API}/subscriptions/{args.id}/test")
    show(sent, args.json, f"test message queued as delivery {sent['id']} (framegate deliveries)")
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.deliveries_command == "retry":
        d = client.request("POST", f"{API}/deliveries/{args.id}/retry")
        show(d, args.json, f"{d['id']} sent again (attempt {d['retry_attempt']})")
        return 0
    found = client.request("GET", f"{API}/deliveries", params={"failed": "1"} if args.failed else None)
    for d in found["deliveries"]:
        show(d, args.json, delivery_line(d))
    return 0


def add_commands(commands) -> None:
    notify = commands.add_parser("notify", help="subscribe Slack, e-mail or webhooks to the platform's events",
                                 description="Notification subscriptions.")
    sub = notify.add_subparsers(dest="notify_command", metavar="add|list|remove|test", required=True)
    add = sub.add_parser("add", help="subscribe a target; prints subscription_id (and a webhook's secret, once)")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="URL", help="a Slack incoming webhook")
    target.add_argument("--email", metavar="ADDR")
    target.add_argument("--webhook", metavar="URL", help="your endpoint; requests are signed (Standard Webhooks)")
    add.add_argument("--project", metavar="NAME", help="only this project's events (owners); default: all (admins)")
    add.add_argument("--personal", action="store_true", help="for yourself: the projects you belong to")
    add.add_argument("--events", type=lambda v: [e.strip() for e in v.split(",") if e.strip()], metavar="LIST",
                     help="comma-separated event names, e.g. note_added,gate_closed (default: all)")
    listing = sub.add_parser("list", help="the subscriptions you manage")
    remove = sub.add_parser("remove", help="remove a subscription")
    remove.add_argument("id")
    test = sub.add_parser("test", help="send a test message to a subscription's target")
    test.add_argument("id")
    for p in (add, listing, remove, test):
        p.add_argument("--json", action="store_true", help="JSON (one object per line)")
    notify.set_defaults(handler=cmd_notify)

    deliveries = commands.add_parser("deliveries", help="messages sent for your subscriptions; retry dead ones",
                                     description="Deliveries of notifications.")
    deliveries.add_argument("--failed", action="store_true", help="only dead-lettered ones (every try failed)")
    deliveries.add_argument("--json", action="store_true", help="JSON (one object per line)")
    dsub = deliveries.add_subparsers(dest="deliveries_command", metavar="retry")
    retry = dsub.add_parser("retry", help="send a dead-lettered delivery again")
    retry.add_argument("id")
    retry.add_argument("--json", action="store_true")
    deliveries.set_defaults(handler=cmd_deliveries)
