"""`framegate still VERSION_ID --frame N -o FILE.png`: frame N of the master,
exactly as the player shows it when paused (the same PNG, through the CDN)."""
from __future__ import annotations

import argparse
from pathlib import Path

from framegate import cli_links
from framegate.client import ApiClient


def cmd_still(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    still = client.still(args.version_id, args.frame)
    png = client.fetch_signed(still["url"])
    Path(args.output).write_bytes(png)
    done = {"version_id": args.version_id, "frame": still["frame"], "width": still["width"],
            "height": still["height"], "file": str(args.output), "bytes": len(png)}
    cli_links.print_result(done, args.json, f"wrote {args.output} (frame {still['frame']}, "
                                             f"{still['width']}x{still['height']})")
    return 0


def add_commands(commands) -> None:
    """Adds `still` to the CLI's subparsers."""
    still = commands.add_parser(
        "still", help="write frame N of a version's master as a lossless PNG",
        description="Frame N of the version's master at full size, upright, in display colours "
                    "(the renditions' conversion), as the paused player shows it.")
    still.add_argument("version_id", metavar="VERSION_ID")
    still.add_argument("--frame", type=int, required=True, help="the frame (0 is the first)")
    still.add_argument("-o", "--output", metavar="FILE.png", required=True)
    still.add_argument("--json", action="store_true", help="print what was written as JSON")
    still.set_defaults(handler=cmd_still)
