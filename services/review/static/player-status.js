// The version's status, kept live for every kind of player: the page's
// config is the first word, the version JSON from the ingest API (polled
// until the version is ready or failed) the latest.
import { currentBase, fresh } from "./playback-session.js";

const config = JSON.parse(document.getElementById("player-data").textContent);
const $ = (id) => document.getElementById(id);
const POLL_MS = 1500;
const DONE = ["ready", "failed"];
const listeners = [];
let latest = { status: config.status, progress: config.progress, renditions: null };
let timer = null;

export const playerConfig = config;

/** Whether a version in `status` can be shown by the player for `kind`. */
export function startable(kind, status) {
  return kind === "image" ? status === "ready" : ["playable", "ready"].includes(status);
}

/** A signed CDN URL (with the session's current token) for a stored rendition
 * ("poster", "image", "waveform"), or null if there is none yet. */
export function renditionUrl(name, version = latest) {
  const key = version && version.renditions && version.renditions[name];
  if (!key) return config[name] ? fresh(config[name]) : null;
  return currentBase() + (key.startsWith(config.prefix) ? key.slice(config.prefix.length) : key);
}

export function latestVersion() { return latest; }

/** Calls `listener(version)` with every version JSON fetched (and now, with what is known). */
export function onVersion(listener, { now = true } = {}) {
  listeners.push(listener);
  if (now) listener(latest);
}

function showStatus(version) {
  $("status").textContent = version.status || "";
  $("status").className = `status status-${version.status}`;
  const done = DONE.includes(version.status);
  $("progress").textContent = !done && version.progress != null ? `${Math.floor(version.progress)} %` : "";
  showProcessing(version.notes);
}

/** What transcode did to the master, once it says (the notes arrive with `ready`). */
function showProcessing(notes) {
  const box = $("processing");
  if (!box || !Array.isArray(notes)) return;
  box.hidden = $("processing-label").hidden = notes.length === 0;
  box.querySelector("ul").replaceChildren(...notes.map((note) => {
    const item = document.createElement("li");
    item.textContent = note;
    return item;
  }));
}

export async function refreshStatus() {
  try {
    const response = await fetch(config.version_url, { credentials: "same-origin" });
    if (!response.ok) return null;
    const version = await response.json();
    latest = version;
    showStatus(version);
    listeners.slice().forEach((listener) => listener(version));
    return version;
  } catch (err) { return null; }
}

/** Polls until the version is ready or failed. */
export function watchStatus() {
  if (timer) return;
  const tick = async () => {
    await refreshStatus();
    timer = DONE.includes(latest.status) ? null : setTimeout(tick, POLL_MS);
  };
  tick();
}
