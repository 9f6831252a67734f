"""`framegate`: the command line. A client of the HTTP API like any other, never of the database.

Results go to stdout (a line, a table or JSON lines); progress, notices and errors to stderr.
"""
from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from framegate import cli_approval, cli_dashboard, cli_links, cli_notes, cli_notify, cli_stills, config
from framegate.config import FramegateError
from framegate.client import ApiClient
from framegate.progress import format_bytes, format_duration, format_fps, progress_for
from framegate.batch import UploadResult, iter_uploads, local_files, version_fields, wait_for_results
from framegate.transfer import DEFAULT_PARALLEL, DEFAULT_RETRIES

try:
    from importlib.metadata import version as _dist_version
    __version__ = _dist_version("framegate")
except Exception:  # running from a checkout without an install
    __version__ = "0.1.0"

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# Output ---------------------------------------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def media_summary(fields: dict) -> str:
    """`1440 frames @ 23.976`, or a duration when there are no frames (audio)."""
    if fields.get("frames") is not None:
        text = _plural(fields["frames"], "frame")
        return f"{text} @ {format_fps(fields['fps'])}" if fields.get("fps") else text
    if fields.get("duration") is not None:
        return format_duration(fields["duration"])
    return ""


def upload_line(result: UploadResult) -> str:
    """`Hero 60s  v2  uploaded  1440 frames @ 23.976  TC 01:00:00:00  sha256 ab12…`"""
    rec = result.record()
    pieces = [rec["asset"] or result.filename, f"v{rec['version']}", rec["status"], media_summary(rec)]
    if rec["start_timecode"]:
        pieces.append(f"TC {rec['start_timecode']}")
    if rec["sha256"]:
        pieces.append(f"sha256 {rec['sha256'][:12]}…")
    if rec["bytes_resumed"]:
        pieces.append(f"(resumed: {format_bytes(rec['bytes_resumed'])} were already stored)")
    if rec["player_url"] and rec["status"] in ("playable", "ready"):
        pieces.append(f"play: {rec['player_url']}")
    return "  ".join(p for p in pieces if p)


def failure_line(result: UploadResult) -> str:
    message = result.message or result.error or "failed"
    where = "" if message.startswith(result.filename) else f"{result.file}: "
    return f"framegate: {where}{message} [{result.error}]"


def _local_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


VERSION_COLUMNS = ("ASSET", "VERSION", "STATUS", "FRAMES", "FPS", "TIMECODE", "DURATION", "SIZE", "UPLOADED",
                   "SHA256")


def version_row(version: dict) -> list[str]:
    f = version_fields(version)
    return [
        f["asset"] or "-", f"v{f['version']}", f["status"] or "-",
        "-" if f["frames"] is None else str(f["frames"]), format_fps(f["fps"]),
        f["start_timecode"] or "-", format_duration(f["duration"]), format_bytes(f["size"]),
        _local_time(f["created_at"]), (f["sha256"] or "-")[:12],
    ]


def table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in [list(header), *rows])


def _json_line(data: dict, out: TextIO) -> None:
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class WaitReporter:
    """Shows a waited-for version's transcode on stderr: a status line per change
    and, on a terminal, the percentage redrawn in place."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.seen: dict[str, tuple] = {}
        self.live = self.stream.isatty()

    def __call__(self, version: dict) -> None:
        status, percent = version.get("status"), version.get("progress")
        name = f"{version.get('asset_name')} v{version.get('number')}"
        previous = self.seen.get(version.get("id"))
        self.seen[version.get("id")] = (status, percent)
        if self.live and status in ("transcoding", "playable") and percent is not None:
            print(f"\r{name}: {status} {percent:5.1f}%", end="", file=self.stream, flush=True)
        elif previous is None or previous[0] != status:
            end = "\n"
            if self.live and previous and previous[0] in ("transcoding", "playable"):
                print(file=self.stream)
            detail = f" {percent:.0f}%" if status in ("transcoding", "playable") and percent is not None else ""
            print(f"{name}: {status}{detail}", end=end, file=self.stream, flush=True)


# Commands -------------------------------------------------------------------------

def _stack_call(name: str, *args):
    # Imported on use: the stack module manages processes the other commands never need.
    stack = importlib.import_module("framegate.stack")
    try:
        return getattr(stack, name)(*args)
    except getattr(stack, "StackError", ()) as err:
        raise FramegateError(str(err)) from None


def cmd_up(args: argparse.Namespace) -> int:
    _stack_call("up", args.data, args.port_base)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _stack_call("down", args.data)
    return 0


def status_lines(state: dict) -> list[str]:
    """One line per component: name, state, port, pid, note."""
    lines = []
    for name, info in state.items():
        if not isinstance(info, dict):
            lines.append(f"{name:<18} {info}")
            continue
        label = str(info.get("state", "?"))
        if info.get("state") == "running" and info.get("healthy") is False:
            label += " (not answering)"
        pid = f"pid {info['pid']}" if info.get("pid") else ""
        note = f"  [{info['note']}]" if info.get("note") else ""
        lines.append(f"{name:<18} {label:<26} {str(info.get('port') or '-'):<6} {pid}{note}".rstrip())
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    state = _stack_call("status", args.data)
    if args.json:
        _json_line(state, sys.stdout)
    else:
        print("\n".join(status_lines(state)))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run one more transcode worker in the foreground (Ctrl-C or SIGTERM finishes its job first)."""
    env = dict(os.environ)
    env_file = args.data / "stack.env"
    if "FRAMEGATE_AMQP_URL" not in env and env_file.exists():
        # On the machine of a local stack: its settings; elsewhere set FRAMEGATE_* yourself.
        env.update(importlib.import_module("framegate.stack").read_env_file(env_file))
    if "FRAMEGATE_AMQP_URL" not in env:
        raise FramegateError(f"no FRAMEGATE_AMQP_URL and no stack in {args.data}: set the FRAMEGATE_* settings")
    celery = Path(sys.executable).with_name("celery")
    argv = [str(celery), "-A", "services.transcode.tasks", "worker", "-Q", "transcode", "--pool", "threads",
            "--concurrency", "1", "--prefetch-multiplier", "1", "-n", f"{args.name}@%h", "--loglevel", "INFO"]
    if args.ops_port:
        env["FRAMEGATE_OPS_PORT"] = str(args.ops_port)
    os.execve(str(celery), argv, env)
    return 0  # not reached


def cmd_login(args: argparse.Namespace) -> int:
    saved = config.read_config(config.config_path())
    url = (args.url or os.environ.get("FRAMEGATE_URL") or saved.get("url") or config.default_url()).rstrip("/")
    email = args.email or saved.get("email")
    if not email:
        if args.password_stdin:
            raise FramegateError("--email is needed with --password-stdin")
        email = input("email: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {email} at {url}: ")
    if not password:
        raise FramegateError("no password given")
    answer = ApiClient(url).login(email, password)
    path = config.save_credentials(url, answer["token"], email)
    role = (answer.get("user") or {}).get("role")
    print(f"signed in to {url} as {email}" + (f" ({role})" if role else "") + f"; token saved in {path}")
    if os.environ.get("FRAMEGATE_TOKEN"):
        _note("note: FRAMEGATE_TOKEN is set and overrides the saved token; unset it to use this sign-in")
    return 0


def cmd_projects(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.projects_command == "create":
        if args.workflow:  # an unknown template is refused before anything is created
            cli_approval.template(client, args.workflow)
        project, created = client.create_project(args.name)
        if args.workflow:
            cli_approval.set_workflow(client, project["id"], args.workflow)
            project = {**project, "workflow": args.workflow}
        if args.json:
            _json_line({**project, "created": created}, sys.stdout)
        else:
            print(f"{'created' if created else 'exists'}: {project['name']}  {project['id']}")
        return 0
    projects = client.projects()
    if args.json:
        for project in projects:
            _json_line(project, sys.stdout)
    elif projects:
        print(table(("NAME", "ID", "CREATED"),
                    [[p["name"], p["id"], _local_time(p.get("created_at"))] for p in projects]))
    else:
        _note("no projects yet: `framegate projects create NAME` or `framegate upload FILE --project NAME`")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.users_command == "add":
        user = client.create_user(args.email, args.name, args.role)
        if args.json:
            _json_line(user, sys.stdout)
        else:
            print(f"created {user['role']} {user['email']}  password: {user['password']}  "
                  "(shown once: pass it on; they can change it with `framegate passwd`)")
        return 0
    if args.users_command in ("disable", "enable"):
        user = client.set_user_disabled(client.user_by_email(args.email)["id"], args.users_command == "disable")
        print(f"{user['email']}: {'disabled; every token and session of it is revoked' if user['disabled'] else 'enabled'}")
        return 0
    if args.users_command == "reset-password":
        user = client.reset_password(client.user_by_email(args.email)["id"])
        print(f"{user['email']}  new password: {user['password']}  "
              "(shown once: pass it on; their tokens and sessions are revoked)")
        return 0
    users = client.users()
    if args.json:
        for user in users:
            _json_line(user, sys.stdout)
    else:
        print(table(("E-MAIL", "NAME", "ROLE", "STATUS"),
                    [[u["email"], u["name"], u["role"], "disabled" if u.get("disabled") else "active"] for u in users]))
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.tokens_command == "revoke":
        client.revoke_token(args.id)
        print(f"revoked {args.id}")
        return 0
    tokens = client.tokens()
    if args.json:
        for token in tokens:
            _json_line(token, sys.stdout)
    else:
        print(table(("ID", "NAME", "KIND", "LAST USED", "EXPIRES", ""),
                    [[t["id"], t["name"], t["kind"], _local_time(t.get("last_used_at")),
                      _local_time(t.get("expires_at")), "(this one)" if t["current"] else ""] for t in tokens]))
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    if not args.project:
        raise FramegateError("say which project: framegate members --project NAME [add|set|remove EMAIL]")
    client = ApiClient.from_config()
    project = _project_named(client, args.project)
    if args.members_command == "add":
        member = client.add_member(project["id"], args.email, args.role)
        return _member_done(args, member, f"added {member['email']} to {project['name']} as {member['role']}")
    if args.members_command in ("set", "remove"):
        found = next((m for m in client.members(project["id"]) if (m["email"] or "").lower() == args.email.lower()), None)
        if found is None:
            raise FramegateError(f"{args.email} is not a member of {project['name']!r} (framegate members --project ...)")
        if args.members_command == "remove":
            client.remove_member(project["id"], found["user_id"])
            return _member_done(args, {**found, "removed": True}, f"removed {found['email']} from {project['name']}")
        member = client.set_member_role(project["id"], found["user_id"], args.role)
        return _member_done(args, member, f"{member['email']} is now {member['role']} in {project['name']}")
    members = client.members(project["id"])
    if args.json:
        for member in members:
            _json_line(member, sys.stdout)
    else:
        print(table(("E-MAIL", "NAME", "ROLE", "ADDED"),
                    [[m["email"] or m["user_id"], m["name"] or "", m["role"], _local_time(m.get("added_at"))]
                     for m in members]))
    return 0


def _member_done(args: argparse.Namespace, member: dict, line: str) -> int:
    if args.json:
        _json_line(member, sys.stdout)
    else:
        print(line)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.password_stdin:
        current, new = (sys.stdin.readline().rstrip("\n") for _ in range(2))
    else:
        current = getpass.getpass("Current password: ")
        new = getpass.getpass("New password (12 characters or more): ")
        if getpass.getpass("New password again: ") != new:
            raise FramegateError("the two new passwords differ; nothing changed")
    client.change_password(current, new)
    _note("password changed; your other sessions and tokens are signed out")
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    if args.parallel < 1:
        raise FramegateError("--parallel must be at least 1")
    local_files(args.files)  # every path checked before anything is sent or created
    client = ApiClient.from_config()
    project, created = client.ensure_project(args.project)
    if created:
        _note(f"created project {project['name']!r}")
    results = []
    for result in iter_uploads(client, project["id"], args.files, asset=args.asset, parallel=args.parallel,
                               retries=args.retries, progress_for=progress_for, notify=_note):
        results.append(result)
        if not args.wait:
            _report(result, args.json)
    if args.wait:
        wait_for_results(client, results, timeout=args.timeout, on_update=WaitReporter())
        for result in results:
            _report(result, args.json)
    failed = [r for r in results if not r.ok]
    if len(results) > 1 and not args.json:
        _note(f"{len(results) - len(failed)} of {_plural(len(results), 'file')} uploaded"
              + (f", {len(failed)} failed" if failed else ""))
    return EXIT_FAILED if failed else 0


def _report(result: UploadResult, as_json: bool) -> None:
    if as_json:
        _json_line(result.record(), sys.stdout)
    elif result.ok:
        print(upload_line(result), flush=True)
    if not result.ok:
        _note(failure_line(result))


def _project_named(client: ApiClient, name: str) -> dict:
    projects = client.projects()
    found = next((p for p in projects if p["name"] == name), None)
    if found is None:
        names = ", ".join(sorted(p["name"] for p in projects)) or "none yet"
        raise FramegateError(f"no project named {name!r} (projects: {names})")
    return found


def cmd_versions(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    project = _project_named(client, args.project)
    asset_id = None
    if args.asset:
        assets = client.assets(project["id"])
        asset = next((a for a in assets if a["name"] == args.asset), None)
        if asset is None:
            names = ", ".join(sorted(a["name"] for a in assets)) or "none yet"
            raise FramegateError(f"project {args.project!r} has no asset named {args.asset!r} (assets: {names})")
        asset_id = asset["id"]
    versions = client.versions(project["id"], asset_id)
    if args.json:
        for version in versions:
            _json_line(version_fields(version), sys.stdout)
    elif versions:
        print(table(VERSION_COLUMNS, [version_row(v) for v in versions]))
    else:
        _note(f"no versions in {args.project!r} yet: `framegate upload FILE --project {args.project!r}`")
    return 0


# Parsing --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="framegate", description="Framegate: video review from the command line.")
    parser.add_argument("--version", action="version", version=f"framegate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    default_data = Path(os.environ["FRAMEGATE_DATA"]) if os.environ.get("FRAMEGATE_DATA") else config.default_data_dir()

    def stack_command(name: str, help_text: str, handler, port_base: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--data", type=Path, default=default_data, metavar="DIR",
                         help="the stack's data directory (default: $FRAMEGATE_DATA or %(default)s)")
        if port_base:
            sub.add_argument("--port-base", type=int, default=None, metavar="N",
                             help="ports are N + offset (default: $FRAMEGATE_PORT_BASE, else the data "
                                  "directory's, else 18000)")
        sub.set_defaults(handler=handler)
        return sub

    stack_command("up", "start the local stack", cmd_up, port_base=True)
    stack_command("down", "stop the local stack", cmd_down)
    stack_command("status", "show the local stack's processes", cmd_status).add_argument(
        "--json", action="store_true", help="print one JSON object")
    worker = stack_command("worker", "run one more transcode worker in the foreground", cmd_worker)
    worker.add_argument("--name", default=f"worker-{os.getpid()}", help="the worker's name (default: worker-<pid>)")
    worker.add_argument("--ops-port", type=int, default=None, metavar="N", help="serve /healthz and /metrics on N")

    login = commands.add_parser("login", help="sign in and save the token", description="Sign in and save the token.")
    login.add_argument("--url", help="platform URL (default: $FRAMEGATE_URL, the saved URL, or the local stack)")
    login.add_argument("--email")
    login.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    login.set_defaults(handler=cmd_login)

    projects = commands.add_parser("projects", help="list projects, or create one", description="List projects.")
    projects.add_argument("--json", action="store_true", help="one JSON object per line")
    projects_commands = projects.add_subparsers(dest="projects_command", metavar="create NAME")
    create = projects_commands.add_parser("create", help="create a project")
    create.add_argument("name")
    create.add_argument("--workflow", metavar="TEMPLATE", help="its workflow template (default: standard)")
    create.add_argument("--json", action="store_true", help="print the project as JSON")
    projects.set_defaults(handler=cmd_projects)

    users = commands.add_parser("users", help="list users, or add one (admins)", description="List users.")
    users.add_argument("--json", action="store_true", help="one JSON object per line")
    users_commands = users.add_subparsers(dest="users_command", metavar="{add,disable,enable,reset-password} EMAIL")
    add = users_commands.add_parser("add", help="add a user; prints a generated password once")
    add.add_argument("email")
    add.add_argument("--name", default=None)
    add.add_argument("--role", choices=("member", "admin"), default="member")
    add.add_argument("--json", action="store_true", help="print the user (with the password) as JSON")
    for name, help_text in (("disable", "disable a user: refuse their sign-in, revoke every token at once"),
                            ("enable", "let a disabled user sign in again"),
                            ("reset-password", "give a user a new generated password (shown once); revokes their tokens")):
        users_commands.add_parser(name, help=help_text).add_argument("email")
    users.set_defaults(handler=cmd_users)

    members = commands.add_parser(
        "members", help="list a project's members; add, change or remove one (owners, admins)",
        description="List a project's members and their roles (owner, editor, viewer).")
    members.add_argument("--project", help="project name (required; also accepted after the subcommand)")
    members.add_argument("--json", action="store_true", help="one JSON object per line")
    members_commands = members.add_subparsers(dest="members_command", metavar="add|set|remove EMAIL")
    for name, help_text in (("add", "add a user to the project"), ("set", "change a member's role"),
                            ("remove", "remove a member (their playback stops within a minute)")):
        sub = members_commands.add_parser(name, help=help_text)
        sub.add_argument("email")
        if name != "remove":
            sub.add_argument("--role", choices=("owner", "editor", "viewer"), required=name == "set",
                             default="viewer" if name == "add" else None, help="default for add: viewer")
        sub.add_argument("--project", dest="project", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON")
    members.set_defaults(handler=cmd_members)
    tokens = commands.add_parser("tokens", help="list your tokens and sessions, or revoke one",
                                 description="List your tokens and browser sessions.")
    tokens.add_argument("--json", action="store_true", help="one JSON object per line")
    tokens_commands = tokens.add_subparsers(dest="tokens_command", metavar="revoke ID")
    tokens_commands.add_parser("revoke", help="revoke one of your tokens or sessions").add_argument("id")
    tokens.set_defaults(handler=cmd_tokens)

    passwd = commands.add_parser("passwd", help="change your password", description="Change your password.")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the current and the new password, one per line, from standard input")
    passwd.set_defaults(handler=cmd_passwd)

    upload = commands.add_parser(
        "upload", help="upload files as new versions",
        description="Upload files as new versions, resumably: run the same command again after an interruption.")
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.add_argument("--project", required=True, help="project name; created when missing")
    upload.add_argument("--asset", help="asset name for every file (default: each file's name without extension)")
    upload.add_argument("--wait", action="store_true", help="wait until each version is processed")
    upload.add_argument("--timeout", type=float, default=600.0, help="how long --wait waits, in seconds (default 600)")
    upload.add_argument("--json", action="store_true", help="one JSON object per file on stdout, nothing else")
    upload.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL,
                        help=f"parts sent at once per file (default {DEFAULT_PARALLEL})")
    upload.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help=argparse.SUPPRESS)
    upload.set_defaults(handler=cmd_upload)

    versions = commands.add_parser("versions", help="list a project's versions", description="List versions.")
    versions.add_argument("--project", required=True)
    versions.add_argument("--asset")
    versions.add_argument("--json", action="store_true", help="one JSON object per line")
    versions.set_defaults(handler=cmd_versions)
    cli_approval.register(commands)
    cli_links.add_commands(commands)
    cli_notes.add_commands(commands)
    cli_notify.add_commands(commands)
    cli_dashboard.add_commands(commands)
    cli_stills.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "port_base", False) is None and os.environ.get("FRAMEGATE_PORT_BASE"):
        try:
            args.port_base = config.port_base()
        except FramegateError as err:
            parser.error(str(err))
    try:
        return args.handler(args)
    except FramegateError as err:
        _note(f"framegate: {err}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _note("\nframegate: interrupted" + (
            "; run the same command again to resume (parts already sent are kept)" if args.command == "upload"
            else ""))
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
