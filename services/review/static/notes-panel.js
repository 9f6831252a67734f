// The notes panel: a version's notes in frame order, each with its timecode,
// author, status, text, replies and drawing; a click seeks the player to the
// note's frame, where the overlay shows its drawing. New notes are pinned to
// the frame on screen (or a marked in/out range), with an optional drawing.
//
// Mountable on any page with a player (player.js's `player`) and the markup of
// templates/_notes_panel.html, through a config object, so the review link
// page can mount it with its link session's endpoints:
//   mountNotesPanel(panelElement, {
//     notes_url:   GET the notes / POST a note ("/api/v1/review/versions/<id>/notes")
//     note_url:    prefix of one note's routes: <note_url><id>/replies|revisions|status
//     export_url:  GET ?format=… (null: no export links)
//     headers:     sent with every write (the team pages: the CSRF header)
//     can_comment, can_reply, can_change_status, can_set_visibility: what this viewer may do
//     default_visibility: "client" | "internal"
//     me: { email }  whose notes this viewer may edit
//     refresh_seconds: how often the list is read again for others' notes (10)
//   }, player)
// Every piece of user text is put in with textContent, never as HTML.
import { notesOnFrame } from "./note-shapes.js";
import { NoteMarks } from "./note-marks.js";
import { NoteOverlay } from "./note-overlay.js";

const STATUS_LABEL = { open: "Open", resolved: "Resolved", out_of_scope: "Out of scope" };
const EXPORTS = [["csv", "CSV"], ["pdf", "PDF"], ["edl", "EDL (Resolve)"], ["avid", "Avid"],
  ["fcp7", "FCP 7 XML"], ["otio", "OTIO"]];

// One key per note or reply being written: a retry after a lost answer, or a
// second click, lands on the same note (the API's idempotency_key).
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// @name or @name@domain, as services/review/notes_rules.py reads them.
const MENTION = /(?<![\w.@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)/g;

// A note's text with its @mentions of members (the server's `mention_handles`)
// in marks; everything stays text nodes.
export function noteText(text, handles) {
  const p = el("p", { class: "note-text" });
  const known = new Set((handles || []).map((h) => h.toLowerCase()));
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const handle = match[1].replace(/\.+$/, "");
    if (!known.has(handle.toLowerCase())) continue;
    p.append(text.slice(at, match.index), el("span", { class: "mention" }, `@${handle}`));
    at = match.index + 1 + handle.length;
  }
  p.append(text.slice(at));
  return p;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

export function mountNotesPanel(panel, config, player) {
  const $ = (name) => panel.querySelector(`[data-part=${name}]`);
  const state = { notes: [], selected: null, markIn: null, markOut: null, draft: [], key: newKey() };
  const list = $("list"), form = $("compose"), error = $("error");

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...(config.headers || {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) throw new Error(data.message || `The server answered ${response.status}.`);
    return data;
  }

  function say(message) { error.textContent = message || ""; error.hidden = !message; }

  // Run a write with its form's buttons disabled until the answer is in.
  async function run(action, within = null) {
    const buttons = within ? [...within.querySelectorAll("button")] : [];
    for (const b of buttons) b.disabled = true;
    try { await action(); say(""); } catch (err) { say(err.message); } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  // Overlay and timeline ------------------------------------------------------------
  const overlay = new NoteOverlay({
    stage: player.stage, video: player.video, toolbar: $("toolbar"),
    onDraft: (shapes) => { state.draft = shapes; $("draft-count").textContent = shapes.length ? `${shapes.length} shape(s)` : ""; },
  });
  const marks = player.seekbar ? new NoteMarks(player.seekbar, (note) => pick(note)) : null;

  function showFrame(frame) {
    overlay.show(notesOnFrame(state.notes, frame).flatMap((n) => n.drawing));
    showPin();
    panel.dataset.frame = String(frame);
  }

  // Where the note being written will be pinned: the frame on screen or the marked range.
  function showPin() {
    const { frame, to_frame: to } = pinned();
    $("here").textContent = player.timecode(frame) + (to != null ? ` – ${player.timecode(to)}` : "");
  }

  function pick(note) {
    state.selected = note.note_id;
    player.seek(note.frame);
    highlight();
  }

  function highlight() {
    for (const item of list.querySelectorAll(".note")) {
      item.classList.toggle("selected", item.dataset.noteId === state.selected);
    }
    if (marks) marks.render(state.notes, player.totalFrames(), state.selected);
  }

  // The list --------------------------------------------------------------------------
  // quiet: a background refresh, which redraws only when the notes changed and
  // nobody is writing a reply or an edit in the list.
  let shown = "";
  async function load({ quiet = false } = {}) {
    const data = await api("GET", config.notes_url);
    const notes = data.notes || [];
    const json = JSON.stringify(notes);
    if (quiet && (json === shown || list.querySelector(".note-editor"))) return;
    shown = json;
    state.notes = notes;
    render();
  }

  function render() {
    list.replaceChildren(...state.notes.map(noteItem));
    $("count").textContent = String(state.notes.length);
    $("empty").hidden = state.notes.length > 0;
    highlight();
    showFrame(player.frame);
  }

  function byline(note) {
    const head = el("div", { class: "note-head" });
    head.append(el("span", { class: "note-author" }, note.author_name));
    if (note.visibility === "internal") head.append(el("span", { class: "note-badge note-internal" }, "internal"));
    if (note.edited) head.append(el("span", { class: "note-badge note-edited", title: `${note.revisions} revisions` }, "edited"));
    if (note.post_approval_scope_change) {
      // Added to the version after its gate closed: the record of a retroactive request.
      const mark = note.post_approval || {};
      head.append(el("span", { class: "note-badge note-scope-change",
        title: `Added after ${mark.stage || "the stage"} was approved${mark.locked_at ? ` (${mark.locked_at})` : ""}` },
      "Post-approval scope change"));
    }
    return head;
  }

  function noteItem(note) {
    const item = el("li", { class: `note status-${note.status}`, "data-note-id": note.note_id,
      "data-frame": String(note.frame), "data-status": note.status });
    const where = el("div", { class: "note-where" });
    const range = note.to_frame != null ? ` – ${note.to_timecode}` : "";
    where.append(el("span", { class: "note-tc" }, `${note.timecode}${range}`),
      el("span", { class: "note-frames muted" }, note.to_frame != null ? `frames ${note.frame}–${note.to_frame}` : `frame ${note.frame}`));
    if ((note.drawing || []).length) where.append(el("span", { class: "note-has-drawing", title: "Has a drawing" }, "✎"));
    const head = byline(note);
    head.append(el("span", { class: `note-status note-status-${note.status}` }, STATUS_LABEL[note.status] || note.status));
    item.append(where, head, noteText(note.text, note.mention_handles));

    if ((note.replies || []).length) {
      const replies = el("ul", { class: "note-replies" });
      for (const reply of note.replies) {
        const r = el("li", { class: "note-reply", "data-note-id": reply.note_id });
        r.append(byline(reply), noteText(reply.text, reply.mention_handles));
        replies.append(r);
      }
      item.append(replies);
    }
    item.append(actions(note, item));
    item.addEventListener("click", (event) => {
      if (event.target.closest("button, a, textarea, input, select, form")) return;
      pick(note);
    });
    return item;
  }

  function actions(note, item) {
    const bar = el("div", { class: "note-actions" });
    const button = (label, action, onClick) => {
      const b = el("button", { type: "button", "data-action": action }, label);
      b.addEventListener("click", onClick);
      bar.append(b);
    };
    const status = (value) => () => run(async () => {
      await api("POST", `${config.note_url}${note.note_id}/status`, { status: value });
      await load();
    });
    if (config.can_reply !== false) button("Reply", "reply", () => openEditor(item, "reply", note));
    if (config.can_change_status) {
      if (note.status !== "resolved") button("Resolve", "resolve", status("resolved"));
      if (note.status !== "out_of_scope") button("Out of scope", "out-of-scope", status("out_of_scope"));
      if (note.status !== "open") button("Reopen", "reopen", status("open"));
    }
    // Their own: the same e-mail, written where this viewer writes (the team's pages, or this link).
    const mine = config.me && note.author_email === config.me.email
      && (note.link_id || null) === (config.me.link_id || null);
    if (mine) button("Edit", "edit", () => openEditor(item, "edit", note));
    if (note.revisions > 1) button("History", "history", () => toggleHistory(item, note));
    return bar;
  }

  // Every revision of a note (edits and status changes are kept, never overwritten).
  async function toggleHistory(item, note) {
    const open = item.querySelector(".note-history");
    if (open) { open.remove(); return; }
    await run(async () => {
      const { revisions } = await api("GET", `${config.note_url}${note.note_id}/history`);
      const list = el("ol", { class: "note-history" });
      for (const r of revisions) {
        const row = el("li", { class: "note-revision", "data-number": String(r.number) });
        const head = el("div", { class: "note-revision-head muted" });
        head.append(el("span", {}, `#${r.number}`), el("span", {}, r.by || ""),
          el("time", { datetime: r.at }, (r.at || "").slice(0, 16).replace("T", " ")),
          el("span", { class: `note-status note-status-${r.status}` }, STATUS_LABEL[r.status] || r.status));
        if ((r.drawing || []).length) head.append(el("span", { title: "Drawing" }, `✎ ${r.drawing.length}`));
        row.append(head, el("p", { class: "note-text" }, r.text));
        list.append(row);
      }
      item.querySelector(".note-actions").after(list);
    });
  }

  // One small form under a note, for a reply or an edit of its text.
  function openEditor(item, kind, note) {
    item.querySelector(".note-editor")?.remove();
    const editor = el("form", { class: "note-editor", "data-kind": kind });
    const text = el("textarea", { name: "text", rows: "2", maxlength: "5000",
      placeholder: kind === "reply" ? "Reply…" : "" });
    if (kind === "edit") text.value = note.text;
    const save = el("button", { type: "submit" }, kind === "reply" ? "Send reply" : "Save");
    const cancel = el("button", { type: "button" }, "Cancel");
    cancel.addEventListener("click", () => editor.remove());
    editor.append(text);
    // An edit may replace the drawing with the shapes drawn now, or, with none drawn, remove it.
    let redraw = null;
    if (kind === "edit" && (state.draft.length || (note.drawing || []).length)) {
      redraw = el("input", { type: "checkbox", name: "redraw" });
      const label = el("label", { class: "note-redraw" });
      label.append(redraw, state.draft.length
        ? ` Replace its drawing with the ${state.draft.length} shape(s) drawn now` : " Remove its drawing");
      editor.append(label);
    }
    editor.append(save, cancel);
    const key = newKey();
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      run(async () => {
        if (kind === "reply") {
          await api("POST", `${config.note_url}${note.note_id}/replies`, { text: text.value, idempotency_key: key });
        } else {
          const change = { text: text.value };
          if (redraw?.checked) change.drawing = state.draft;
          await api("POST", `${config.note_url}${note.note_id}/revisions`, change);
          if (redraw?.checked) putDrawingAway();
        }
        await load();
      }, editor);
    });
    item.append(editor);
    text.focus();
  }

  function putDrawingAway() {
    overlay.clearDraft();
    overlay.setDrawing(false);
    $("draw").setAttribute("aria-pressed", "false");
  }

  // A new note ------------------------------------------------------------------------
  function showRange() {
    const { markIn, markOut } = state;
    $("range").textContent = markIn == null && markOut == null ? ""
      : `${markIn != null ? player.timecode(markIn) : "…"} – ${markOut != null ? player.timecode(markOut) : "…"}`;
    $("clear-range").hidden = markIn == null && markOut == null;
    showPin();
  }

  function pinned() {
    // In defaults to the frame on screen; an out before the in swaps them.
    const a = state.markIn ?? player.frame, b = state.markOut;
    if (b == null || b === a) return { frame: a, to_frame: null };
    return { frame: Math.min(a, b), to_frame: Math.max(a, b) };
  }

  if (config.can_comment) {
    const markIn = () => { state.markIn = player.frame; showRange(); };
    const markOut = () => { state.markOut = player.frame; showRange(); };
    $("mark-in").addEventListener("click", markIn);
    $("mark-out").addEventListener("click", markOut);
    document.addEventListener("keydown", (event) => {
      // I / O as in editing tools; never while typing.
      if (event.target.closest("input, select, textarea") || event.metaKey || event.ctrlKey || event.altKey) return;
      const action = { i: markIn, I: markIn, o: markOut, O: markOut }[event.key];
      if (action) { event.preventDefault(); action(); }
    });
    $("clear-range").addEventListener("click", () => { state.markIn = state.markOut = null; showRange(); });
    $("draw").addEventListener("click", () => {
      const on = !overlay.drawing;
      if (on) player.pause();
      overlay.setDrawing(on);
      $("draw").setAttribute("aria-pressed", String(on));
    });
    const visibility = form.querySelector("[name=visibility]");
    if (visibility) {
      visibility.value = config.default_visibility || "client";
      visibility.closest("label").hidden = !config.can_set_visibility;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(async () => {
        const body = { ...pinned(), text: form.elements.text.value, drawing: state.draft, idempotency_key: state.key };
        if (config.can_set_visibility && visibility) body.visibility = visibility.value;
        const note = await api("POST", config.notes_url, body);
        state.key = newKey();
        form.elements.text.value = "";
        state.markIn = state.markOut = null;
        showRange();
        putDrawingAway();
        state.selected = note.note_id;
        await load();
      }, form);
    });
    showRange();
  } else {
    form.hidden = true;
  }

  // Exports ---------------------------------------------------------------------------
  const exports = $("exports");
  if (config.export_url) {
    for (const [format, label] of EXPORTS) {
      exports.append(el("a", { href: `${config.export_url}?format=${format}`, download: "", "data-format": format }, label));
    }
  } else {
    exports.hidden = true;
  }

  panel.hidden = false;
  player.onFrame(showFrame);
  player.video.addEventListener("loadeddata", highlight);  // the frame count may only be known now
  run(load).then(() => { panel.dataset.loaded = "1"; });
  // Notes others write arrive without a reload while the page is in view.
  setInterval(() => {
    if (!document.hidden) load({ quiet: true }).catch(() => { /* the next round tries again */ });
  }, 1000 * (config.refresh_seconds || 10));
  return { reload: load, overlay };
}
