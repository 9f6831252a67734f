// The player page: which player the version needs (video, audio, still
// image), and until it can play, a live "transcoding N %" state that starts
// the player by itself when the version becomes playable (ready, for stills).
import { onVersion, playerConfig as config, startable, watchStatus } from "./player-status.js";

const $ = (id) => document.getElementById(id);
const root = $("player");
const PLAYERS = { video: "./player.js", audio: "./player-audio.js", image: "./player-still.js" };
let started = false;

function showPending(version) {
  const progress = version.progress != null ? Math.max(0, Math.min(100, Math.floor(version.progress))) : null;
  let text;
  if (version.status === "failed") {
    const reason = (version.failure && version.failure.reason) || config.reason;
    text = `This version could not be transcoded.${reason ? ` ${reason}` : ""}`;
  } else if (version.status === "uploaded" && !progress) {
    text = "Uploaded: waiting for a transcode worker…";
  } else {
    text = `Transcoding ${progress ?? 0} %`;
  }
  $("pending-text").textContent = text;
  $("pending-fill").style.width = `${progress ?? 0}%`;
  $("pending").classList.toggle("pending-failed", version.status === "failed");
  $("pending").hidden = false;
  root.dataset.mode = version.status === "failed" ? "failed" : "pending";
  root.dataset.progress = String(progress ?? "");
}

async function start() {
  started = true;
  $("pending").hidden = true;
  root.dataset.mode = "player";
  const module = await import(PLAYERS[config.kind] || PLAYERS.video);
  const notes = document.getElementById("notes-data");
  if (notes && module.player) {
    const { mountNotesPanel } = await import("./notes-panel.js");
    mountNotesPanel($("notes-panel"), JSON.parse(notes.textContent), module.player);
  }
}

onVersion((version) => {
  if (started) return;
  if (startable(config.kind, version.status)) start();
  else showPending(version);
});
watchStatus();
