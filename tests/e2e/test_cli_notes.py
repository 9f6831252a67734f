"""The team's notes from the command line, on a real transcoded drop-frame
version (test_notes_flow's): added with their timecode (a retried command adds
nothing), listed as the team sees them, exported to files the editing tools
read back; failures exit non-zero with the API's reason and change nothing.
`framegate notes --link` is test_cli_links's."""
from __future__ import annotations

import csv
import subprocess

from tests.e2e.test_cli import json_lines, run
from tests.e2e.test_notes_flow import otio_marker_timecodes, version  # noqa: F401 (version is a fixture)

NOTE_FIELDS = {"note_id", "frame", "to_frame", "timecode", "text", "author_name", "author_email", "visibility",
               "status", "replies", "drawing"}


def add(version_id: str, *args: str) -> dict:
    result = run("note", "add", version_id, *args, "--json")
    assert result.returncode == 0, result.stderr
    [note] = json_lines(result.stdout)
    return note


def listed(version_id: str) -> dict[str, dict]:
    result = run("notes", version_id, "--json")
    assert result.returncode == 0, result.stderr
    return {n["note_id"]: n for n in json_lines(result.stdout)}


def test_notes_added_from_the_cli_are_listed_as_the_team_sees_them(admin, version):
    vid = version["id"]
    point = add(vid, "--frame", "30", "--text", "Logo too small")
    assert (point["frame"], point["to_frame"], point["timecode"], point["visibility"]) == (
        30, None, "01:01:00;02", "client")  # 01:00:59;00 + 30 frames skips ;00 and ;01
    ranged = add(vid, "--frame", "30", "--to", "40", "--text", "Budget: cut this\nshot", "--internal")
    assert (ranged["frame"], ranged["to_frame"], ranged["timecode"], ranged["visibility"]) == (
        30, 40, "01:01:00;02", "internal")
    assert add(vid, "--frame", "30", "--text", "Logo too small")["note_id"] == point["note_id"]  # the retry
    reply = admin.post(f"/api/v1/review/notes/{point['note_id']}/replies", json={"text": "On it"})
    assert reply.status_code == 201, reply.text

    notes = listed(vid)
    assert all(set(n) == NOTE_FIELDS for n in notes.values())
    assert [n["text"] for n in notes.values()].count("Logo too small") == 1
    me = admin.get("/api/v1/me").json()
    assert {k: notes[point["note_id"]][k] for k in ("frame", "to_frame", "timecode", "text", "author_email",
                                                     "visibility", "status", "drawing")} == {
        "frame": 30, "to_frame": None, "timecode": "01:01:00;02", "text": "Logo too small",
        "author_email": me["email"], "visibility": "client", "status": "open", "drawing": []}
    assert [r["text"] for r in notes[point["note_id"]]["replies"]] == ["On it"]
    internal = notes[ranged["note_id"]]
    assert (internal["to_frame"], internal["text"], internal["visibility"]) == (
        40, "Budget: cut this\nshot", "internal")

    table = run("notes", vid)
    assert table.returncode == 0, table.stderr
    assert "01:01:00;02-01:01:00;12  open  internal" in table.stdout and "Budget: cut this shot" in table.stdout
    assert "reply" in table.stdout and "On it" in table.stdout


def test_every_export_written_by_the_cli_reads_back_at_the_notes_timecodes(version, tmp_path):
    vid = version["id"]
    for frame in (0, 29, 31):
        add(vid, "--frame", str(frame), "--text", f"cli export {frame}")
    want = sorted(n["timecode"] for n in listed(vid).values())
    assert {"01:00:59;00", "01:00:59;29", "01:01:00;03"} <= set(want)

    def export(fmt: str):
        path = tmp_path / f"notes.{fmt}"
        result = run("notes", "export", vid, "--format", fmt, "-o", str(path), "--json")
        assert result.returncode == 0, result.stderr
        assert json_lines(result.stdout) == [
            {"version_id": vid, "format": fmt, "file": str(path), "bytes": path.stat().st_size}]
        return path

    with export("csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["timecode"] for r in rows) == want and "cli export 29" in {r["text"] for r in rows}
    for fmt, adapter in (("otio", "otio_json"), ("fcp7", "fcp_xml")):
        assert otio_marker_timecodes(export(fmt).read_text(), adapter) == want
    edl = export("edl").read_text().splitlines()
    starts = [line.split()[4] for line in edl if line[:3].isdigit()]  # one 1-frame event per marked frame
    assert "FCM: DROP FRAME" in edl and sorted(starts) == sorted(set(want))
    assert len([line for line in edl if "|C:ResolveColor" in line]) == len(starts)
    assert sorted(line.split("\t")[1] for line in export("avid").read_text().splitlines()) == want
    text = subprocess.run(["pdftotext", str(export("pdf")), "-"], capture_output=True, text=True, check=True).stdout
    assert "cli export 29" in text and "01:01:00;03" in text


def test_a_bad_note_or_an_unknown_version_fails_with_the_apis_reason_and_nothing_changes(version, tmp_path):
    vid = version["id"]
    before = listed(vid)
    past = run("note", "add", vid, "--frame", "60", "--text", "past the end")
    assert past.returncode == 1 and past.stdout == ""
    assert "Frame 60 is outside the version (frames 0 to 59). [frame_outside_version]" in past.stderr
    backwards = run("note", "add", vid, "--frame", "40", "--to", "30", "--text", "backwards", "--json")
    assert backwards.returncode == 1 and "[range_backwards]" in backwards.stderr and backwards.stdout == ""
    assert listed(vid).keys() == before.keys()

    out = tmp_path / "never.csv"
    for args in (("note", "add", "no-such-version", "--frame", "1", "--text", "x"), ("notes", "no-such-version"),
                 ("notes", "export", "no-such-version", "--format", "csv", "-o", str(out))):
        result = run(*args)
        assert result.returncode == 1, args
        assert "There is no version 'no-such-version'. [unknown_version]" in result.stderr, args
    assert not out.exists()

    unsaid = run("notes", "export", vid, "--format", "csv")
    assert unsaid.returncode == 2 and "-o FILE" in unsaid.stderr
    assert run("notes").returncode == 2


def test_the_team_edits_and_resolves_a_note_from_the_cli_and_history_keeps_the_old_text(admin, version):
    note = add(version["id"], "--frame", "12", "--text", "Sky too cyan")
    edited = run("note", "edit", note["note_id"], "--text", "Sky too cyan in the wide", "--json")
    assert edited.returncode == 0, edited.stderr
    assert json_lines(edited.stdout)[0] | {"mentions": None} == {
        "note_id": note["note_id"], "text": "Sky too cyan in the wide", "status": "open", "revisions": 2,
        "mentions": None}
    resolved = run("note", "status", note["note_id"], "--status", "resolved")
    assert resolved.returncode == 0 and f"{note['note_id']}  resolved  revision 3" in resolved.stdout
    assert (listed(version["id"])[note["note_id"]]["text"], listed(version["id"])[note["note_id"]]["status"]) == (
        "Sky too cyan in the wide", "resolved")
    history = admin.get(f"/api/v1/review/notes/{note['note_id']}/history").json()["revisions"]
    assert [r["text"] for r in history] == ["Sky too cyan", "Sky too cyan in the wide", "Sky too cyan in the wide"]

    bad = run("note", "status", note["note_id"], "--status", "done")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    unknown = run("note", "edit", "no-such-note", "--text", "x")
    assert unknown.returncode == 1 and "[unknown_note]" in unknown.stderr
    lonely = run("note", "edit", note["note_id"], "--text", "x", "--link", "https://x.example/l/abc")
    assert lonely.returncode == 2 and "--name and --email" in lonely.stderr
