"""The player for every kind of version, in a real headless Chromium against
the real stack and its real transcode worker: sound (a large waveform, and
it plays), stills (the picture at its own proportions, fit or 100 %), the
waveform strip under a video's seek bar (a click seeks to a frame), and a
version watched while it transcodes (it starts playing by itself)."""
from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import add_member
from tests.browser.framecode import _BLOCKS, DECODE_JS, FFMPEG
from tests.integration.uploading import wait_for_status
from tests.integration.uploading import upload

SCREENSHOTS = Path("/tmp")
pytestmark = pytest.mark.slow

# Waveform pixels that are drawn (not transparent), and how many of the
# canvas's pixels they are.
DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0, columns = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) { drawn++; columns.add((i / 4) % canvas.width); }
  }
  return { drawn, columns: columns.size, width: canvas.width, height: canvas.height,
           shown: !canvas.hidden && canvas.clientHeight > 0 };
}"""



def ffmpeg(path: Path, *args: str) -> Path:
    if not path.exists():
        subprocess.run([*FFMPEG, *args, str(path)], check=True, capture_output=True, timeout=300)
    return path


def make_wav(dirpath: Path) -> Path:
    """6 s of a 330 Hz tone whose loudness swells and fades: a waveform with a shape."""
    return ffmpeg(Path(dirpath) / "swell.wav", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=6",
                  "-af", "volume='0.15+0.85*abs(sin(t*1.3))':eval=frame", "-ac", "2", "-c:a", "pcm_s16le")


def make_png(dirpath: Path) -> Path:
    """A 400x300 (4:3) still: not the 16:9 of the frame area."""
    return ffmpeg(Path(dirpath) / "still-4x3.png", "-f", "lavfi", "-i", "testsrc2=size=400x300:rate=1",
                  "-frames:v", "1", "-update", "1")


def make_clip_with_sound(dirpath: Path) -> Path:
    """4 s, 25 fps, every frame's index in its pixels, and a tone that swells."""
    return ffmpeg(Path(dirpath) / "framecode-sound.mp4",
                  "-f", "lavfi", "-i", "color=c=gray:s=640x360:r=25:d=4",
                  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
                  "-vf", f"geq=lum='{_BLOCKS}':cb=128:cr=128",
                  "-af", "volume='0.1+0.9*abs(sin(t*1.6))':eval=frame",
                  "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")


def make_slow_clip(dirpath: Path) -> Path:
    """12 s of UHD: seconds of transcoding before the first segment of every rung."""
    return ffmpeg(Path(dirpath) / "uhd-12s.mp4",
                  "-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=25:duration=12",
                  "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=12",
                  "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p",
                  "-c:a", "aac", "-shortest")


@pytest.fixture(scope="module")
def media_project(admin, reviewer):
    response = admin.post("/api/v1/projects", json={"name": f"Player media {uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    add_member(admin, response.json()["id"], reviewer[0], "viewer")
    return response.json()


def ready_version(admin, project: dict, path: Path) -> dict:
    response = upload(admin, project["id"], path, asset=path.stem)
    assert response.status_code == 201, response.text
    version = wait_for_status(admin, response.json()["id"], {"ready", "failed"})
    assert version["status"] == "ready", version
    return version


def errors_of(page) -> list[str]:
    return [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]


def dataset(page) -> dict:
    return page.evaluate("() => ({ ...document.getElementById('player').dataset })")


def test_a_sound_version_shows_its_waveform_and_plays(page, admin, media_project, media_dir, reviewer):
    version = ready_version(admin, media_project, make_wav(media_dir))
    assert version["facts"]["kind"] == "audio" and version["renditions"]["waveform"]
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    page.wait_for_function("() => document.getElementById('player').dataset.waveform === '1'", timeout=20000)

    # No picture, no frames: a waveform, seconds and the transport.
    assert page.locator("video").count() == 0 and page.locator("#frame").count() == 0
    drawn = page.evaluate(DRAWN, "waveform-large")
    assert drawn["shown"] and drawn["height"] >= 150, drawn
    assert drawn["columns"] > drawn["width"] * 0.9, drawn  # sound all along, not an empty canvas
    assert drawn["drawn"] > drawn["width"] * drawn["height"] * 0.2, drawn

    page.click("#play")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 1.0", timeout=15000)
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-audio.png"))
    page.click("#play")  # pause
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=10000)
    assert page.text_content("#play") == "Play"

    # A click on the waveform at 50 % goes to the middle of the 6 s.
    box = page.locator("#waveform-large").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=10000)
    assert abs(page.evaluate("() => document.getElementById('audio').currentTime") - 3.0) < 0.1
    assert page.text_content("#time").startswith("00:00:03.")

    page.keyboard.press("ArrowRight")  # +1 s
    page.keyboard.press("Shift+ArrowLeft")  # -10 s, stops at the start
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=10000)
    assert page.evaluate("() => document.getElementById('audio').currentTime") < 0.05
    page.keyboard.press("l")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 0.5", timeout=15000)
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=10000)
    assert not errors_of(page), errors_of(page)


def test_a_still_shows_the_picture_at_its_own_proportions(page, admin, media_project, media_dir, reviewer):
    version = ready_version(admin, media_project, make_png(media_dir))
    assert version["facts"]["kind"] == "image"
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=20000)

    # Nothing plays: no media element, no transport.
    assert page.locator("video, audio, #play, #seekbar").count() == 0
    image = page.evaluate("""() => { const i = document.getElementById('still');
      const r = i.getBoundingClientRect(), s = document.getElementById('stage').getBoundingClientRect();
      return { natural: [i.naturalWidth, i.naturalHeight], shown: [r.width, r.height], stage: [s.width, s.height],
               src: i.currentSrc }; }""")
    assert image["natural"] == [400, 300], image
    assert image["src"].split("?")[0].endswith("/image.png") and "/cdn/" in image["src"], image
    (w, h), (sw, sh) = image["shown"], image["stage"]
    assert abs(w / h - 4 / 3) < 0.01, image
    # Fit: inside the frame area, touching it on one side.
    assert w <= sw + 0.5 and h <= sh + 0.5 and (abs(w - sw) < 1 or abs(h - sh) < 1), image
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-still-fit.png"))

    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('player').dataset.zoom === '100'")
    shown = page.evaluate("() => { const r = document.getElementById('still').getBoundingClientRect(); "
                          "return [r.width * devicePixelRatio, r.height * devicePixelRatio]; }")
    assert shown == [400, 300], shown
    assert page.text_content("#scale") == "100 %"
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-still-100.png"))
    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('player').dataset.zoom === 'fit'")
    assert not errors_of(page), errors_of(page)


def test_a_video_has_a_waveform_strip_that_seeks_to_a_frame(page, admin, media_project, media_dir, reviewer):
    version = ready_version(admin, media_project, make_clip_with_sound(media_dir))
    frames = version["facts"]["frames"]
    assert version["facts"]["kind"] == "video" and version["renditions"]["waveform"] and frames == 100
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    page.wait_for_function("() => document.getElementById('player').dataset.waveform === '1'", timeout=20000)
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=20000)

    drawn = page.evaluate(DRAWN, "waveform-strip")
    assert drawn["shown"] and drawn["columns"] > drawn["width"] * 0.9, drawn
    strip = page.locator("#waveform-strip").bounding_box()
    seekbar = page.locator("#seekbar").bounding_box()
    assert strip["y"] >= seekbar["y"] + seekbar["height"] and abs(strip["width"] - seekbar["width"]) < 1

    page.mouse.click(strip["x"] + strip["width"] * 0.5, strip["y"] + strip["height"] / 2)
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=15000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    frame = int(page.text_content("#frame"))
    assert abs(frame - frames // 2) <= 1, frame
    assert page.evaluate(DECODE_JS)["pixels"] == frame  # the picture is that frame
    # Paused in the middle of the frame, as every seek of the player is.
    current = page.evaluate("() => document.getElementById('video').currentTime")
    first = page.evaluate("() => window.framegatePlayer.firstFrameTime")
    assert abs((current - first) * 25 - (frame + 0.5)) < 0.01, (current, first, frame)
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-video-waveform.png"))
    assert not errors_of(page), errors_of(page)


def test_a_version_watched_while_transcoding_starts_playing_by_itself(page, admin, media_project, media_dir, reviewer):
    clip = make_slow_clip(media_dir)
    sign_in(page, *reviewer)  # first, so the upload is fresh when the player opens
    response = upload(admin, media_project["id"], clip, asset="Transcoding live")
    assert response.status_code == 201, response.text
    version = response.json()
    page.goto(f"/versions/{version['id']}")
    page.evaluate("() => { window.sameDocument = true; }")

    mode = dataset(page)["mode"]
    if mode == "pending":
        text = page.text_content("#pending-text")
        assert text.startswith(("Transcoding", "Uploaded")), text
        assert page.is_visible("#pending")
        page.screenshot(path=str(SCREENSHOTS / "framegate-player-transcoding.png"))
        seen = {text}
        deadline = time.monotonic() + 180
        while dataset(page)["mode"] == "pending" and time.monotonic() < deadline:
            seen.add(page.text_content("#pending-text"))
            page.wait_for_timeout(200)
        assert any(t.startswith("Transcoding") for t in seen), seen
    else:  # the worker was quicker than the page: nothing to watch, only check what follows
        status = admin.get(f"/api/v1/versions/{version['id']}").json()["status"]
        assert status in ("playable", "ready"), (mode, status)

    page.wait_for_function("() => document.getElementById('player').dataset.mode === 'player'", timeout=180000)
    assert page.evaluate("() => window.sameDocument === true")  # no reload
    assert not page.is_visible("#pending")
    page.wait_for_selector("#quality option:nth-child(2)", state="attached", timeout=30000)
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=30000)
    page.click("#play")
    page.wait_for_function("() => document.getElementById('video').currentTime > 1.0", timeout=30000)
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-started.png"))
    page.click("#play")

    # When the transcode ends, the strip and the filmstrip arrive on the same page.
    wait_for_status(admin, version["id"], {"ready"})
    page.wait_for_function("() => document.getElementById('player').dataset.waveform === '1'", timeout=20000)
    assert page.evaluate("() => window.sameDocument === true")
    page.screenshot(path=str(SCREENSHOTS / "framegate-player-ready.png"))
    assert not errors_of(page), errors_of(page)
