"""`framegate note add|edit|status`, `notes VERSION_ID`, `notes export` and `notes --link`:
the team's notes as the signed-in user, and (through cli_links) what a review
link's reviewer sees. One `notes` command serves both, told apart by --link."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from framegate import cli_links
from framegate.client import ApiClient

EXPORT_FORMATS = ("csv", "pdf", "edl", "avid", "fcp7", "otio")
ADDED_FIELDS = ("note_id", "frame", "to_frame", "timecode", "visibility")
CHANGED_FIELDS = ("note_id", "text", "status", "revisions", "mentions")
STATUSES = ("open", "resolved", "out_of_scope")


def note_key(version_id: str, frame: int, to_frame: int | None, text: str, visibility: str) -> str:
    """The Idempotency-Key of a note: the same command run again (say after a
    lost answer) names the same note, so the server returns it instead of a copy."""
    return hashlib.sha256(json.dumps([version_id, frame, to_frame, text, visibility]).encode()).hexdigest()


def note_line(note: dict) -> str:
    """`01:01:00;02-01:01:00;12  open  internal  Ann: Logo too small` (text on one line)."""
    where = note["timecode"] + (f"-{note['to_timecode']}" if note.get("to_timecode") else "")
    return f"{where}  {note['status']}  {note['visibility']}  {note['author_name']}: {' '.join(note['text'].split())}"


def cmd_note(args: argparse.Namespace) -> int:
    visibility = "internal" if args.internal else "client"
    key = args.idempotency_key or note_key(args.version_id, args.frame, args.to, args.text, visibility)
    note = ApiClient.from_config().add_note(
        args.version_id, {"frame": args.frame, "to_frame": args.to, "text": args.text, "visibility": visibility}, key)
    cli_links.print_result({k: note.get(k) for k in ADDED_FIELDS}, args.json, f"{note['note_id']}  {note['timecode']}")
    return 0


def cmd_note_change(args: argparse.Namespace) -> int:
    """`note edit` and `note status`: as the signed-in user, or with --link as that link's reviewer."""
    if args.link and not (args.name and args.email):
        args.note_parser.error("--link needs --name and --email (a link is opened with a name and an e-mail)")
    editing = args.note_command == "edit"
    if args.link:
        client, token = cli_links.reviewer_client(args.link)
        link_id = client.open_link(token, args.name, args.email, args.password)["link_id"]
        note = (client.link_edit_note(link_id, args.note_id, args.text) if editing
                else client.link_set_note_status(link_id, args.note_id, args.status))
    else:
        client = ApiClient.from_config()
        note = client.edit_note(args.note_id, args.text) if editing else client.set_note_status(args.note_id, args.status)
    cli_links.print_result({k: note.get(k) for k in CHANGED_FIELDS}, args.json,
                           f"{note['note_id']}  {note['status']}  revision {note['revisions']}")
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    usage = args.notes_parser.error  # exits 2 with the usage, as argparse does
    if args.link:
        if args.words or args.format or args.output:
            usage("--link lists a link's notes; it takes no VERSION_ID, --format or -o")
        if not (args.name and args.email):
            usage("--link needs --name and --email (a link is opened with a name and an e-mail)")
        return cli_links.cmd_link_notes(args)
    match args.words:
        case ["export", version_id]:
            if not (args.format and args.output):
                usage("notes export needs --format and -o FILE")
            return _export(version_id, args)
        case [version_id] if version_id != "export":
            if args.format or args.output:
                usage("--format and -o go with `notes export VERSION_ID`")
            for note in ApiClient.from_config().notes(version_id):
                cli_links.print_result({k: note.get(k) for k in cli_links.NOTE_FIELDS}, args.json, _with_replies(note))
            return 0
    usage("say which version: notes VERSION_ID, notes export VERSION_ID --format F -o FILE, or notes --link URL")
    return 2  # not reached


def _with_replies(note: dict) -> str:
    return "\n".join([note_line(note)] + [f"    reply  {r['author_name']}: {' '.join(r['text'].split())}"
                                          for r in note.get("replies") or ()])


def _export(version_id: str, args: argparse.Namespace) -> int:
    body = ApiClient.from_config().export_notes(version_id, args.format)
    Path(args.output).write_bytes(body)
    done = {"version_id": version_id, "format": args.format, "file": str(args.output), "bytes": len(body)}
    cli_links.print_result(done, args.json, f"wrote {args.output}")
    return 0


def add_commands(commands) -> None:
    """Adds `note` and `notes` to the CLI's subparsers."""
    note = commands.add_parser("note", help="add, edit or resolve a note (signed in, or through a review link)",
                               description="Add a note pinned to a frame or a range of a version; edit your "
                                           "note or change its status.")
    note_commands = note.add_subparsers(dest="note_command", metavar="add|edit|status", required=True)
    add = note_commands.add_parser(
        "add", help="pin a note to a frame (or a range)",
        description="Pin a note to a frame or a range. Run again, the same command returns the same note.")
    add.add_argument("version_id", metavar="VERSION_ID")
    add.add_argument("--frame", type=int, required=True, help="the frame (0 is the first)")
    add.add_argument("--to", type=int, help="the range's last frame")
    add.add_argument("--text", required=True)
    add.add_argument("--internal", action="store_true", help="for the team only; never shown through client links")
    add.add_argument("--idempotency-key", metavar="KEY",
                     help="8-128 characters; default: made from the note, so a retried command adds nothing")
    add.add_argument("--json", action="store_true", help="print the note as JSON")
    add.set_defaults(handler=cmd_note)

    edit = note_commands.add_parser("edit", help="new text for your note (a new revision; history keeps the old)",
                                    description="Edit your own note's text. Earlier texts stay in its history.")
    edit.add_argument("note_id", metavar="NOTE_ID")
    edit.add_argument("--text", required=True)
    status = note_commands.add_parser("status", help="resolve, reopen or set a note out of scope",
                                      description="Set a note's status (a new revision of the note).")
    status.add_argument("note_id", metavar="NOTE_ID")
    status.add_argument("--status", required=True, choices=STATUSES)
    for sub in (edit, status):
        sub.add_argument("--link", metavar="URL", help="as a review link's reviewer rather than signed in")
        sub.add_argument("--name", help="with --link: a link is opened with a name and an e-mail")
        sub.add_argument("--email")
        sub.add_argument("--password", help="with --link: the link's password")
        sub.add_argument("--json", action="store_true", help="print the note as JSON")
        sub.set_defaults(handler=cmd_note_change, note_parser=sub)

    notes = commands.add_parser(
        "notes", help="a version's notes as the team sees them, their export, or a review link's notes",
        usage="framegate notes VERSION_ID [--json]\n"
              "       framegate notes export VERSION_ID --format {%s} -o FILE [--json]\n"
              "       framegate notes --link URL --name N --email E [--password X] [--json]" % ",".join(EXPORT_FORMATS),
        description="Every note of a version with its replies (internal ones too), an export of them for the "
                    "editing tools, or, with --link, what that link's reviewer sees.")
    notes.add_argument("words", nargs="*", metavar="VERSION_ID | export VERSION_ID", help=argparse.SUPPRESS)
    notes.add_argument("--format", choices=EXPORT_FORMATS, help="with export: the file's format")
    notes.add_argument("-o", "--output", metavar="FILE", help="with export: where to write it")
    notes.add_argument("--link", metavar="URL", help="a review link: the notes its reviewer sees")
    notes.add_argument("--name", help="with --link: a link is opened with a name and an e-mail")
    notes.add_argument("--email")
    notes.add_argument("--password", help="with --link: the link's password")
    notes.add_argument("--json", action="store_true", help="one JSON object per note")
    notes.set_defaults(handler=cmd_notes, notes_parser=notes)
