"""`framegate workflow|gate|submit|stage|advance|approve|certificate`: the
approval API from the command line. Results on stdout (a line, a table or
JSON); errors on stderr with a non-zero exit."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests

from framegate.client import ApiClient, Unreachable, error_from_response, unreachable_message
from framegate.config import FramegateError

A = "/api/v1/approval"


def _json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _project_id(client: ApiClient, name: str) -> str:
    project = client.project_named(name)
    if project is None:
        raise FramegateError(f"no project named {name!r} (`framegate projects` lists them)")
    return project["id"]


def _raw(client: ApiClient, method: str, path: str, signed_in: bool = True, **kwargs) -> requests.Response:
    """A call whose body is not JSON (a PDF going out or coming back)."""
    headers = {"Authorization": f"Bearer {client.token}"} if signed_in and client.token else {}
    try:
        resp = client.session.request(method, client.url + path, headers=headers, timeout=client.timeout, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise Unreachable(unreachable_message(client.url, err)) from None
    if resp.status_code >= 400:
        raise error_from_response(resp, signed_in=signed_in, token_source=client.token_source)
    return resp


def template(client: ApiClient, name: str) -> dict:
    return client.request("GET", f"{A}/templates/{name}")


def set_workflow(client: ApiClient, project_id: str, template: str) -> dict:
    return client.request("PUT", f"{A}/projects/{project_id}/workflow", json={"template": template})


def parse_path(text: str) -> dict:
    """`legal=a@x.com,b@y.com` or `legal=a@x.com,b@y.com:any` (rule after a colon)."""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise FramegateError(f"--path {text!r}: write NAME=EMAIL,EMAIL[:RULE]")
    approvers, _, rule = rest.partition(":")
    return {"name": name, "approvers": [a for a in approvers.split(",") if a], "rule": rule or "all"}


def stage_lines(stage: dict) -> list[str]:
    """`client-rough-cut  open  v3  rule all` then one line per approver."""
    head = [stage["stage"], stage["status"], f"v{stage['version_number']}" if stage.get("version_number") else "",
            f"rule {stage['rule']}" if stage.get("rule") else "", f"gate {stage['gate_id']}"]
    lines = ["  ".join(p for p in head if p)]
    for a in stage["approvers"]:
        lines.append(f"  {a['email']}  {a['decision'] or 'pending'}" + (f"  ({a['reason']})" if a.get("reason") else ""))
    if stage.get("certificate_id"):
        lines.append(f"  certificate {stage['certificate_id']}")
    return lines


def cmd_workflow(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.workflow_command == "show":
        shown = template(client, args.name)
        if args.json:
            _json(shown)
        else:
            print(f"{shown['name']}: {shown['title']}")
            for i, stage in enumerate(shown["stages"], 1):
                print(f"  {i:2}. {stage['name']}  {stage['title']}")
        return 0
    if args.workflow_command == "set":
        result = set_workflow(client, _project_id(client, args.project), args.name)
        _json(result) if args.json else print(f"{args.project}: workflow {result['template']}")
        return 0
    templates = client.request("GET", f"{A}/templates")["templates"]
    for t in templates:
        _json(t) if args.json else print(f"{t['name']}  {t['stages']} stages  {t['title']}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    main = {"name": "main", "approvers": args.approver or [], "rule": args.rule, "sequential": args.sequential}
    paths = ([main] if args.approver else []) + [parse_path(p) for p in args.path or []]
    if not paths:
        raise FramegateError("give --approver EMAIL... and/or --path NAME=EMAIL,EMAIL")
    body = {"paths": paths, "scope": args.scope or ""}
    stage = client.request("PUT", f"{A}/projects/{_project_id(client, args.project)}/stages/{args.stage}/gate",
                           json=body)
    _json(stage) if args.json else print("\n".join(stage_lines(stage)))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    stage = client.request("POST", f"{A}/projects/{_project_id(client, args.project)}/submit",
                           json={"version_id": args.version})
    _json(stage) if args.json else print("\n".join(stage_lines(stage)))
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    stage = client.request("GET", f"{A}/projects/{_project_id(client, args.project)}/stage",
                           params={"stage": args.stage} if args.stage else None)
    _json(stage) if args.json else print("\n".join(stage_lines(stage)))
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    workflow = client.request("POST", f"{A}/projects/{_project_id(client, args.project)}/advance")
    _json(workflow) if args.json else print(f"{args.project}: at stage {workflow['current_stage'] + 1} "
                                            f"of {len(workflow['stages'])}")
    return 0


def decide_through_link(args: argparse.Namespace) -> dict:
    """As a reviewer without an account: open the link (name, e-mail), then decide on its version."""
    from framegate.cli_links import reviewer_client

    if not (args.name and args.email):
        raise FramegateError("--link needs --name and --email (the e-mail must be an approver of the gate)")
    client, token = reviewer_client(args.link)
    opened = client.open_link(token, args.name, args.email, args.password)
    return client.request("POST", f"/api/v1/review/link-sessions/{opened['link_id']}/decision", signed_in=False,
                          json={"decision": args.decision, "reason": args.reason or ""})


def cmd_approve(args: argparse.Namespace) -> int:
    if args.link:
        result = decide_through_link(args)
    else:
        client = ApiClient.from_config()
        body = {"decision": args.decision, "reason": args.reason or ""}
        if args.version:
            body["version_id"] = args.version
        result = client.request("POST", f"{A}/gates/{args.gate}/decisions", json=body)
    if args.json:
        _json(result)
    else:
        d = result["decision"]
        print(f"{'recorded' if result['created'] else 'already recorded'}: {d['email']} {d['decision']} "
              f"v{d['version_number']} at {d['decided_at']}")
        print("\n".join(stage_lines(result["stage"])))
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    """`archive PROJECT` freezes it; `archive export PROJECT -o FILE.zip` writes its bundle."""
    if args.words[0] == "export" and len(args.words) == 2:
        from framegate.archive_export import export_project

        if not args.output:
            raise FramegateError("archive export PROJECT needs -o FILE.zip")
        info = export_project(ApiClient.from_config(), args.words[1], Path(args.output))
        _json(info) if args.json else print(f"{args.words[1]}: archive written to {args.output} "
                                            f"({info['versions']} versions, {info['certificates']} certificates)")
        return 0
    if len(args.words) != 1:
        raise FramegateError("usage: framegate archive PROJECT | framegate archive export PROJECT -o FILE.zip")
    client = ApiClient.from_config()
    result = client.request("POST", f"{A}/projects/{_project_id(client, args.words[0])}/archive")
    archived = result["archived"]
    _json(result) if args.json else print(f"{args.words[0]}: archived {archived['archived_at']} "
                                          f"by {archived['archived_by']}; read-only, its links expired")
    return 0


def cmd_certificate(args: argparse.Namespace) -> int:
    client = ApiClient.from_config()
    if args.certificate_command == "get":
        resp = _raw(client, "GET", f"{A}/gates/{args.gate}/certificate")
        Path(args.output).write_bytes(resp.content)
        info = {"certificate_id": resp.headers.get("X-Certificate-Id"), "file": str(args.output),
                "bytes": len(resp.content)}
        _json(info) if args.json else print(f"certificate {info['certificate_id']} written to {args.output}")
        return 0
    pdf = Path(args.file).read_bytes() if Path(args.file).is_file() else None
    if pdf is None:
        raise FramegateError(f"{args.file}: no such file")
    result = _raw(client, "POST", f"{A}/certificates/verify", signed_in=False,
                  files={"file": (Path(args.file).name, pdf, "application/pdf")}).json()
    if args.json:
        _json(result)
    else:
        print(f"{'VALID' if result['valid'] else 'NOT VALID'}: {args.file}"
              + (f" (certificate {result['certificate_id']})" if result.get("certificate_id") else ""))
        for reason in result["reasons"]:
            print(f"  {reason}")
    return 0 if result["valid"] else 1


def register(commands) -> None:
    """Add the approval commands to `framegate`'s sub-command parser."""
    def json_flag(parser):
        parser.add_argument("--json", action="store_true", help="print JSON")

    workflow = commands.add_parser("workflow", help="workflow templates; a project's template",
                                   description="List workflow templates, show one, or set a project's.")
    json_flag(workflow)
    sub = workflow.add_subparsers(dest="workflow_command", metavar="list | show NAME | set PROJECT NAME")
    json_flag(sub.add_parser("list", help="list templates"))
    show = sub.add_parser("show", help="show a template's stages")
    show.add_argument("name")
    json_flag(show)
    set_ = sub.add_parser("set", help="pick a project's template (before its first stage starts)")
    set_.add_argument("project")
    set_.add_argument("name")
    json_flag(set_)
    workflow.set_defaults(handler=cmd_workflow)

    gate = commands.add_parser("gate", help="set a stage's gate", description="Set a stage's gate.")
    gate_sub = gate.add_subparsers(dest="gate_command", metavar="set", required=True)
    gset = gate_sub.add_parser("set", help="approvers, rule and order of a stage's gate")
    gset.add_argument("project")
    gset.add_argument("--stage", required=True)
    gset.add_argument("--approver", nargs="+", metavar="EMAIL", help="e-mails or role:owner|editor|viewer")
    gset.add_argument("--path", action="append", metavar="NAME=EMAIL,EMAIL[:RULE]",
                      help="a parallel path that must close too (legal, brand); repeat for more")
    gset.add_argument("--rule", default="all", help="all, any, or N (N of the approvers)")
    gset.add_argument("--sequential", action="store_true", help="approvers decide in the order given")
    gset.add_argument("--scope", help="what this approval covers (shown on review links and the certificate)")
    json_flag(gset)
    gate.set_defaults(handler=cmd_gate)

    submit = commands.add_parser("submit", help="put a version up for the current stage's gate")
    submit.add_argument("project")
    submit.add_argument("--version", required=True, metavar="VERSION_ID")
    json_flag(submit)
    submit.set_defaults(handler=cmd_submit)

    stage = commands.add_parser("stage", help="the current stage's gate: who approved, who is pending")
    stage.add_argument("project")
    stage.add_argument("--stage", help="another stage than the current one")
    json_flag(stage)
    stage.set_defaults(handler=cmd_stage)

    advance = commands.add_parser("advance", help="move past the current stage (refused while its gate is open)")
    advance.add_argument("project")
    json_flag(advance)
    advance.set_defaults(handler=cmd_advance)

    approve = commands.add_parser("approve", help="decide on a gate, signed in or through a review link")
    where = approve.add_mutually_exclusive_group(required=True)
    where.add_argument("--gate", metavar="GATE_ID", help="signed in")
    where.add_argument("--link", metavar="URL", help="through a review link that allows approving (no account)")
    approve.add_argument("--name", help="with --link: your name")
    approve.add_argument("--email", help="with --link: your e-mail, an approver of the gate")
    approve.add_argument("--password", help="with --link: the link's password, if it has one")
    approve.add_argument("--decision", required=True, choices=("approve", "changes"))
    approve.add_argument("--reason")
    approve.add_argument("--version", metavar="VERSION_ID", help="refuse unless this is the version up for the gate")
    json_flag(approve)
    approve.set_defaults(handler=cmd_approve)

    archive = commands.add_parser(
        "archive", help="freeze a project (read-only, links expired), or export its archive bundle",
        description="framegate archive PROJECT: freeze it. framegate archive export PROJECT -o FILE.zip: "
                    "a bundle that opens offline in a browser.")
    archive.add_argument("words", nargs="+", metavar="PROJECT | export PROJECT")
    archive.add_argument("-o", "--output", metavar="FILE.zip", help="with export: where the bundle goes")
    json_flag(archive)
    archive.set_defaults(handler=cmd_archive)

    certificate = commands.add_parser("certificate", help="get or verify an approval certificate")
    cert_sub = certificate.add_subparsers(dest="certificate_command", metavar="get GATE_ID | verify FILE",
                                          required=True)
    get = cert_sub.add_parser("get", help="download a closed gate's certificate")
    get.add_argument("gate")
    get.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    json_flag(get)
    verify = cert_sub.add_parser("verify", help="check a certificate PDF: valid or not, and why")
    verify.add_argument("file")
    json_flag(verify)
    certificate.set_defaults(handler=cmd_certificate)
