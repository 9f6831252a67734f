"""Review links from the command line: an owner makes, lists and revokes a
link and reads its access log; a reviewer comments and reads the notes
through the link's URL. Failures exit non-zero with the server's reason."""
from __future__ import annotations

import subprocess
import uuid

from tests import media
from tests.e2e.test_cli import json_lines, run


def test_an_owner_and_a_reviewer_use_a_link_from_the_command_line(media_dir, tmp_path):
    project = f"CLI links {uuid.uuid4().hex[:8]}"  # the test stack's data is kept between runs
    uploaded = run("upload", str(media.make_mov_25_tc(media_dir)),
                   "--project", project, "--asset", "Hero", "--wait", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    version_id = json_lines(uploaded.stdout)[0]["version_id"]

    made = run("link", "create", "--version", version_id, "--kind", "client", "--stage", "First cut",
               "--brief", "Pacing only", "--password", "open sesame", "--domain", "client.example",
               "--expires", "2099-01-01T00:00:00Z", "--json")
    assert made.returncode == 0, made.stderr
    [link] = json_lines(made.stdout)
    assert link["kind"] == "client" and "/l/" in link["url"] and link["expires_at"].startswith("2099-01-01")

    said = run("comment", "--link", link["url"], "--name", "Cleo", "--email", "cleo@client.example",
               "--password", "open sesame", "--frame", "10", "--to", "20", "--text", "Hold longer", "--json")
    assert said.returncode == 0, said.stderr
    [note] = json_lines(said.stdout)
    assert (note["frame"], note["to_frame"], note["timecode"]) == (10, 20, "10:00:00:10")
    reviewer = ("--link", link["url"], "--name", "Cleo", "--email", "cleo@client.example", "--password", "open sesame")
    edited = run("note", "edit", note["note_id"], "--text", "Hold two beats longer", *reviewer, "--json")
    assert edited.returncode == 0, edited.stderr
    assert json_lines(edited.stdout)[0]["text"] == "Hold two beats longer"
    resolved = run("note", "status", note["note_id"], "--status", "resolved", *reviewer, "--json")
    assert resolved.returncode == 0 and json_lines(resolved.stdout)[0]["status"] == "resolved"
    someone_else = run("note", "edit", note["note_id"], "--text", "mine now", "--link", link["url"], "--name", "Dan",
                       "--email", "dan@client.example", "--password", "open sesame")
    assert someone_else.returncode == 1 and "not_your_note" in someone_else.stderr
    outside = run("comment", "--link", link["url"], "--name", "Eve", "--email", "eve@else.example",
                  "--password", "open sesame", "--frame", "1", "--text", "hi")
    assert outside.returncode == 1 and "email_domain_not_allowed" in outside.stderr

    listed = run("notes", "--link", link["url"], "--name", "Cleo", "--email", "cleo@client.example",
                 "--password", "open sesame", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(n["text"], n["author_email"], n["visibility"]) for n in json_lines(listed.stdout)] == [
        ("Hold two beats longer", "cleo@client.example", "client")]

    links = run("link", "list", "--project", project, "--json")
    assert [l["link_id"] for l in json_lines(links.stdout)] == [link["link_id"]]
    pdf = tmp_path / "access.pdf"
    logged = run("access-log", link["link_id"], "--format", "pdf", "-o", str(pdf))
    assert logged.returncode == 0, logged.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "cleo@client.example" in text
    csv_file = tmp_path / "access.csv"
    assert run("access-log", link["link_id"], "--format", "csv", "-o", str(csv_file)).returncode == 0
    assert "Cleo" in csv_file.read_text()

    revoked = run("link", "revoke", link["link_id"], "--json")
    assert revoked.returncode == 0 and json_lines(revoked.stdout)[0]["state"] == "revoked"
    late = run("comment", "--link", link["url"], "--name", "Cleo", "--email", "cleo@client.example",
               "--password", "open sesame", "--frame", "1", "--text", "too late")
    assert late.returncode == 1 and "link_revoked" in late.stderr
    forged = run("notes", "--link", link["url"][:-4] + "AAAA", "--name", "X", "--email", "x@client.example")
    assert forged.returncode == 1 and "unknown_link" in forged.stderr
