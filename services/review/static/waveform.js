// A version's sound as a picture: the transcode worker's waveform.json
// (audiowaveform JSON, version 1 or 2: min/max pairs per window of
// `samples_per_pixel` samples) drawn on a canvas, the played part in the
// accent colour, a playhead, and a click that asks to seek.

/** The peaks of an audiowaveform JSON document, mixed to one channel, as -1..1 levels. */
export function parseWaveform(json) {
  const channels = Math.max(1, json.channels || 1);
  const full = json.bits === 16 ? 32768 : 128;
  const data = json.data || [];
  const length = Math.min(json.length ?? Infinity, Math.floor(data.length / (2 * channels)));
  const min = new Float32Array(length), max = new Float32Array(length);
  let peak = 0;
  for (let i = 0; i < length; i++) {
    let lo = Infinity, hi = -Infinity;
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * 2;
      lo = Math.min(lo, data[at] / full);
      hi = Math.max(hi, data[at + 1] / full);
    }
    min[i] = lo; max[i] = hi;
    peak = Math.max(peak, Math.abs(lo), Math.abs(hi));
  }
  const secondsPerPeak = (json.samples_per_pixel || 1) / (json.sample_rate || 1);
  return { min, max, length, peak, secondsPerPeak, duration: length * secondsPerPeak };
}

export async function fetchWaveform(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`waveform: HTTP ${response.status}`);
  return parseWaveform(await response.json());
}

const COLOURS = { played: "#4aa3ff", rest: "#6b7785", head: "#ffffff", hover: "rgba(255,255,255,.45)", axis: "#2c333b" };

export class WaveformView {
  /**
   * canvas: sized by CSS; the picture follows its size and the device pixel ratio.
   * duration: the timeline the canvas spans, in seconds (a video's frames / rate),
   * so the picture lines up with the seek bar; defaults to the waveform's own.
   * onSeek(fraction): a click at that fraction of the width.
   */
  constructor(canvas, waveform, { duration, onSeek, colours = {} } = {}) {
    this.canvas = canvas;
    this.waveform = waveform;
    this.duration = duration > 0 ? duration : waveform.duration;
    this.colours = { ...COLOURS, ...colours };
    this.position = 0;  // seconds
    this.hover = null;  // fraction under the pointer
    this.layers = null;
    this.ctx = canvas.getContext("2d");
    const fraction = (event) => {
      const box = canvas.getBoundingClientRect();
      return Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    };
    canvas.addEventListener("click", (event) => onSeek && onSeek(fraction(event)));
    canvas.addEventListener("mousemove", (event) => { this.hover = fraction(event); this.paint(); });
    canvas.addEventListener("mouseleave", () => { this.hover = null; this.paint(); });
    new ResizeObserver(() => this.render()).observe(canvas);
    this.render();
  }

  setPosition(seconds) {
    if (seconds === this.position) return;
    this.position = seconds;
    this.paint();
  }

  /** Draws the waveform twice (played and not), at the canvas's current size. */
  render() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio), height = Math.round(this.canvas.clientHeight * ratio);
    if (!width || !height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.layers = { played: this.layer(width, height, this.colours.played), rest: this.layer(width, height, this.colours.rest) };
    this.paint();
  }

  layer(width, height, colour) {
    const { min, max, length, peak, secondsPerPeak } = this.waveform;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = colour;
    const mid = height / 2;
    // Quiet recordings still read as a shape: the loudest peak reaches 95 % of the height.
    const gain = peak > 0 ? 0.95 / peak : 1;
    const peaksPerPixel = this.duration / secondsPerPeak / width;
    for (let x = 0; x < width; x++) {
      const first = Math.floor(x * peaksPerPixel);
      if (first >= length) break;
      let lo = 0, hi = 0;
      if (peaksPerPixel < 1) {
        // Fewer peaks than pixels: a straight line between neighbouring peaks, not steps.
        const at = Math.max(0, (x + 0.5) * peaksPerPixel - 0.5), i = Math.floor(at), next = Math.min(i + 1, length - 1);
        const t = at - i;
        lo = Math.min(0, min[i] + (min[next] - min[i]) * t);
        hi = Math.max(0, max[i] + (max[next] - max[i]) * t);
      } else {
        const last = Math.min(length, Math.max(first + 1, Math.ceil((x + 1) * peaksPerPixel)));
        for (let i = first; i < last; i++) { lo = Math.min(lo, min[i]); hi = Math.max(hi, max[i]); }
      }
      const top = mid - hi * gain * mid, bottom = mid - lo * gain * mid;
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    return canvas;
  }

  paint() {
    if (!this.layers) return;
    const { ctx, canvas } = this;
    const { width, height } = canvas;
    const ratio = window.devicePixelRatio || 1;
    const x = Math.round(Math.min(Math.max(this.position / this.duration, 0), 1) * width);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = this.colours.axis;
    ctx.fillRect(0, Math.floor(height / 2), width, Math.max(1, Math.round(ratio / 2)));
    if (x > 0) ctx.drawImage(this.layers.played, 0, 0, x, height, 0, 0, x, height);
    if (x < width) ctx.drawImage(this.layers.rest, x, 0, width - x, height, x, 0, width - x, height);
    if (this.hover !== null) {
      ctx.fillStyle = this.colours.hover;
      ctx.fillRect(Math.round(this.hover * width), 0, Math.max(1, Math.round(ratio)), height);
    }
    ctx.fillStyle = this.colours.head;
    const head = Math.max(2, Math.round(2 * ratio));
    ctx.fillRect(Math.min(Math.max(x - head / 2, 0), width - head), 0, head, height);
  }
}
