// Compare two versions on one frame: the master's exact frame N of each (the
// lossless stills of stills_api), side by side, as a wipe with a draggable
// divider, as an onion skin (B over A at an opacity), or as their difference
// |A − B| amplified (optionally as a heat map). The canvas works at the
// masters' own pixels; CSS scales it to the page. Both sides step together.
import { framesToSmpte, parseRate, smpteToFrames } from "./timecode.js";

const config = JSON.parse(document.getElementById("compare-data").textContent);
const $ = (id) => document.getElementById(id);
const root = $("compare"), canvas = $("compare-canvas"), stage = $("compare-stage"), divider = $("divider");
const GAP = 16;  // pixels between the two pictures side by side
const state = { frame: 0, mode: "side", wipe: 0.5, opacity: 0.5, gain: 16, heat: false, a: null, b: null };
window.framegateCompare = state;  // for tests and the console

const sides = ["a", "b"].map((key) => {
  const side = config[key];
  const rate = parseRate(side.fps);
  const start = side.start_timecode ? smpteToFrames(side.start_timecode, rate, side.drop_frame) : 0;
  return { key, ...side, timecode: (n) => framesToSmpte(n, rate, side.drop_frame, start) };
});
const total = Math.max(1, Math.min(...sides.map((s) => s.frames || 1)));

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

// Stills ------------------------------------------------------------------------
let request = 0;
async function still(side, frame, signal) {
  const response = await fetch(side.stills_url + frame, { headers: { Accept: "application/json" }, signal });
  const body = await response.json();
  if (!response.ok) throw new Error(`${side.label}: ${body.message || response.status}`);
  const image = new Image();
  image.src = body.url;
  await image.decode();
  return image;
}

let inFlight = null;
async function load(frame) {
  const mine = ++request;
  if (inFlight) inFlight.abort();
  inFlight = new AbortController();
  root.dataset.ready = "0";
  try {
    const [a, b] = await Promise.all(sides.map((side) => still(side, frame, inFlight.signal)));
    if (mine !== request) return;
    state.a = a; state.b = b;
    notice(a.naturalWidth !== b.naturalWidth || a.naturalHeight !== b.naturalHeight
      ? `The versions differ in size (${a.naturalWidth}×${a.naturalHeight} and ${b.naturalWidth}×${b.naturalHeight}): B is scaled to A's size.`
      : "");
    render();
    root.dataset.ready = "1";
    root.dataset.shown = String(frame);
  } catch (err) {
    if (mine === request && err.name !== "AbortError") notice(String(err.message || err));
  }
}

// Drawing -------------------------------------------------------------------------
function render() {
  const { a, b } = state;
  if (!a || !b) return;
  const w = a.naturalWidth, h = a.naturalHeight;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  divider.hidden = state.mode !== "wipe";
  if (state.mode === "side") {
    canvas.width = w + GAP + b.naturalWidth;
    canvas.height = Math.max(h, b.naturalHeight);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(a, 0, 0);
    ctx.drawImage(b, w + GAP, 0);
    return;
  }
  canvas.width = w; canvas.height = h;
  ctx.globalAlpha = 1;
  ctx.drawImage(a, 0, 0, w, h);
  if (state.mode === "wipe") {
    const x = Math.round(state.wipe * w);
    ctx.save();
    ctx.beginPath(); ctx.rect(x, 0, w - x, h); ctx.clip();
    ctx.drawImage(b, 0, 0, w, h);
    ctx.restore();
    divider.style.left = `${state.wipe * 100}%`;
  } else if (state.mode === "onion") {
    ctx.globalAlpha = state.opacity;
    ctx.drawImage(b, 0, 0, w, h);
    ctx.globalAlpha = 1;
  } else if (state.mode === "diff") {
    const pixelsA = ctx.getImageData(0, 0, w, h);
    ctx.drawImage(b, 0, 0, w, h);
    const pixelsB = ctx.getImageData(0, 0, w, h);
    ctx.putImageData(difference(pixelsA, pixelsB, state.gain, state.heat), 0, 0);
  }
}

/** |A − B| per channel times `gain` (black where equal), or its largest channel as a heat colour. */
export function difference(a, b, gain, heat) {
  const out = new ImageData(a.width, a.height);
  const d = out.data, pa = a.data, pb = b.data;
  for (let i = 0; i < d.length; i += 4) {
    const r = Math.abs(pa[i] - pb[i]), g = Math.abs(pa[i + 1] - pb[i + 1]), bl = Math.abs(pa[i + 2] - pb[i + 2]);
    if (heat) {
      const v = Math.min(1, Math.max(r, g, bl) * gain / 255);
      // black -> blue -> red -> yellow -> white as the difference grows
      d[i] = 255 * Math.min(1, Math.max(0, 3 * v - 0.6));
      d[i + 1] = 255 * Math.min(1, Math.max(0, 3 * v - 1.6));
      d[i + 2] = 255 * (v === 0 ? 0 : Math.min(1, Math.max(v < 0.4 ? 0.35 + 1.6 * v : 1 - 3 * (v - 0.4), 3 * v - 2)));
    } else {
      d[i] = Math.min(255, r * gain); d[i + 1] = Math.min(255, g * gain); d[i + 2] = Math.min(255, bl * gain);
    }
    d[i + 3] = 255;
  }
  return out;
}

// Controls -------------------------------------------------------------------------
function go(frame) {
  state.frame = Math.min(Math.max(0, frame), total - 1);
  $("frame").textContent = String(state.frame);
  $("tc-a").textContent = sides[0].timecode(state.frame);
  $("tc-b").textContent = sides[1].timecode(state.frame);
  const fraction = total > 1 ? state.frame / (total - 1) : 0;
  $("seek-fill").style.width = `${(fraction * 100).toFixed(3)}%`;
  $("seek-head").style.left = `${(fraction * 100).toFixed(3)}%`;
  root.dataset.frame = String(state.frame);
  load(state.frame);
}

function setMode(mode) {
  state.mode = mode;
  root.dataset.mode = mode;
  for (const button of document.querySelectorAll(".compare-modes button")) {
    button.classList.toggle("active", button.dataset.mode === mode);
  }
  $("opt-onion").hidden = mode !== "onion";
  $("opt-gain").hidden = $("opt-heat").hidden = mode !== "diff";
  render();
}

for (const button of document.querySelectorAll(".compare-modes button")) {
  button.addEventListener("click", () => setMode(button.dataset.mode));
}
$("opacity").addEventListener("input", (e) => { state.opacity = Number(e.target.value) / 100; render(); });
$("gain").addEventListener("change", (e) => { state.gain = Number(e.target.value); render(); });
$("heat").addEventListener("change", (e) => { state.heat = e.target.checked; render(); });
for (const [id, n] of [["back10", -10], ["back1", -1], ["fwd1", 1], ["fwd10", 10]]) {
  $(id).addEventListener("click", () => go(state.frame + n));
}
$("seekbar").addEventListener("click", (event) => {
  const box = $("seekbar").getBoundingClientRect();
  go(Math.round(Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)) * (total - 1)));
});
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  const modes = { 1: "side", 2: "wipe", 3: "onion", 4: "diff" };
  if (modes[event.key]) setMode(modes[event.key]);
  else if (event.key === "ArrowLeft") go(state.frame - (event.shiftKey ? 10 : 1));
  else if (event.key === "ArrowRight") go(state.frame + (event.shiftKey ? 10 : 1));
  else return;
  event.preventDefault();
});

// The wipe's divider follows the pointer while dragged anywhere on the picture.
let dragging = false;
const wipeTo = (event) => {
  const box = canvas.getBoundingClientRect();
  state.wipe = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  render();
};
stage.addEventListener("pointerdown", (event) => {
  if (state.mode !== "wipe" || event.button !== 0) return;
  dragging = true;
  stage.setPointerCapture(event.pointerId);
  wipeTo(event);
});
stage.addEventListener("pointermove", (event) => { if (dragging) wipeTo(event); });
stage.addEventListener("pointerup", () => { dragging = false; });

$("frame-total").textContent = ` / ${total}`;
setMode("side");
go(Number(new URLSearchParams(location.search).get("frame") || 0));
