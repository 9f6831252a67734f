// Notes on the timeline: a strip over the seek bar with a bar for each range
// note (from its in to its out frame) and a tick for each point note, placed
// on the same scale as the seek bar's head (frame / (frames - 1)).
export function markPosition(frame, toFrame, totalFrames) {
  const last = Math.max(1, totalFrames - 1);
  const left = (100 * frame) / last;
  const width = toFrame == null ? 0 : (100 * (toFrame - frame)) / last;
  return { left, width };
}

export class NoteMarks {
  // Put the strip just above `seekbar`; onPick(note) runs when one is clicked.
  constructor(seekbar, onPick) {
    this.strip = document.createElement("div");
    this.strip.className = "note-marks";
    this.strip.id = "note-marks";
    seekbar.insertAdjacentElement("beforebegin", this.strip);
    this.onPick = onPick;
  }

  render(notes, totalFrames, selectedId = null) {
    this.strip.replaceChildren();
    for (const note of notes) {
      const { left, width } = markPosition(note.frame, note.to_frame, totalFrames);
      const mark = document.createElement("button");
      mark.type = "button";
      mark.className = `note-mark ${note.to_frame == null ? "note-tick" : "note-bar"} status-${note.status}`;
      mark.dataset.noteId = note.note_id;
      mark.dataset.frame = String(note.frame);
      mark.style.left = `${left.toFixed(4)}%`;
      if (note.to_frame != null) mark.style.width = `${width.toFixed(4)}%`;
      mark.title = `${note.timecode}${note.to_timecode ? ` – ${note.to_timecode}` : ""} · ${note.author_name}: ${note.text}`;
      mark.classList.toggle("selected", note.note_id === selectedId);
      mark.addEventListener("click", () => this.onPick(note));
      this.strip.append(mark);
    }
  }
}
