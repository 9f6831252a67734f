"""`framegate link …`, `comment`, `notes --link` and `access-log`: review links
from the command line, as an owner (signed in) or as a reviewer through a
link's URL (no account: a name and an e-mail, and the link's password).
`notes` itself is parsed in cli_notes, which shares it with the team's notes."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import urlsplit

from framegate.client import ApiClient
from framegate.config import FramegateError

LINK_FIELDS = ("link_id", "url", "kind", "stage", "expires_at", "state")
NOTE_FIELDS = ("note_id", "frame", "to_frame", "timecode", "text", "author_name", "author_email", "visibility",
               "status", "replies", "drawing")


def print_result(data: dict, as_json: bool, line: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if as_json else line, flush=True)


def cmd_link(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.link_command == "create":
        fields = {"version_id": args.version, "asset_id": args.asset, "kind": args.kind, "stage": args.stage,
                  "brief": args.brief, "expires_at": args.expires, "password": args.password,
                  "allowed_domains": args.domain or [], "comments": not args.no_comments,
                  "download": not args.no_download, "approve": args.approve}
        link = client.create_link({k: v for k, v in fields.items() if v is not None})
        print_result({k: link.get(k) for k in LINK_FIELDS}, args.json, link["url"])
        return 0
    if args.link_command == "revoke":
        link = client.revoke_link(args.link_id)
        print_result({k: link.get(k) for k in LINK_FIELDS if k != "url"}, args.json, f"revoked {link['link_id']}")
        return 0
    project = client.project_named(args.project) if args.project else None
    if project is None:
        raise FramegateError(f"no project named {args.project!r} (framegate projects)")
    for link in client.links(project["id"]):
        print_result(link, args.json, f"{link['link_id']}  {link['kind']:<8} {link['state']:<7} {link['stage']}")
    return 0


def reviewer_client(url: str) -> tuple[ApiClient, str]:
    """A client on the link's platform and the link's token, from the link's URL."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.path.startswith("/l/"):
        raise FramegateError(f"{url!r} is not a review link (…/l/<token>)")
    return ApiClient(f"{parts.scheme}://{parts.netloc}"), parts.path.removeprefix("/l/").strip("/")


def cmd_comment(args: argparse.Namespace) -> int:
    client, token = reviewer_client(args.link)
    opened = client.open_link(token, args.name, args.email, args.password)
    note = client.link_note(opened["link_id"], {"frame": args.frame, "to_frame": args.to, "text": args.text})
    print_result({k: note.get(k) for k in ("note_id", "frame", "to_frame", "timecode")}, args.json,
           f"{note['note_id']}  {note['timecode']}")
    return 0


def cmd_link_notes(args: argparse.Namespace) -> int:
    client, token = reviewer_client(args.link)
    opened = client.open_link(token, args.name, args.email, args.password)
    for note in client.link_notes(opened["link_id"]):
        print_result({k: note.get(k) for k in NOTE_FIELDS}, args.json,
               f"{note['timecode']}  {note['author_name']}: {note['text']}")
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    body = ApiClient.from_config().access_log(args.link_id, args.format)
    Path(args.output).write_bytes(body)
    print_result({"link_id": args.link_id, "format": args.format, "file": str(args.output), "bytes": len(body)},
           args.json, f"wrote {args.output}")
    return 0


def add_commands(commands) -> None:
    """Adds the link commands to the CLI's subparsers."""
    link = commands.add_parser("link", help="make, list and revoke review links (owners)",
                               description="Review links: a URL a reviewer opens without an account.")
    link_commands = link.add_subparsers(dest="link_command", metavar="create|revoke|list", required=True)
    create = link_commands.add_parser("create", help="make a link; prints its URL (shown once)")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--version", help="this version")
    target.add_argument("--asset", help="the asset's current version, whichever it is when opened")
    create.add_argument("--kind", choices=("internal", "client"), required=True)
    create.add_argument("--stage", required=True, help='a label shown before playback, e.g. "First cut"')
    create.add_argument("--brief", help="what to look at, shown before playback")
    create.add_argument("--expires", metavar="ISO-8601", help="e.g. 2026-12-31T18:00:00Z")
    create.add_argument("--password")
    create.add_argument("--domain", action="append", metavar="D", help="allowed e-mail domain (repeatable)")
    create.add_argument("--no-comments", action="store_true")
    create.add_argument("--no-download", action="store_true")
    create.add_argument("--approve", action="store_true",
                        help="its reviewers who are approvers of the gate may approve or request changes")
    revoke = link_commands.add_parser("revoke", help="revoke a link now")
    revoke.add_argument("link_id")
    listing = link_commands.add_parser("list", help="a project's links")
    listing.add_argument("--project", required=True)
    for sub in (create, revoke, listing):
        sub.add_argument("--json", action="store_true", help="JSON (one object per line)")
    link.set_defaults(handler=cmd_link)

    comment = commands.add_parser("comment", help="leave a note through a review link (no account)")
    comment.add_argument("--link", required=True, metavar="URL")
    comment.add_argument("--name", required=True)
    comment.add_argument("--email", required=True)
    comment.add_argument("--frame", type=int, required=True)
    comment.add_argument("--to", type=int, help="the range's last frame")
    comment.add_argument("--text", required=True)
    comment.add_argument("--password")
    comment.add_argument("--json", action="store_true")
    comment.set_defaults(handler=cmd_comment)

    log = commands.add_parser("access-log", help="who opened a link and how much they watched (owners)")
    log.add_argument("link_id")
    log.add_argument("--format", choices=("csv", "pdf"), required=True)
    log.add_argument("-o", "--output", required=True, metavar="FILE")
    log.add_argument("--json", action="store_true")
    log.set_defaults(handler=cmd_access_log)
