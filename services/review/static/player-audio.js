// The player for sound-only versions: the audio HLS through hls.js into an
// <audio> element, a large waveform to look at and click, and the same keys
// as the video player with seconds instead of frames (no frames to count).
import { playHls } from "./hls-source.js";
import { makeShuttle } from "./shuttle.js";
import { onVersion, playerConfig as config, renditionUrl } from "./player-status.js";
import { fetchWaveform, WaveformView } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const root = $("player"), audio = $("audio");
const state = { shuttle: 0, reverseTimer: null, hls: null, view: null, media: audio };
window.framegatePlayer = state;  // for tests and the console

const duration = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : config.duration || 0);

/** 3723.25 -> "01:02:03.250" */
export function clock(seconds) {
  const millis = Math.max(0, Math.round((seconds || 0) * 1000));
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const s = Math.floor(millis / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${pad(millis % 1000, 3)}`;
}

function show() {
  const t = audio.currentTime || 0;
  $("time").textContent = clock(t);
  $("time-total").textContent = duration() ? ` / ${clock(duration())}` : "";
  root.dataset.time = t.toFixed(3);
  if (state.view) state.view.setPosition(t);
}

function settle() {
  const settled = audio.paused && !audio.seeking && state.shuttle === 0;
  root.dataset.settled = settled ? "1" : "0";
  $("play").textContent = audio.paused && state.shuttle >= 0 ? "Play" : "Pause";
}

// The playhead moves smoothly while playing; timeupdate alone is 4 Hz.
(function frame() { show(); requestAnimationFrame(frame); })();
["play", "pause", "seeking", "seeked", "loadedmetadata", "durationchange"].forEach((name) =>
  audio.addEventListener(name, () => { show(); settle(); }));
audio.addEventListener("ended", () => { shuttle.stop(); settle(); });

// Commands ---------------------------------------------------------------------
function seekTo(seconds) {
  const end = duration();
  audio.currentTime = Math.max(0, end ? Math.min(seconds, end) : seconds);
  show();
  settle();
}

const shuttle = makeShuttle({
  media: audio, state, label: $("shuttle"), pause, settle,
  stepBack: (seconds) => {
    if (audio.currentTime <= 0) return false;
    seekTo(audio.currentTime - seconds);
    return true;
  },
});

function pause() {
  shuttle.stop();
  if (!audio.paused) audio.pause();
  settle();
}

function play() {
  shuttle.stop();
  if (duration() && audio.currentTime >= duration() - 0.01) seekTo(0);
  audio.play().catch(() => settle());
}

function step(seconds) {
  pause();
  seekTo(audio.currentTime + seconds);
}


const toggle = () => (audio.paused && state.shuttle === 0 ? play() : pause());
$("play").addEventListener("click", toggle);
$("back1").addEventListener("click", () => step(-1));
$("fwd1").addEventListener("click", () => step(1));
$("back10").addEventListener("click", () => step(-10));
$("fwd10").addEventListener("click", () => step(10));

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  const actions = {
    " ": toggle,
    k: pause, K: pause, j: shuttle.backward, J: shuttle.backward, l: shuttle.forward, L: shuttle.forward,
    ArrowLeft: () => step(event.shiftKey ? -10 : -1),
    ArrowRight: () => step(event.shiftKey ? 10 : 1),
    Home: () => { pause(); seekTo(0); },
    End: () => { pause(); seekTo(duration()); },
  };
  const action = actions[event.key];
  if (action) { event.preventDefault(); action(); }
});

// Waveform -------------------------------------------------------------------------
async function loadWaveform(url) {
  try {
    const waveform = await fetchWaveform(url);
    const canvas = $("waveform-large");
    canvas.hidden = false;
    $("waveform-empty").hidden = true;
    state.view = new WaveformView(canvas, waveform, {
      duration: config.duration || waveform.duration,
      onSeek: (fraction) => seekTo(fraction * state.view.duration),
    });
    show();
    root.dataset.waveform = "1";
  } catch (err) {
    $("waveform-empty").textContent = "No waveform for this version.";
  }
}

let waveformLoaded = false;
onVersion((version) => {
  if (waveformLoaded || version.status !== "ready") return;
  waveformLoaded = true;
  const url = renditionUrl("waveform", version);
  if (url) loadWaveform(url);
  else $("waveform-empty").textContent = "No waveform for this version.";
});

// Loading ------------------------------------------------------------------------
function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function load() {
  playHls(audio, config.master, {
    notice,
    onHls: (hls) => { state.hls = hls; },
    configure: (hls, Hls) => hls.on(Hls.Events.MANIFEST_PARSED, () => notice("")),
  });
}

show();
settle();
load();
