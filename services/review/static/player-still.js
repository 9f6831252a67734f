// Still images: the full-size picture (image.png through the CDN) fit to
// the frame area, or at 100 % (one picture pixel on one screen pixel), panned
// by scrolling or dragging. Nothing plays, so there are no transport controls.
import { latestVersion, renditionUrl } from "./player-status.js";

const $ = (id) => document.getElementById(id);
const root = $("player"), stage = $("stage"), image = $("still"), zoom = $("zoom");
const state = { zoomed: false, scale: null, image };
window.framegatePlayer = state;  // for tests and the console

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

/** Size and place the picture; `anchor` keeps a point of it (fractions) under the pointer. */
function layout(anchor) {
  const natural = { w: image.naturalWidth, h: image.naturalHeight };
  if (!natural.w || !natural.h) return;
  const box = { w: stage.clientWidth, h: stage.clientHeight };
  const fit = Math.min(box.w / natural.w, box.h / natural.h);
  const scale = state.zoomed ? 1 / (window.devicePixelRatio || 1) : fit;
  const w = natural.w * scale, h = natural.h * scale;
  stage.classList.toggle("zoomed", state.zoomed);
  Object.assign(image.style, {
    width: `${w}px`, height: `${h}px`,
    left: `${Math.max(0, (box.w - w) / 2)}px`, top: `${Math.max(0, (box.h - h) / 2)}px`,
  });
  if (anchor) {
    stage.scrollLeft = anchor.fx * w - anchor.x;
    stage.scrollTop = anchor.fy * h - anchor.y;
  } else if (!state.zoomed) {
    stage.scrollLeft = stage.scrollTop = 0;
  }
  state.scale = scale;
  const percent = Math.round(scale * (window.devicePixelRatio || 1) * 100);
  $("scale").textContent = state.zoomed ? "100 %" : `Fit (${percent} %)`;
  zoom.textContent = state.zoomed ? "Fit" : "100 %";
  root.dataset.zoom = state.zoomed ? "100" : "fit";
}

function toggleZoom(event) {
  let anchor = null;
  if (event && event.clientX !== undefined) {
    const picture = image.getBoundingClientRect(), frame = stage.getBoundingClientRect();
    anchor = { fx: (event.clientX - picture.left) / picture.width, fy: (event.clientY - picture.top) / picture.height,
               x: event.clientX - frame.left, y: event.clientY - frame.top };
  }
  state.zoomed = !state.zoomed;
  layout(state.zoomed ? anchor : null);
}

// A click on the picture toggles the zoom; a drag at 100 % pans it.
let drag = null;
image.addEventListener("mousedown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  drag = { x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop, moved: false };
});
window.addEventListener("mousemove", (event) => {
  if (!drag) return;
  const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
  if (drag.moved && state.zoomed) {
    stage.scrollLeft = drag.left - dx;
    stage.scrollTop = drag.top - dy;
  }
});
window.addEventListener("mouseup", (event) => {
  const wasClick = drag && !drag.moved;
  drag = null;
  if (wasClick && event.target === image) toggleZoom(event);
});
zoom.addEventListener("click", () => toggleZoom());
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
  if (event.key === "z" || event.key === "Z") { event.preventDefault(); toggleZoom(); }
  if (event.key === "Escape" && state.zoomed) toggleZoom();
});

new ResizeObserver(() => layout()).observe(stage);
image.addEventListener("load", () => {
  image.hidden = false;
  zoom.disabled = false;
  layout();
  root.dataset.natural = `${image.naturalWidth}x${image.naturalHeight}`;
  root.dataset.settled = "1";
});
image.addEventListener("error", () => notice("The picture could not be loaded."));

const url = renditionUrl("image", latestVersion()) || renditionUrl("poster", latestVersion());
if (url) image.src = url;
else notice("This version has no picture.");
