"""`framegate archive export PROJECT -o FILE.zip`: a self-contained bundle of a
production's record that opens offline in a browser from its index.html.

Everything is fetched through the platform's APIs as the signed-in user:
versions (proxy and poster through the CDN's signed URLs), notes (JSON and
PDF), review links' access logs (CSV), every closed gate's certificate, and
the project's decision chain with a page that checks its hashes again in
the browser (chain/verify.html; the same SHA-256 over the same JSON the
approval service computes).
"""
from __future__ import annotations

import html
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import requests

from framegate.client import ApiClient
from framegate.config import FramegateError

A = "/api/v1/approval"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip() or "untitled"


def _cdn_get(client: ApiClient, url_or_path: str) -> bytes | None:
    url = url_or_path if url_or_path.startswith("http") else client.url + url_or_path
    response = client.session.get(url, timeout=client.timeout)
    return response.content if response.status_code == 200 else None


def export_project(client: ApiClient, name: str, output: Path) -> dict:
    """Write the bundle; returns what went in."""
    project = client.project_named(name)
    if project is None:
        raise FramegateError(f"no project named {name!r} (`framegate projects` lists them)")
    pid = project["id"]
    versions = client.request("GET", f"/api/v1/projects/{pid}/versions")["versions"]
    workflow = client.request("GET", f"{A}/projects/{pid}/workflow")
    chain = client.request("GET", f"{A}/projects/{pid}/decisions")
    try:
        links = client.links(pid)
    except FramegateError:
        links = []  # only owners read links and their access logs
    entries: dict[str, bytes] = {}
    shown_versions, shown_stages, shown_links = [], [], []

    for v in sorted(versions, key=lambda v: (v["asset_name"], v["number"])):
        folder = f"versions/{_safe(v['asset_name'])} v{v['number']}"
        item = {"asset": v["asset_name"], "number": v["number"], "sha256": v["sha256"], "filename": v["filename"],
                "status": v["status"], "folder": folder, "proxy": None, "poster": None}
        poster_url = (v.get("playback") or {}).get("poster_url")
        if v["status"] == "ready" and poster_url:
            for kind, file in (("poster", "poster.jpg"), ("proxy", "proxy.mp4")):
                body = _cdn_get(client, poster_url.replace("poster.jpg", file))
                if body is not None:
                    entries[f"{folder}/{file}"] = body
                    item[kind] = f"{folder}/{file}"
        notes = client.request("GET", f"/api/v1/review/versions/{v['id']}/notes")["notes"]
        entries[f"{folder}/notes.json"] = json.dumps(notes, indent=2, ensure_ascii=False).encode()
        item["notes"] = len(notes)
        item["scope_changes"] = sum(n.get("post_approval_scope_change", False) for n in notes)
        if notes:
            entries[f"{folder}/notes.pdf"] = client.request(
                "GET", f"/api/v1/review/versions/{v['id']}/notes/export", params={"format": "pdf"}, raw=True)
        shown_versions.append(item)

    for stage in workflow["stages"]:
        view = client.request("GET", f"{A}/projects/{pid}/stage", params={"stage": stage["name"]})
        item = {"stage": stage["title"], "status": view["status"], "version_number": view.get("version_number"),
                "approvers": view["approvers"], "certificate": None}
        if view["closed"]:
            pdf = client.request("GET", f"{A}/gates/{view['gate_id']}/certificate", raw=True)
            item["certificate"] = f"certificates/{_safe(stage['name'])}-{view['certificate_id']}.pdf"
            entries[item["certificate"]] = pdf
        shown_stages.append(item)

    for link in links:
        path = f"access/{link['link_id']}.csv"
        entries[path] = client.access_log(link["link_id"], "csv")
        shown_links.append({"stage": link["stage"], "kind": link["kind"], "state": link["state"], "log": path})

    entries["chain/decisions.json"] = json.dumps(chain, indent=2, ensure_ascii=False).encode()
    entries["chain/decisions.js"] = ("window.FRAMEGATE_CHAIN = " + json.dumps(chain, ensure_ascii=False)
                                     + ";\n").encode()
    entries["chain/verify.html"] = VERIFY_PAGE.encode()
    made = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    entries["index.html"] = index_page(project["name"], workflow, shown_stages, shown_versions, shown_links,
                                       len(chain["decisions"]), made).encode()
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path, body in entries.items():
            # videos and pictures are compressed already
            kind = zipfile.ZIP_STORED if path.endswith((".mp4", ".jpg", ".pdf")) else zipfile.ZIP_DEFLATED
            bundle.writestr(path, body, compress_type=kind)
    return {"project": project["name"], "file": str(output), "versions": len(shown_versions),
            "certificates": sum(1 for s in shown_stages if s["certificate"]), "decisions": len(chain["decisions"]),
            "access_logs": len(shown_links), "bytes": output.stat().st_size}


def index_page(name: str, workflow: dict, stages: list[dict], versions: list[dict], links: list[dict],
               decisions: int, made: str) -> str:
    e = html.escape
    archived = workflow.get("archived")
    rows = []
    for s in stages:
        who = "<br>".join(f"{e(a['email'])}: {e(a['decision'] or 'pending')}" for a in s["approvers"])
        cert = f'<a href="{e(s["certificate"])}">certificate</a>' if s["certificate"] else ""
        number = f"v{s['version_number']}" if s["version_number"] else ""
        rows.append(f"<tr><td>{e(s['stage'])}</td><td>{e(s['status'])}</td><td>{number}</td>"
                    f"<td>{who}</td><td>{cert}</td></tr>")
    cards = []
    for v in versions:
        media = (f'<video controls preload="metadata" src="{e(v["proxy"])}" poster="{e(v["poster"] or "")}"></video>'
                 if v["proxy"] else (f'<img src="{e(v["poster"])}" alt="poster">' if v["poster"] else ""))
        pdf = f' · <a href="{e(v["folder"])}/notes.pdf">PDF</a>' if v["notes"] else ""
        flagged = f' ({v["scope_changes"]} post-approval scope change)' if v["scope_changes"] else ""
        cards.append(f'<section class="version"><h3>{e(v["asset"])} v{v["number"]}</h3>{media}'
                     f'<p>{e(v["filename"])} · {e(v["status"])}<br><code>sha256 {e(v["sha256"])}</code></p>'
                     f'<p>{v["notes"]} notes{flagged}: <a href="{e(v["folder"])}/notes.json">JSON</a>{pdf}</p>'
                     "</section>")
    logs = "".join(f'<li>{e(l["stage"])} ({e(l["kind"])}, {e(l["state"])}): <a href="{e(l["log"])}">access log</a></li>'
                   for l in links) or "<li>none</li>"
    state = (f"archived {e(archived['archived_at'])} ({e(archived['reason'])})" if archived
             else "not archived when exported")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(name)}: archive</title>
<style>body{{font:15px system-ui,sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
.version{{display:inline-block;width:22em;margin:0 1em 1em 0;vertical-align:top}}
video,img{{width:100%;background:#000}}code{{font-size:11px;word-break:break-all}}</style></head>
<body><h1>{e(name)}</h1>
<p>Workflow {e(workflow.get("template", ""))}, {state}. Exported {e(made)}.</p>
<h2>Stages</h2><table><tr><th>stage</th><th>status</th><th>version</th><th>decisions</th><th></th></tr>
{"".join(rows)}</table>
<h2>Decision record</h2><p>{decisions} decisions, chained by hash:
<a href="chain/verify.html" id="verify">check the chain</a> (<a href="chain/decisions.json">JSON</a>).</p>
<h2>Versions</h2>{"".join(cards)}
<h2>Review links</h2><ul>{logs}</ul>
</body></html>
"""


VERIFY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Decision chain check</title>
<style>body{font:15px system-ui,sans-serif;margin:2em}.ok{color:#060}.bad{color:#a00}
td,th{border:1px solid #ccc;padding:.2em .5em}table{border-collapse:collapse}</style>
<script src="decisions.js"></script></head>
<body><h1>Decision chain check</h1><p id="verdict">Checking…</p>
<table id="rows"><tr><th>#</th><th>stage</th><th>who</th><th>decision</th><th>when</th><th>hash</th></tr></table>
<script>
// The approval service's hash: SHA-256 of the hashed fields as compact JSON with sorted
// keys and non-ASCII escaped (Python's json.dumps(sort_keys=True, separators=(",", ":"))).
function pyJson(value) {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value === undefined ? null : value)
      .replace(/[\\u0080-\\uffff]/g, c => "\\\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }
  if (Array.isArray(value)) return "[" + value.map(pyJson).join(",") + "]";
  return "{" + Object.keys(value).sort().map(k => pyJson(k) + ":" + pyJson(value[k])).join(",") + "}";
}
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, "0")).join("");
}
async function check() {
  const chain = window.FRAMEGATE_CHAIN, problems = [];
  const records = chain.decisions.slice().sort((a, b) => a.chain_n - b.chain_n);
  let prev = "0".repeat(64);
  for (const [i, r] of records.entries()) {
    const body = {};
    for (const k of chain.hashed_fields) body[k] = r[k] === undefined ? null : r[k];
    if (r.link_id) body.link_id = r.link_id;
    const hash = await sha256(pyJson(body));
    if (r.chain_n !== i + 1) problems.push(`decision ${i + 1} is missing`);
    if (r.prev_hash !== prev) problems.push(`decision ${r.chain_n} does not follow the one before`);
    if (hash !== r.hash) problems.push(`decision ${r.chain_n} (${r.email}) was edited after it was recorded`);
    prev = r.hash;
    const row = document.getElementById("rows").insertRow();
    for (const text of [r.chain_n, r.stage, `${r.name} <${r.email}>`, r.decision + (r.reason ? ": " + r.reason : ""),
                        r.decided_at, hash === r.hash ? "ok" : "EDITED"]) row.insertCell().textContent = text;
  }
  const verdict = document.getElementById("verdict");
  verdict.className = problems.length ? "bad" : "ok";
  verdict.textContent = problems.length ? "Chain broken: " + problems.join("; ")
    : `Chain intact: ${records.length} decisions, every hash recomputed here.`;
}
check();
</script></body></html>
"""
