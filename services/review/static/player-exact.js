// The true picture on pause: once the player settles on a frame, the frame
// cut from the master (a lossless PNG through the CDN, stills_api) is drawn
// on a canvas laid over the video, exactly where the video's picture is, so
// the swap from the streamed frame shows no jump, only the finer picture.
// Playing or seeking hides it again. While it shows, Z (or the 100 % button)
// shows it at 100 % (one master pixel on one screen pixel), panned by dragging.
//
// window.framegatePlayer.exact says what is on the canvas (for tests).
export class ExactFrame {
  // stage: the positioned box holding the video; stillsUrl: the API prefix
  // (…/stills/) a frame number is appended to; root gets data-exact / data-zoom.
  constructor({ stage, video, stillsUrl, root, zoomButton = null }) {
    this.stage = stage;
    this.video = video;
    this.stillsUrl = stillsUrl;
    this.root = root;
    this.zoomButton = zoomButton;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "exact-frame";
    this.canvas.hidden = true;
    video.after(this.canvas);  // under the notes' drawing layer, over the video
    // Says what is on screen: the stream's picture and the master's look alike at a glance.
    this.badge = document.createElement("span");
    this.badge.className = "exact-badge";
    this.badge.hidden = true;
    this.canvas.after(this.badge);
    this.image = null;     // the still on the canvas (an HTMLImageElement)
    this.frame = null;     // its frame number
    this.wanted = null;    // the frame the player settled on last
    this.zoomed = false;
    this.pan = { x: 0.5, y: 0.5 };  // the picture point at the canvas centre at 100 %, as fractions
    this.state = { frame: null, url: null, zoomed: false, error: null };
    new ResizeObserver(() => this.draw()).observe(stage);
    this.bindPan();
    if (zoomButton) zoomButton.addEventListener("click", () => this.toggleZoom());
    this.publish();
  }

  /** The player settled on `frame` (paused, presented): show that frame's still once it is in. */
  settle(frame) {
    if (this.wanted === frame) return;  // showing it, or on its way
    if (this.frame !== frame) this.hide();
    this.wanted = frame;
    // A short rest first: frames stepped through quickly are not cut for nothing.
    this.timer = setTimeout(() => this.load(frame, 1), REST_MS);
  }

  async load(frame, retries) {
    const request = new AbortController();
    this.request = request;
    try {
      const response = await fetch(this.stillsUrl + frame, { headers: { Accept: "application/json" },
                                                             signal: request.signal });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
      if (this.wanted !== frame) return;
      const image = new Image();
      image.src = body.url;
      await image.decode();  // fully decoded before the swap: no half-drawn picture
      if (this.wanted !== frame) return;  // stepped or played on meanwhile
      this.image = image;
      this.frame = frame;
      this.state = { frame, url: body.url, zoomed: this.zoomed, error: null, width: body.width, height: body.height };
      this.canvas.hidden = false;
      this.draw();
    } catch (err) {
      if (this.wanted !== frame || request.signal.aborted) return;
      // A signed URL can expire on a congested page before its image is fetched: ask again once.
      if (retries > 0) return this.load(frame, retries - 1);
      this.state = { ...this.state, frame: null, error: String(err.message || err) };
    } finally {
      if (this.request === request) this.request = null;
      this.publish();
    }
  }

  /** Back to the stream (playing, seeking, or a frame whose still is not in yet). */
  hide() {
    clearTimeout(this.timer);
    if (this.request) this.request.abort();  // frees the connection for the frames that matter
    this.request = null;
    this.wanted = null;
    this.frame = null;
    this.image = null;
    this.canvas.hidden = true;
    if (this.zoomed) this.setZoom(false);
    this.state = { ...this.state, frame: null, url: null };
    this.publish();
  }

  toggleZoom() {
    if (!this.image) return;  // 100 % is of the exact still only
    this.setZoom(!this.zoomed);
  }

  setZoom(on) {
    this.zoomed = on;
    if (on) this.pan = { x: 0.5, y: 0.5 };
    this.stage.classList.toggle("exact-zoomed", on);
    this.state = { ...this.state, zoomed: on };
    this.draw();
    this.publish();
  }

  /** Where the picture sits in the stage at fit: the video's own letterboxed rectangle. */
  fitRect(width, height) {
    const w = this.image.naturalWidth, h = this.image.naturalHeight;
    const scale = Math.min(width / w, height / h);
    return { left: (width - w * scale) / 2, top: (height - h * scale) / 2, width: w * scale, height: h * scale };
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const width = this.stage.clientWidth, height = this.stage.clientHeight;
    Object.assign(this.canvas.style, { width: `${width}px`, height: `${height}px` });
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    if (!this.image) return;
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const w = this.image.naturalWidth, h = this.image.naturalHeight;
    if (this.zoomed) {
      // One master pixel on one device pixel, no smoothing; the pan point at the centre, edges kept inside.
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
      ctx.imageSmoothingEnabled = false;
      const x = clampOffset(this.canvas.width / 2 - this.pan.x * w, this.canvas.width, w);
      const y = clampOffset(this.canvas.height / 2 - this.pan.y * h, this.canvas.height, h);
      ctx.drawImage(this.image, Math.round(x), Math.round(y));
    } else {
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      const box = this.fitRect(this.canvas.width, this.canvas.height);
      ctx.drawImage(this.image, box.left, box.top, box.width, box.height);
    }
  }

  bindPan() {
    let drag = null;
    this.canvas.addEventListener("pointerdown", (event) => {
      if (!this.zoomed || event.button !== 0) return;
      event.preventDefault();
      this.canvas.setPointerCapture(event.pointerId);
      drag = { x: event.clientX, y: event.clientY, pan: { ...this.pan } };
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (!drag || !this.image) return;
      const dpr = window.devicePixelRatio || 1;
      const w = this.image.naturalWidth, h = this.image.naturalHeight;
      // Dragging moves the picture with the pointer.
      this.pan = { x: clamp01(drag.pan.x - (event.clientX - drag.x) * dpr / w),
                   y: clamp01(drag.pan.y - (event.clientY - drag.y) * dpr / h) };
      this.draw();
    });
    const end = () => { drag = null; };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
  }

  publish() {
    this.badge.hidden = this.frame === null;
    this.badge.textContent = this.frame === null ? ""
      : `Master frame ${this.frame}${this.zoomed ? " · 100 %" : ""}`;
    this.root.dataset.exact = this.frame === null ? "" : String(this.frame);
    this.root.dataset.zoom = this.zoomed ? "100" : "fit";
    if (this.zoomButton) {
      this.zoomButton.disabled = !this.image;
      this.zoomButton.textContent = this.zoomed ? "Fit" : "100 %";
    }
    const player = window.framegatePlayer;
    if (player) player.exact = { ...this.state, frame: this.frame, zoomed: this.zoomed };
  }
}

const REST_MS = 120;
const clamp01 = (v) => Math.min(1, Math.max(0, v));

/** The picture's left (or top) edge: centred when it is smaller than the view, else never leaving a gap. */
function clampOffset(offset, view, size) {
  if (size <= view) return (view - size) / 2;
  return Math.min(0, Math.max(view - size, offset));
}
