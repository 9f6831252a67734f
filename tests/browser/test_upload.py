"""Uploading from the project page in a real headless Chromium: many files in
one batch straight to the object store (through its public endpoint, another
origin that answers CORS), per-file progress, the whole file's SHA-256 computed
in the page, errors from the server per file, new versions in the list, and
resuming an interrupted upload without sending its stored parts again."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import media
from tests.browser.conftest import sign_in
from tests.conftest import add_member
from tests.integration.uploading import file_sha256, put_parts

SCREENSHOTS = Path("/tmp")


@pytest.fixture
def signed_in_api(api_url, reviewer):
    """The reviewer's own API token: uploads resume per user, so the page and this
    client must be the same person."""
    email, password = reviewer
    response = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return session


@pytest.fixture
def empty_project(admin, reviewer):
    response = admin.post("/api/v1/projects", json={"name": f"Uploads {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    add_member(admin, response.json()["id"], reviewer[0], "editor")
    return response.json()


def page_fingerprint(path: Path) -> str:
    """What upload.js sends: sha256 of "name|size|lastModified" (File.lastModified is the mtime in ms)."""
    st = path.stat()
    return hashlib.sha256(f"{path.name}|{st.st_size}|{st.st_mtime_ns // 1_000_000}".encode()).hexdigest()


def whole_second_mtime(path: Path) -> Path:
    """Give the file a whole-second mtime, so the page's lastModified (ms) is exact."""
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path


def item_row(page, name: str):
    return page.locator(f'#upload-list li[data-filename="{name}"]')


def storage_puts(page, settings) -> list[str]:
    """URLs of the part PUTs the page sends to the object store's public endpoint."""
    puts: list[str] = []
    host = settings.s3_public_endpoint
    page.on("request", lambda r: r.method == "PUT" and f"//{host}/" in r.url and puts.append(r.url))
    return puts


def test_upload_two_media_files_and_a_text_file_from_the_page(page, reviewer, empty_project, media_dir, settings,
                                                              api_url, signed_in_api, tmp_path):
    project_path = f"/projects/{empty_project['id']}"
    sign_in(page, *reviewer, next_path=project_path)
    files = [media.make_h264_2398(media_dir), media.make_mov_25_tc(media_dir), media.make_text(media_dir)]
    puts = storage_puts(page, settings)

    page.fill("#upload-asset", "")
    page.set_input_files("#upload-files", [str(f) for f in files])
    for f in files[:2]:
        row = item_row(page, f.name)
        row.locator('[data-field="percent"]').filter(has_text="100 %").wait_for(timeout=60_000)
        page.wait_for_selector(f'#upload-list li[data-filename="{f.name}"][data-state="done"]', timeout=60_000)
    bad = item_row(page, "notes.txt")
    page.wait_for_selector('#upload-list li[data-filename="notes.txt"][data-state="failed"]', timeout=60_000)
    assert bad.get_attribute("data-error") == "not_media"
    assert "not_media" in bad.locator('[data-field="message"]').inner_text()
    assert len(puts) == 3  # one part each, the text file's too (refused only on completion)

    # Both versions show up in the list without a reload, with their numbers.
    for f in files[:2]:
        page.wait_for_selector(f'#versions tr:has-text("{f.name}")', timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "upload-finished.png"), full_page=True)
    versions = signed_in_api.get(f"{api_url}/api/v1/projects/{empty_project['id']}/versions", timeout=30).json()["versions"]
    by_name = {v["filename"]: v for v in versions}
    assert set(by_name) == {files[0].name, files[1].name}
    for f in files[:2]:
        version = by_name[f.name]
        assert version["number"] == 1
        assert version["asset_name"] == f.stem  # no asset name given: each file's stem
        assert version["sha256"] == file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
        row = page.locator(f'#versions tr[data-version-id="{version["id"]}"]')
        assert "v1" in row.inner_text()
        assert item_row(page, f.name).get_attribute("data-version-id") == version["id"]

    # The same file again, with an asset name: version 2 of that asset, shown in its section.
    again = tmp_path / files[0].name
    shutil.copyfile(files[0], again)
    page.fill("#upload-asset", files[0].stem)
    page.set_input_files("#upload-files", [str(again)])
    page.wait_for_selector(f'#upload-list li[data-filename="{again.name}"][data-state="done"] >> nth=0', timeout=60_000)
    section = page.locator(f'section.asset:has(h2:text-is("{files[0].stem}"))')
    section.locator('tr:has-text("v2")').wait_for(timeout=30_000)
    assert [t.strip() for t in section.locator("tbody tr td:nth-child(2)").all_inner_texts()] == ["v1", "v2"]
    # ...and the list follows its transcode (lists.js polls): its status moves past `uploaded`.
    page.wait_for_function(
        """() => [...document.querySelectorAll('#versions [data-field="status"]')]
                 .every(s => s.textContent !== 'uploaded')""", timeout=120_000)
    assert not [m for m in page.console_messages if "pageerror" in m or "Content Security Policy" in m]


def test_choosing_the_same_file_again_resumes_without_resending_stored_parts(page, reviewer, empty_project, media_dir,
                                                                              settings, api_url, signed_in_api,
                                                                              tmp_path):
    big = whole_second_mtime(Path(shutil.copyfile(media.make_large_avi(media_dir), tmp_path / "large.avi")))
    size = big.stat().st_size
    # An earlier attempt stored part 1 and was interrupted (same user, same fingerprint as the page's).
    started = signed_in_api.post(f"{api_url}/api/v1/uploads", timeout=30, json={
        "project_id": empty_project["id"],
        "files": [{"filename": big.name, "size": size, "fingerprint": page_fingerprint(big)}]})
    assert started.status_code == 201, started.text
    item = started.json()["uploads"][0]
    assert item["part_count"] >= 2, item
    put_parts(item, big, only={1})
    first_part = item["part_size"]

    project_path = f"/projects/{empty_project['id']}"
    sign_in(page, *reviewer, next_path=project_path)
    puts = storage_puts(page, settings)
    # A slow uplink (Chromium's own throttling, CORS untouched), so the screenshot catches the bar moving.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": 1024 * 1024})
    page.set_input_files("#upload-files", [str(big)])
    row = item_row(page, big.name)
    page.wait_for_selector(f'#upload-list li[data-filename="{big.name}"][data-state="sending"]', timeout=30_000)
    page.wait_for_function("""(name) => {
        const li = document.querySelector(`#upload-list li[data-filename="${name}"]`);
        return li && /B\/s · ETA \d/.test(li.textContent); }""", arg=big.name)  # bytes, a rate and an ETA
    page.screenshot(path=str(SCREENSHOTS / "upload-in-progress.png"), full_page=True)
    page.wait_for_selector(f'#upload-list li[data-filename="{big.name}"][data-state="done"]', timeout=120_000)
    assert row.locator('[data-field="percent"]').inner_text() == "100 %"

    # Only the parts the server lacked went out: the bytes after part 1.
    numbers = sorted(int(parse_qs(urlsplit(p).query)["partNumber"][0]) for p in puts)
    assert numbers == list(range(2, item["part_count"] + 1)), puts
    assert sum(min(n * first_part, size) - (n - 1) * first_part for n in numbers) == size - first_part
    version_id = row.get_attribute("data-version-id")
    version = signed_in_api.get(f"{api_url}/api/v1/versions/{version_id}", timeout=30).json()
    assert version["sha256"] == file_sha256(big) and version["size"] == size and version["number"] == 1
    page.wait_for_selector(f'#versions tr[data-version-id="{version_id}"]', timeout=30_000)



def test_dropping_files_on_the_upload_area_uploads_them(page, reviewer, empty_project, media_dir, api_url,
                                                         signed_in_api):
    clip = media.make_wav_stereo(media_dir)
    sign_in(page, *reviewer, next_path=f"/projects/{empty_project['id']}")
    page.fill("#upload-asset", "Dropped mix")
    page.evaluate("""([name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { lastModified: 1700000000000 }));
        const zone = document.getElementById("upload-drop");
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", [clip.name, base64.b64encode(clip.read_bytes()).decode()])
    page.wait_for_selector(f'#upload-list li[data-filename="{clip.name}"][data-state="done"]', timeout=60_000)
    page.locator('section.asset:has(h2:text-is("Dropped mix")) tr:has-text("v1")').wait_for(timeout=30_000)
    [version] = signed_in_api.get(f"{api_url}/api/v1/projects/{empty_project['id']}/versions",
                                  timeout=30).json()["versions"]
    assert version["asset_name"] == "Dropped mix" and version["sha256"] == file_sha256(clip)
