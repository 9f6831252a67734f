// The drawing layer over the video: an SVG laid exactly over the displayed
// picture (not the letterbox bars), re-laid whenever the element or the
// picture changes size. It shows saved drawings (frame-normalised shapes,
// turned into this size's pixels by note-shapes.js) and, in drawing mode,
// lets the pointer add shapes with the tool bar's tool, colour and size.
import { isVisible, pictureRect, shapeFromDrag, shapeInPixels, thinPoints, toFrame } from "./note-shapes.js";

const SVG = "http://www.w3.org/2000/svg";

function svgNode(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export class NoteOverlay {
  // stage: the positioned box holding the video; toolbar: the tool bar's
  // element (buttons [data-tool], input[name=color], select[name=size],
  // input[name=shape-text], [data-action=undo|clear]); onDraft(shapes) is told
  // of every change to the shapes being drawn.
  constructor({ stage, video, toolbar, onDraft = () => {} }) {
    this.video = video;
    this.toolbar = toolbar;
    this.onDraft = onDraft;
    this.saved = [];
    this.draft = [];
    this.drawing = false;
    this.tool = "rect";
    this.svg = svgNode("svg", { class: "note-overlay", "data-drawing": "0" });
    stage.append(this.svg);
    new ResizeObserver(() => this.layout()).observe(video);
    video.addEventListener("loadedmetadata", () => this.layout());
    video.addEventListener("resize", () => this.layout());  // a rung of another size
    this.bindPointer();
    if (toolbar) this.bindToolbar();
    this.layout();
  }

  // Where the picture is, in the stage's pixels.
  layout() {
    const box = pictureRect(this.video.clientWidth, this.video.clientHeight, this.video.videoWidth, this.video.videoHeight);
    Object.assign(this.svg.style, {
      left: `${this.video.offsetLeft + box.left}px`, top: `${this.video.offsetTop + box.top}px`,
      width: `${box.width}px`, height: `${box.height}px`,
    });
    this.size = { width: box.width, height: box.height };
    this.render();
  }

  show(shapes) { this.saved = shapes; this.render(); }

  setDrawing(on) {
    this.drawing = on;
    this.svg.dataset.drawing = on ? "1" : "0";
    if (this.toolbar) this.toolbar.hidden = !on;
  }

  clearDraft() { this.draft = []; this.render(); this.onDraft(this.draft); }

  style() {
    const color = this.toolbar?.querySelector("[name=color]")?.value || "#f22237";
    const size = Number(this.toolbar?.querySelector("[name=size]")?.value || 8);
    return { color: color.toUpperCase(), size };
  }

  render(preview = null) {
    this.svg.replaceChildren();
    const { width, height } = this.size || { width: 0, height: 0 };
    if (!width || !height) return;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    for (const [shapes, kind] of [[this.saved, "saved"], [this.draft, "draft"], [preview ? [preview] : [], "draft"]]) {
      for (const shape of shapes) this.svg.append(this.element(shapeInPixels(shape, width, height), kind));
    }
  }

  element(p, kind) {
    const line = { stroke: p.color, "stroke-width": p.stroke, fill: "none", "stroke-linecap": "round",
      "stroke-linejoin": "round", class: `shape shape-${kind}`, "data-tool": p.tool };
    if (p.tool === "rect") return svgNode("rect", { ...line, x: p.x, y: p.y, width: p.w, height: p.h });
    if (p.tool === "ellipse") {
      return svgNode("ellipse", { ...line, cx: p.x + p.w / 2, cy: p.y + p.h / 2, rx: p.w / 2, ry: p.h / 2 });
    }
    if (p.tool === "line") return svgNode("line", { ...line, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2 });
    if (p.tool === "arrow") {
      const group = svgNode("g", { class: line.class, "data-tool": "arrow" });
      const { class: _c, "data-tool": _t, ...stroke } = line;  // the group is the shape
      group.append(svgNode("line", { ...stroke, x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2 }),
        svgNode("polygon", { fill: p.color, points: p.head.map((xy) => xy.join(",")).join(" ") }));
      return group;
    }
    if (p.tool === "freehand") {
      return svgNode("polyline", { ...line, points: p.points.map((xy) => xy.join(",")).join(" ") });
    }
    const text = svgNode("text", { class: line.class, "data-tool": "text", x: p.x, y: p.y, fill: p.color,
      "font-size": p.fontSize, "font-weight": 700, "paint-order": "stroke", stroke: "#000", "stroke-width": p.fontSize / 12 });
    text.textContent = p.text;  // the reviewer's words, as text
    return text;
  }

  // Drawing with the pointer ------------------------------------------------------
  at(event) {
    const box = this.svg.getBoundingClientRect();
    return toFrame(event.clientX - box.left, event.clientY - box.top, { left: 0, top: 0, width: box.width, height: box.height });
  }

  bindPointer() {
    let start = null, points = null, current = null;
    this.svg.addEventListener("pointerdown", (event) => {
      if (!this.drawing || event.button !== 0) return;
      event.preventDefault();
      const style = this.style();
      if (this.tool === "text") {
        const text = this.toolbar?.querySelector("[name=shape-text]")?.value.trim();
        if (text) this.add({ tool: "text", ...style, x: this.at(event)[0], y: this.at(event)[1], text });
        return;
      }
      this.svg.setPointerCapture(event.pointerId);
      start = this.at(event);
      points = this.tool === "freehand" ? [start] : null;
    });
    this.svg.addEventListener("pointermove", (event) => {
      if (!start) return;
      const here = this.at(event);
      const style = this.style();
      if (points) {
        points.push(here);
        current = { tool: "freehand", ...style, points };
      } else {
        current = shapeFromDrag(this.tool, start, here, style);
      }
      this.render(current);
    });
    const finish = (event) => {
      if (!start) return;
      if (!points) current = shapeFromDrag(this.tool, start, this.at(event), this.style());
      else if (current) current.points = thinPoints(points);
      if (current && isVisible(current)) this.add(current);
      else this.render();
      start = points = current = null;
    };
    this.svg.addEventListener("pointerup", finish);
    this.svg.addEventListener("pointercancel", () => { start = points = current = null; this.render(); });
  }

  add(shape) {
    this.draft = [...this.draft, shape];
    this.render();
    this.onDraft(this.draft);
  }

  bindToolbar() {
    const buttons = [...this.toolbar.querySelectorAll("[data-tool]")];
    const pick = (tool) => {
      this.tool = tool;
      for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
      const text = this.toolbar.querySelector("[name=shape-text]");
      if (text) text.hidden = tool !== "text";
    };
    for (const b of buttons) b.addEventListener("click", () => pick(b.dataset.tool));
    this.toolbar.querySelector("[data-action=undo]")?.addEventListener("click", () => {
      this.draft = this.draft.slice(0, -1);
      this.render();
      this.onDraft(this.draft);
    });
    this.toolbar.querySelector("[data-action=clear]")?.addEventListener("click", () => this.clearDraft());
    pick(this.tool);
  }
}
