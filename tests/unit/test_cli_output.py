"""What the CLI prints: JSON lines, the human upload line, the versions table (pure)."""
import json

from framegate import cli
from framegate.batch import UploadResult, version_fields
from framegate.transfer import TransferResult

REQUIRED = {"file", "project_id", "asset_id", "version_id", "version", "status", "error", "sha256", "frames",
            "fps", "start_timecode", "duration"}
SHA = "ab12cd34ef56" + "0" * 52

VERSION = {
    "id": "v1", "project_id": "p1", "asset_id": "a1", "asset_name": "Hero 60s", "number": 2,
    "status": "uploaded", "filename": "Hero 60s.mov", "size": 2_500_000_000, "sha256": SHA,
    "created_at": "2025-11-26T19:37:12Z", "created_by": "u1",
    "facts": {"frames": 1440, "fps": "24000/1001", "fps_float": 23.976023976023978, "drop_frame": False,
              "start_timecode": "01:00:00:00", "duration": 60.06, "kind": "video"},
}


def uploaded() -> UploadResult:
    result = UploadResult("media/Hero 60s.mov", "Hero 60s.mov", "p1", 2_500_000_000, upload_id="up1",
                          asset_id="a1", asset_name="Hero 60s", version=VERSION, sha256=SHA)
    result.transfer = TransferResult(SHA, 2_500_000_000, 1_500_000_000, 1_000_000_000, [3, 4], [1, 2], 12.0)
    return result


def refused() -> UploadResult:
    return UploadResult("notes.txt", "notes.txt", "p1", 12).fail(
        "not_media", "notes.txt: not a video, audio or image file")


def test_an_uploaded_file_as_json():
    record = uploaded().record()
    assert REQUIRED <= set(record)
    assert record | {} == record and json.loads(json.dumps(record)) == record
    assert {k: record[k] for k in REQUIRED} == {
        "file": "media/Hero 60s.mov", "project_id": "p1", "asset_id": "a1", "version_id": "v1", "version": 2,
        "status": "uploaded", "error": None, "sha256": SHA, "frames": 1440, "fps": 23.976023976023978,
        "start_timecode": "01:00:00:00", "duration": 60.06,
    }
    assert (record["fps_rational"], record["bytes_sent"], record["bytes_resumed"]) == ("24000/1001", 1_500_000_000,
                                                                                        1_000_000_000)


def test_a_failed_file_as_json_has_nulls_where_unknown():
    record = refused().record()
    assert REQUIRED <= set(record)
    assert record["status"] == "failed" and record["error"] == "not_media"
    assert record["message"] == "notes.txt: not a video, audio or image file"
    assert all(record[k] is None for k in ("asset_id", "version_id", "version", "sha256", "frames", "fps",
                                           "start_timecode", "duration"))
    assert record["project_id"] == "p1"


def test_the_human_line():
    line = cli.upload_line(uploaded())
    assert line == ("Hero 60s  v2  uploaded  1440 frames @ 23.976  TC 01:00:00:00  sha256 ab12cd34ef56…  "
                    "(resumed: 1.0 GB were already stored)")


def test_the_human_line_for_audio_shows_the_duration():
    result = uploaded()
    result.transfer = None
    result.version = {**VERSION, "facts": {"duration": 30.0, "kind": "audio"}}
    assert cli.upload_line(result) == "Hero 60s  v2  uploaded  0:30.00  sha256 ab12cd34ef56…"


def test_json_mode_prints_one_line_per_file_and_nothing_else_on_stdout(capsys):
    cli._report(uploaded(), as_json=True)
    cli._report(refused(), as_json=True)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2 and [json.loads(line)["file"] for line in lines] == ["media/Hero 60s.mov", "notes.txt"]
    assert err == "framegate: notes.txt: not a video, audio or image file [not_media]\n"


def test_human_mode_puts_failures_on_stderr(capsys):
    cli._report(uploaded(), as_json=False)
    cli._report(refused(), as_json=False)
    out, err = capsys.readouterr()
    assert out.startswith("Hero 60s  v2  uploaded") and out.count("\n") == 1
    assert "not a video" in err


def test_version_fields_flatten_facts_with_nulls_for_the_unknown():
    fields = version_fields({"id": "v9", "number": 1, "status": "uploaded", "facts": {}})
    assert fields["version_id"] == "v9" and fields["frames"] is None and fields["fps"] is None
    assert version_fields(VERSION)["fps"] == 23.976023976023978


def test_versions_table():
    text = cli.table(cli.VERSION_COLUMNS, [cli.version_row(VERSION), cli.version_row({**VERSION, "number": 10})])
    header, first, second = text.splitlines()
    assert header.split() == ["ASSET", "VERSION", "STATUS", "FRAMES", "FPS", "TIMECODE", "DURATION", "SIZE",
                              "UPLOADED", "SHA256"]
    assert first.startswith("Hero 60s  v2 ")
    for piece in ("uploaded", "1440", "23.976", "01:00:00:00", "1:00.06", "2.5 GB", "2025-11-2", "ab12cd34ef56"):
        assert piece in first
    assert first.index("uploaded") == second.index("uploaded")  # columns line up


def test_stack_status_lines():
    lines = cli.status_lines({
        "nginx": {"state": "running", "pid": 42, "port": 18080, "healthy": True},
        "ingest": {"state": "running", "pid": 43, "port": 18101, "healthy": False},
        "s3": {"state": "stopped", "pid": None, "port": None, "healthy": False, "note": "no stack here yet"},
    })
    assert lines[0].split() == ["nginx", "running", "18080", "pid", "42"]
    assert "running (not answering)" in lines[1]
    assert lines[2].endswith("[no stack here yet]")
