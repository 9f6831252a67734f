"""`framegate dashboard` shows the board: a table, or one JSON object per
production with the fields scripts rely on; bad filters exit non-zero."""
from __future__ import annotations

import uuid

from tests import media
from tests.e2e.test_cli import json_lines, run
from tests.integration.waiting import wait_until

FIELDS = {"project_id", "name", "stage", "state", "open_notes", "pending_approvers", "last_activity"}


def test_the_board_from_the_command_line(media_dir):
    project = f"CLI board {uuid.uuid4().hex[:8]}"
    uploaded = run("upload", str(media.make_mov_25_tc(media_dir)),
                   "--project", project, "--asset", "Hero", "--wait", "--json")
    assert uploaded.returncode == 0, uploaded.stderr

    def shown():
        board = run("dashboard", "--json")
        assert board.returncode == 0, board.stderr
        rows = [r for r in json_lines(board.stdout) if r["name"] == project]
        return rows[0] if rows and rows[0]["last_activity"] else None

    row = wait_until(shown, 60, "the new production on the board")
    assert set(row) == FIELDS
    assert (row["state"], row["open_notes"], row["pending_approvers"]) == ("in production", 0, [])

    table = run("dashboard", "--sort", "name")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["PRODUCTION", "STAGE", "STATE"]
    assert any(line.startswith(project) and "in production" in line for line in table.stdout.splitlines())

    refused = run("dashboard", "--state", "lost")
    assert refused.returncode != 0 and "invalid_state" in refused.stderr
