// Note drawings as pure geometry: where the picture sits inside a video
// element (letterboxing), pointer positions to frame-normalised coordinates
// (0-1, origin top left, the form notes_rules.py checks) and back, and which
// notes belong on a frame. No DOM here; note-overlay.js draws with these, and
// tests/browser/test_note_shapes_js.py runs them in node.

// Stroke width is `size` thousandths of the picture's width, as in the notes
// PDF (notes_pdf.py), so a drawing keeps its weight at any player size.
export const STROKE_PER_SIZE = 1 / 1000;
// Text height per `size`, also as a fraction of the picture's width (the PDF's
// size*2 pt on its 110 mm still).
export const TEXT_PER_SIZE = 6.4 / 1000;
export const TOOLS = ["arrow", "rect", "ellipse", "line", "freehand", "text"];
const MAX_POINTS = 2000;  // per freehand stroke, as notes_rules.MAX_POINTS

// The displayed picture inside an element of boxWidth x boxHeight showing a
// videoWidth x videoHeight picture with object-fit: contain (the default for
// <video>): centred, scaled to fit, bars on the two other sides.
export function pictureRect(boxWidth, boxHeight, videoWidth, videoHeight) {
  if (!videoWidth || !videoHeight || !boxWidth || !boxHeight) {
    return { left: 0, top: 0, width: boxWidth || 0, height: boxHeight || 0 };
  }
  const scale = Math.min(boxWidth / videoWidth, boxHeight / videoHeight);
  const width = videoWidth * scale, height = videoHeight * scale;
  return { left: (boxWidth - width) / 2, top: (boxHeight - height) / 2, width, height };
}

const clamp01 = (v) => Math.min(1, Math.max(0, v));
const round5 = (v) => Math.round(v * 1e5) / 1e5;  // the precision the API keeps

// A point in the picture's pixels to frame fractions, kept inside the frame.
export function toFrame(px, py, rect) {
  return [round5(clamp01((px - rect.left) / rect.width)), round5(clamp01((py - rect.top) / rect.height))];
}

// The shape a drag from a to b (frame fractions) makes with a tool.
export function shapeFromDrag(tool, a, b, style) {
  const base = { tool, color: style.color, size: style.size };
  if (tool === "rect" || tool === "ellipse") {
    const x = Math.min(a[0], b[0]), y = Math.min(a[1], b[1]);
    return { ...base, x, y, w: round5(Math.abs(b[0] - a[0])), h: round5(Math.abs(b[1] - a[1])) };
  }
  if (tool === "arrow" || tool === "line") return { ...base, x1: a[0], y1: a[1], x2: b[0], y2: b[1] };
  throw new Error(`${tool} is not drawn by dragging`);
}

// Whether a shape is big enough to keep (a click is not a rectangle).
export function isVisible(shape) {
  if (shape.tool === "rect" || shape.tool === "ellipse") return shape.w > 0.002 || shape.h > 0.002;
  if (shape.tool === "arrow" || shape.tool === "line") {
    return Math.hypot(shape.x2 - shape.x1, shape.y2 - shape.y1) > 0.002;
  }
  if (shape.tool === "freehand") return shape.points.length > 1;
  return true;
}

// Thin a freehand stroke to the API's limit, keeping its ends.
export function thinPoints(points, limit = MAX_POINTS) {
  if (points.length <= limit) return points;
  const step = (points.length - 1) / (limit - 1);
  return Array.from({ length: limit }, (_, i) => points[Math.round(i * step)]);
}

// The notes whose drawing belongs on this frame: a point note on its frame,
// a range note anywhere from its in to its out frame.
export function notesOnFrame(notes, frame) {
  return notes.filter((n) => (n.drawing || []).length
    && frame >= n.frame && frame <= (n.to_frame ?? n.frame));
}

// A shape in the picture's pixels (w x h): what the overlay draws.
export function shapeInPixels(shape, width, height) {
  const stroke = Math.max(1, shape.size * STROKE_PER_SIZE * width);
  const out = { tool: shape.tool, color: shape.color, stroke };
  if (shape.tool === "rect" || shape.tool === "ellipse") {
    Object.assign(out, { x: shape.x * width, y: shape.y * height, w: shape.w * width, h: shape.h * height });
  } else if (shape.tool === "arrow" || shape.tool === "line") {
    Object.assign(out, { x1: shape.x1 * width, y1: shape.y1 * height, x2: shape.x2 * width, y2: shape.y2 * height });
    if (shape.tool === "arrow") out.head = arrowHead(out, Math.max(3 * stroke, 0.027 * width));
  } else if (shape.tool === "freehand") {
    out.points = shape.points.map(([x, y]) => [x * width, y * height]);
  } else if (shape.tool === "text") {
    const fontSize = Math.max(10, shape.size * TEXT_PER_SIZE * width);
    Object.assign(out, { x: shape.x * width, y: shape.y * height + fontSize, fontSize, text: shape.text });
  }
  return out;
}

function arrowHead({ x1, y1, x2, y2 }, size) {
  const angle = Math.atan2(y2 - y1, x2 - x1);
  return [[x2, y2], ...[0.85, -0.85].map((turn) => [
    x2 + size * Math.cos(angle + Math.PI * turn), y2 + size * Math.sin(angle + Math.PI * turn)])];
}
