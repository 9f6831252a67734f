// The frame-accurate player: hls.js through the signed CDN URLs the page was
// given, frame numbers and SMPTE timecode from the master's rate and start TC.
//
// Frame n of the stream is shown from firstFrameTime + n / rate. A paused
// player always sits in the middle of a frame (never on an edge, where float
// rounding could pick either neighbour), and the number shown is that of the
// frame actually presented: requestVideoFrameCallback's mediaTime.
//
// player-page.js imports this module once the version is playable.
import { playHls } from "./hls-source.js";
import { fresh } from "./playback-session.js";
import { makeShuttle } from "./shuttle.js";
import { onVersion, renditionUrl } from "./player-status.js";
import { framesToSmpte, parseRate, smpteToFrames } from "./timecode.js";
import { fetchWaveform, WaveformView } from "./waveform.js";
import { ExactFrame } from "./player-exact.js";

const EPS = 1e-3;  // of a frame: absorbs float error in media times
const config = JSON.parse(document.getElementById("player-data").textContent);
const $ = (id) => document.getElementById(id);
const root = $("player"), video = $("video");
const rate = parseRate(config.fps);
const dropFrame = !!config.drop_frame;
const startFrames = config.start_timecode ? smpteToFrames(config.start_timecode, rate, dropFrame) : 0;

let strip = null;  // the waveform under the seek bar, once loaded
// A link to a noted frame (?frame=N, as notifications send) opens the player there.
const requestedFrame = Math.max(0, Number.parseInt(new URLSearchParams(location.search).get("frame"), 10) || 0);
const state = {
  firstFrameTime: null,  // media time of frame 0, read from the stream
  frame: 0,              // the frame on screen
  target: requestedFrame, // the frame the last seek asked for
  awaitingFrame: false,  // a seek is waiting for its frame to be presented
  shuttle: 0,            // playback speed: > 0 forward (L), < 0 backward (J)
  reverseTimer: null,
  pendingLevel: null,    // a quality switch waiting for its first fragment
  hls: null,
  loaded: false,         // the first frame has arrived (loadeddata)
};
window.framegatePlayer = state;  // for tests and the console
// The master's own frame on a canvas over the video whenever the player rests on one.
const exact = config.stills_url
  ? new ExactFrame({ stage: $("stage"), video, stillsUrl: config.stills_url, root, zoomButton: $("zoom") })
  : null;
const frameListeners = [];  // player.onFrame: the notes panel follows the frame on screen

const frameAt = (t) => Math.max(0, Math.floor((t - (state.firstFrameTime || 0)) * rate.num / rate.den + EPS));
const middleOf = (n) => (state.firstFrameTime || 0) + (n + 0.5) * rate.den / rate.num;
const totalFrames = () => config.frames || Math.max(1, Math.round((video.duration || 0) * rate.num / rate.den));
const clampFrame = (n) => Math.min(Math.max(0, n), totalFrames() - 1);

function show(frame) {
  state.frame = frame;
  $("frame").textContent = String(frame);
  $("timecode").textContent = framesToSmpte(frame, rate, dropFrame, startFrames);
  root.dataset.frame = String(frame);
  const fraction = totalFrames() > 1 ? frame / (totalFrames() - 1) : 0;
  $("seek-fill").style.width = `${(fraction * 100).toFixed(3)}%`;
  $("seek-head").style.left = `${(fraction * 100).toFixed(3)}%`;
  if (strip) strip.setPosition(frame * rate.den / rate.num);
  for (const listener of frameListeners) listener(frame);
}

function settle() {
  // Not before the first frame is in: until then there is no frame to be settled on.
  const settled = state.loaded && video.paused && !video.seeking && !state.awaitingFrame && state.shuttle === 0
    && state.pendingLevel === null;
  root.dataset.settled = settled ? "1" : "0";
  if (exact) {
    if (settled) exact.settle(state.frame);
    else if (!video.paused || state.shuttle !== 0 || exact.frame !== state.frame) exact.hide();
  }
  $("play").textContent = video.paused && state.shuttle >= 0 ? "Play" : "Pause";
}

// Presented frames -------------------------------------------------------------
function onPresented(mediaTime) {
  if (state.firstFrameTime === null) return;
  show(frameAt(mediaTime));
  if (!video.seeking) state.awaitingFrame = false;
  settle();
}

if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
  const loop = (_now, meta) => { onPresented(meta.mediaTime); video.requestVideoFrameCallback(loop); };
  video.requestVideoFrameCallback(loop);
} else {
  video.addEventListener("timeupdate", () => onPresented(video.currentTime));
}

video.addEventListener("seeking", () => { state.awaitingFrame = true; settle(); });
video.addEventListener("seeked", () => {
  // Seeking onto the frame already on screen may present nothing new.
  setTimeout(() => {
    if (state.awaitingFrame && !video.seeking) onPresented(video.currentTime);
  }, 250);
});
video.addEventListener("play", settle);
video.addEventListener("pause", () => {
  // Stop in the middle of the frame we stopped on, so the picture, the
  // number and the timecode all agree.
  if (state.shuttle >= 0) seekToFrame(frameAt(video.currentTime));
  settle();
});
video.addEventListener("ended", () => { state.shuttle = 0; settle(); });

// Commands ---------------------------------------------------------------------
function seekToFrame(n) {
  n = clampFrame(n);
  if (exact && exact.frame !== n) exact.hide();
  state.target = n;
  state.awaitingFrame = true;
  root.dataset.settled = "0";
  video.currentTime = middleOf(n);
  show(n);
}

const shuttle = makeShuttle({
  media: video, state, label: $("shuttle"), pause, settle,
  stepBack: (seconds) => {
    if (state.frame <= 0) return false;
    seekToFrame(state.frame - Math.max(1, Math.round(seconds * rate.num / rate.den)));
    return true;
  },
});

function pause() {
  const wasReverse = state.shuttle < 0;
  shuttle.stop();
  if (!video.paused) video.pause();
  else if (wasReverse) seekToFrame(state.frame);
  settle();
}

function play() {
  shuttle.stop();
  if (state.frame >= totalFrames() - 1) seekToFrame(0);
  video.play();
}

function step(n) {
  // Steps pressed faster than frames arrive add up from the frame asked for.
  const from = state.awaitingFrame ? state.target : state.frame;
  pause();
  seekToFrame(from + n);
}


$("play").addEventListener("click", () => (video.paused && state.shuttle === 0 ? play() : pause()));
$("back1").addEventListener("click", () => step(-1));
$("fwd1").addEventListener("click", () => step(1));
$("back10").addEventListener("click", () => step(-10));
$("fwd10").addEventListener("click", () => step(10));

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  const actions = {
    " ": () => (video.paused && state.shuttle === 0 ? play() : pause()),
    k: pause, K: pause, j: shuttle.backward, J: shuttle.backward, l: shuttle.forward, L: shuttle.forward,
    ArrowLeft: () => step(event.shiftKey ? -10 : -1),
    ArrowRight: () => step(event.shiftKey ? 10 : 1),
    Home: () => { pause(); seekToFrame(0); },
    End: () => { pause(); seekToFrame(totalFrames() - 1); },
    z: () => exact && exact.toggleZoom(), Z: () => exact && exact.toggleZoom(),
    Escape: () => exact && exact.zoomed && exact.setZoom(false),
  };
  const action = actions[event.key];
  if (action) { event.preventDefault(); action(); }
});

// Seek bar and filmstrip preview ---------------------------------------------------
const seekbar = $("seekbar");
const frameAtPointer = (event) => {
  const box = seekbar.getBoundingClientRect();
  const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  return { frame: clampFrame(Math.round(fraction * (totalFrames() - 1))), x: event.clientX - box.left };
};
seekbar.addEventListener("click", (event) => { pause(); seekToFrame(frameAtPointer(event).frame); });

let thumbnails = [];
async function loadFilmstrip(version) {
  // The track is written at the end of the transcode: ask once it is listed.
  if (version && version.renditions && version.renditions.thumbnails_vtt) {
    config.filmstrip = renditionUrl("thumbnails_vtt", version);
  }
  try {
    const response = await fetch(fresh(config.filmstrip));
    if (response.ok) thumbnails = parseThumbnailVtt(await response.text(), response.url);
  } catch (err) { /* no filmstrip yet: no preview */ }
}

export function parseThumbnailVtt(text, baseUrl) {
  const cues = [];
  const seconds = (ts) => ts.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
  const blocks = text.replace(/\r/g, "").split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split("\n").filter(Boolean);
    const timing = lines.findIndex((line) => line.includes("-->"));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [start, end] = lines[timing].split("-->").map((s) => seconds(s.trim().split(" ")[0]));
    const url = new URL(lines[timing + 1].trim(), baseUrl);
    const xywh = (url.hash.match(/xywh=(\d+),(\d+),(\d+),(\d+)/) || []).slice(1).map(Number);
    url.hash = "";
    cues.push({ start, end, url: url.href, xywh });
  }
  return cues;
}

seekbar.addEventListener("mousemove", (event) => {
  const { frame, x } = frameAtPointer(event);
  const seconds = frame * rate.den / rate.num;
  const cue = thumbnails.find((c) => seconds >= c.start && seconds < c.end) || thumbnails[thumbnails.length - 1];
  const preview = $("preview"), image = $("preview-image");
  if (cue && cue.xywh.length === 4) {
    const [cx, cy, w, h] = cue.xywh;
    Object.assign(image.style, { width: `${w}px`, height: `${h}px`, backgroundImage: `url("${fresh(cue.url)}")`,
      backgroundPosition: `-${cx}px -${cy}px` });
    image.hidden = false;
  } else {
    image.hidden = true;
  }
  $("preview-tc").textContent = framesToSmpte(frame, rate, dropFrame, startFrames);
  preview.hidden = false;
  preview.style.left = `${x}px`;
});
seekbar.addEventListener("mouseleave", () => { $("preview").hidden = true; });

// Waveform strip -------------------------------------------------------------------
async function loadWaveform(url) {
  try {
    const waveform = await fetchWaveform(url);
    const canvas = $("waveform-strip");
    canvas.hidden = false;
    strip = new WaveformView(canvas, waveform, {
      duration: totalFrames() * rate.den / rate.num,
      // A click lands on the frame shown at that time, like the seek bar.
      onSeek: (fraction) => { pause(); seekToFrame(Math.floor(fraction * totalFrames())); },
    });
    strip.setPosition(state.frame * rate.den / rate.num);
    root.dataset.waveform = "1";
  } catch (err) { /* no sound, or not written yet: no strip */ }
}

// Quality ------------------------------------------------------------------------
const quality = $("quality");
quality.addEventListener("change", () => {
  if (!state.hls) return;
  const level = Number(quality.value);  // -1: automatic
  state.hls.currentLevel = level;
  if (video.paused && level >= 0) {
    // The buffer is flushed and refilled from the new rung: show the same
    // frame again from it once it is there.
    state.pendingLevel = level;
    state.awaitingFrame = true;
    settle();
  }
});

function fillLevels(levels) {
  quality.length = 1;
  levels.forEach((level, i) => quality.add(new Option(level.height ? `${level.height}p` : `${level.bitrate / 1000} kb/s`, i)));
}

// Loading ------------------------------------------------------------------------
function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function load() {
  playHls(video, config.master, {
    notice,
    onHls: (hls) => { state.hls = hls; },
    configure: (hls, Hls) => {
      hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => { notice(""); fillLevels(data.levels); });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => { root.dataset.level = String(data.level); });
      hls.on(Hls.Events.FRAG_BUFFERED, (_e, data) => {
        if (state.pendingLevel === data.frag.level) {
          state.pendingLevel = null;
          if (video.paused) seekToFrame(state.target);
        }
      });
      hls.on(Hls.Events.FRAG_PARSING_DATA, (_e, data) => {
        // The first fragment's first presentation time is frame 0.
        if (data.type === "video" && state.firstFrameTime === null && data.frag.start === 0) {
          state.firstFrameTime = data.startPTS;
        }
      });
    },
  });
}

video.addEventListener("loadeddata", () => {
  if (state.firstFrameTime === null) state.firstFrameTime = video.buffered.length ? video.buffered.start(0) : 0;
  $("frame-total").textContent = ` / ${totalFrames()}`;
  state.loaded = true;
  seekToFrame(state.target);  // frame 0, or where a click before the first frame asked to go
});

// What other modules on the page (the notes panel) may do with the player.
export const player = {
  video, stage: $("stage"), seekbar: $("seekbar"),
  get frame() { return state.frame; },
  totalFrames,
  seek: (n) => { pause(); seekToFrame(n); },
  pause,
  timecode: (n) => framesToSmpte(n, rate, dropFrame, startFrames),
  onFrame: (listener) => { frameListeners.push(listener); listener(state.frame); },
};

show(0);
settle();
load();
let extrasLoaded = false;
onVersion((version) => {
  // Filmstrip and waveform are written at the end of the transcode.
  if (extrasLoaded || version.status !== "ready") return;
  extrasLoaded = true;
  loadFilmstrip(version);
  const waveform = renditionUrl("waveform", version);
  if (waveform) loadWaveform(waveform);
});
