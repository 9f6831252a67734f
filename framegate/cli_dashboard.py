"""`framegate dashboard`: the board of productions in the terminal (the
dashboard service's API). `--json` prints one object per production."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from framegate.client import ApiClient

D = "/api/v1/dashboard"
JSON_FIELDS = ("project_id", "name", "stage", "state", "open_notes", "pending_approvers", "last_activity")


def ago(iso: str | None, now: datetime | None = None) -> str:
    """'3 min ago', '2 h ago', '4 d ago'; '-' when never."""
    if not iso:
        return "-"
    now = now or datetime.now(timezone.utc)
    seconds = (now - datetime.fromisoformat(iso.replace("Z", "+00:00"))).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def board_lines(rows: list[dict], now: datetime | None = None) -> list[str]:
    """A table: production, stage, state, notes, pending approvers, last activity."""
    if not rows:
        return ["No productions to show."]
    table = [("PRODUCTION", "STAGE", "STATE", "NOTES", "PENDING", "LAST ACTIVITY")]
    for r in rows:
        table.append((r["name"] or r["project_id"], r["stage"] or "-", r["state"], str(r["open_notes"]),
                      ", ".join(r["pending_approvers"]) or "-", ago(r["last_activity"], now)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in table]


def cmd_dashboard(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    params = {k: v for k, v in (("state", args.state), ("client", args.client), ("producer", args.producer),
                                ("sort", args.sort)) if v}
    rows = client.request("GET", f"{D}/productions", params=params or None)["productions"]
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps({k: row[k] for k in JSON_FIELDS}, ensure_ascii=False) + "\n")
    else:
        print("\n".join(board_lines(rows)))
    return 0


def add_commands(commands) -> None:
    board = commands.add_parser("dashboard", help="every production you can see: stage, state, notes, approvers",
                                description="The board of productions (the same as /dashboard in the browser).")
    board.add_argument("--json", action="store_true",
                       help="one JSON object per production: " + ", ".join(JSON_FIELDS))
    board.add_argument("--state", help="only productions in this state (e.g. 'notes received')")
    board.add_argument("--client", help="only productions whose client reviewers' domain contains this")
    board.add_argument("--producer", help="only productions whose producer's e-mail contains this")
    board.add_argument("--sort", help="name, state, last_activity, open_notes or pending (prefix - to reverse)")
    board.set_defaults(handler=cmd_dashboard)
