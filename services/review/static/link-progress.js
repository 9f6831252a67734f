// On a review link's page: tell the server which frames this viewing session
// actually played (the media element's `played` ranges, not time on the page),
// every few seconds while something new was played, and when the page goes.
import { parseRate } from "./timecode.js";

const config = JSON.parse(document.getElementById("player-data").textContent);
const media = document.getElementById("video") || document.getElementById("audio");
const rate = parseRate(config.fps);
const EVERY_MS = 4000;
let sent = "";
let endedWith = "";

function playedFrames() {
  const first = (window.framegatePlayer && window.framegatePlayer.firstFrameTime) || 0;
  const toFrame = (t) => Math.max(0, Math.floor((t - first) * rate.num / rate.den + 1e-3));
  const ranges = [];
  for (let i = 0; media && i < media.played.length; i += 1) {
    const a = toFrame(media.played.start(i));
    const b = Math.max(a, toFrame(media.played.end(i)) - 1);
    if (media.played.end(i) > media.played.start(i)) ranges.push([a, b]);
  }
  return ranges;
}

// `ended`: the viewing ends (the media played to its end, or the page goes);
// the server announces what was played then, once per set of ranges.
function report({ keepalive = false, ended = false } = {}) {
  const ranges = playedFrames();
  const key = JSON.stringify(ranges);
  if (!ranges.length) return;
  if (key === sent && !(ended && key !== endedWith)) return;
  sent = key;
  if (ended) endedWith = key;
  fetch(config.progress_url, {
    method: "POST", credentials: "same-origin", keepalive,
    headers: { "Content-Type": "application/json", "X-Framegate-CSRF": "1" },
    body: JSON.stringify(ended ? { ranges, ended: true } : { ranges }),
  }).catch(() => { sent = ""; if (ended) endedWith = ""; });
}

if (media && config.progress_url) {
  setInterval(() => report(), EVERY_MS);
  media.addEventListener("pause", () => report());
  media.addEventListener("ended", () => report({ ended: true }));
  window.addEventListener("pagehide", () => report({ keepalive: true, ended: true }));
}
