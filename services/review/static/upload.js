// Browser upload on the project page, the same protocol as the CLI
// (framegate/batch.py, framegate/transfer.py):
//   one POST /api/v1/uploads for the batch (a fingerprint per file, so choosing
//   the same file again after a failure resumes the same upload);
//   each file read once, in order, through SHA-256 (static/sha256.js); parts the
//   server already holds (parts_done) are hashed, not sent; the others are PUT to
//   their presigned URLs, four at a time across the batch;
//   then POST /api/v1/uploads/<id>/complete with the whole file's SHA-256 (202),
//   and GET /api/v1/uploads/<id>/completion until it is done or failed.
// Presigned URLs point at the object store's public endpoint (another origin,
// which answers CORS for this one; the CSP's connect-src allows it).
import { Sha256, sha256Hex } from "./sha256.js";

const PARALLEL_PUTS = 4;
const PARALLEL_FILES = 3;   // files being read and hashed at once
const READ_CHUNK = 4 * 1024 * 1024;
const RETRIES = 3;
const BACKOFF_MS = 500;

const root = document.getElementById("upload");

// A counting semaphore: at most `n` holders at once.
class Slots {
  constructor(n) { this.free = n; this.waiting = []; }
  take() {
    if (this.free > 0) { this.free--; return Promise.resolve(); }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  give() {
    const next = this.waiting.shift();
    if (next) next(); else this.free++;
  }
}
const putSlots = new Slots(PARALLEL_PUTS);
const fileSlots = new Slots(PARALLEL_FILES);

class UploadFailed extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// Formatting -------------------------------------------------------------------
function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}
function duration(seconds) {
  if (!isFinite(seconds)) return "–";
  seconds = Math.max(0, Math.round(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
}
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// The API (same origin, session cookie + CSRF header) ----------------------------
async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Framegate-CSRF": root.dataset.csrf || "1" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { /* not JSON */ }
  if (response.status === 401) throw new UploadFailed("unauthorized", "Your session has ended: reload the page and sign in.");
  return { status: response.status, ok: response.ok, data: data || {} };
}

// One file's row ---------------------------------------------------------------
class FileRow {
  constructor(file) {
    this.file = file;
    this.node = el("li", { class: "upload-item", "data-state": "waiting", "data-filename": file.name });
    const head = el("div", { class: "upload-head" });
    head.append(el("span", { class: "upload-name" }, file.name), el("span", { class: "upload-size muted" }, bytes(file.size)));
    this.bar = el("progress", { max: String(Math.max(file.size, 1)), value: "0", "data-field": "bar" });
    this.percent = el("span", { class: "upload-percent", "data-field": "percent" }, "0 %");
    this.detail = el("span", { class: "upload-detail muted", "data-field": "detail" }, "waiting");
    const line = el("div", { class: "upload-line" });
    line.append(this.bar, this.percent, this.detail);
    this.message = el("div", { class: "upload-message", "data-field": "message" });
    this.node.append(head, line, this.message);
    this.done = 0;          // bytes stored (resumed parts + parts sent)
    this.sentNow = 0;       // bytes sent by this page (for the rate)
    this.started = null;
  }
  state(name, text) {
    this.node.dataset.state = name;
    if (text !== undefined) this.detail.textContent = text;
  }
  progress() {
    const size = Math.max(this.file.size, 1);
    const pct = Math.min(100, Math.floor((this.done / size) * 100));
    this.bar.value = Math.min(this.done, size);
    this.percent.textContent = `${pct} %`;
    if (this.node.dataset.state !== "sending") return;
    const seconds = this.started ? (performance.now() - this.started) / 1000 : 0;
    const rate = seconds > 0.3 ? this.sentNow / seconds : 0;
    const eta = rate > 0 ? (this.file.size - this.done) / rate : Infinity;
    this.detail.textContent = `${bytes(this.done)} of ${bytes(this.file.size)} · ${rate ? bytes(rate) + "/s" : "–"} · ETA ${duration(eta)}`;
  }
  fail(code, message) {
    this.state("failed", "failed");
    this.node.dataset.error = code;
    this.message.textContent = `${code}: ${message}`;
    this.message.className = "upload-message error";
  }
}

// Parts ------------------------------------------------------------------------
function partRange(number, partSize, size) {
  return [(number - 1) * partSize, Math.min(number * partSize, size)];
}

function storageError(status, text) {
  const code = /<Code>([^<]+)<\/Code>/.exec(text || "");
  const message = /<Message>([^<]+)<\/Message>/.exec(text || "");
  return `storage answered HTTP ${status}${code ? " " + code[1] : ""}${message ? ": " + message[1] : ""}`;
}

// One PUT with upload progress (fetch has none): resolves with the status and body.
function put(url, blob, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    let reported = 0;
    xhr.open("PUT", url);
    xhr.upload.onprogress = (event) => { onProgress(event.loaded - reported); reported = event.loaded; };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, reported });
    xhr.onerror = () => resolve({ status: 0, text: "", reported });
    xhr.ontimeout = () => resolve({ status: 0, text: "", reported });
    xhr.send(blob);
  });
}

class Transfer {
  constructor(row, item) {
    this.row = row;
    this.item = item;
    this.size = item.size;
    this.partSize = item.part_size;
    this.count = item.part_count;
    this.urls = new Map(item.parts.map((p) => [p.number, p.url]));
    this.doneParts = new Set(item.parts_done.filter((p) => p.size === partRange(p.number, this.partSize, this.size)[1]
      - partRange(p.number, this.partSize, this.size)[0]).map((p) => p.number));
    this.failure = null;
    this.urlGeneration = 0;
  }

  async run() {
    const file = this.row.file;
    if (file.size !== this.size) throw new UploadFailed("file_changed", `${file.name} is ${file.size} bytes, the upload was opened for ${this.size}.`);
    for (let n = 1; n <= this.count; n++) {
      if (!this.doneParts.has(n) && !this.urls.has(n)) {
        throw new UploadFailed("bad_upload", "The server sent no upload URL for some missing parts; choose the file again.");
      }
    }
    for (const n of this.doneParts) { const [a, b] = partRange(n, this.partSize, this.size); this.row.done += b - a; }
    this.row.state("sending");
    this.row.started = performance.now();
    this.row.progress();
    const whole = new Sha256();
    const sends = [];
    try {
      for (let n = 1; n <= this.count && !this.failure; n++) {
        const [start, end] = partRange(n, this.partSize, this.size);
        const missing = !this.doneParts.has(n);
        if (missing) await putSlots.take();
        let handed = false;
        try {
          if (this.failure) break;
          await this.hash(whole, file, start, end);  // every byte, in order, sent or not
          if (missing) {
            sends.push(this.send(n, file.slice(start, end)).finally(() => putSlots.give()));
            handed = true;
          }
        } finally {
          if (missing && !handed) putSlots.give();
        }
      }
    } catch (err) {
      this.failure = this.failure || err;  // the senders stop too
    }
    await Promise.allSettled(sends);
    if (this.failure) throw this.failure;
    return whole.hex();
  }

  async hash(hasher, file, start, end) {
    for (let at = start; at < end; at += READ_CHUNK) {
      const buffer = await file.slice(at, Math.min(at + READ_CHUNK, end)).arrayBuffer();
      if (buffer.byteLength !== Math.min(READ_CHUNK, end - at)) {
        throw new UploadFailed("file_changed", `${file.name} got shorter while uploading; choose it again.`);
      }
      hasher.update(new Uint8Array(buffer));
    }
  }

  async send(number, blob) {
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      if (this.failure) return;
      const generation = this.urlGeneration;
      const result = await put(this.urls.get(number), blob, (delta) => {
        this.row.done += delta; this.row.sentNow += delta; this.row.progress();
      });
      if (result.status >= 200 && result.status < 300) return;
      this.row.done -= result.reported; this.row.sentNow -= result.reported; this.row.progress();
      let problem = result.status === 0
        ? "cannot reach the object store (network error, or it refused this page's origin)"
        : storageError(result.status, result.text);
      let retryable = result.status === 0 || result.status === 408 || result.status === 429 || result.status >= 500;
      if (result.status === 403) retryable = await this.renew(generation);  // most often an expired URL
      if (!retryable || attempt === RETRIES) {
        this.failure = new UploadFailed("part_failed",
          `part ${number} of ${this.count} failed after ${attempt + 1} attempt${attempt ? "s" : ""}: ${problem}. ` +
          "Choose the same file again to send the rest.");
        return;
      }
      await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt));
    }
  }

  async renew(seenGeneration) {
    if (this.urlGeneration !== seenGeneration) return true;
    const fresh = await api("GET", `/api/v1/uploads/${this.item.upload_id}`);
    if (!fresh.ok) return false;
    this.urlGeneration++;
    for (const p of fresh.data.parts || []) this.urls.set(p.number, p.url);
    return true;
  }
}

// One batch --------------------------------------------------------------------
function fingerprint(file) {
  return sha256Hex(`${file.name}|${file.size}|${file.lastModified}`);
}

async function uploadBatch(files) {
  const list = root.querySelector("#upload-list");
  const asset = root.querySelector("#upload-asset").value.trim();
  const rows = files.map((f) => new FileRow(f));
  for (const row of rows) list.prepend(row.node);
  const specs = files.map((f) => {
    const spec = { filename: f.name, size: f.size, fingerprint: fingerprint(f) };
    if (asset) spec.asset = asset;
    return spec;
  });
  let answer;
  try {
    answer = await api("POST", "/api/v1/uploads", { project_id: root.dataset.projectId, files: specs });
  } catch (err) {
    for (const row of rows) row.fail(err.code || "network", err.message);
    return;
  }
  const items = answer.data.uploads;
  if (!Array.isArray(items)) {
    for (const row of rows) row.fail(answer.data.error || `http_${answer.status}`, answer.data.message || "The upload was refused.");
    return;
  }
  // Items come back in request order.
  await Promise.all(rows.map((row, i) => uploadOne(row, items[i])));
}

// The server hashes and probes the master in the background (minutes for a
// big master): poll the completion until it is done or failed.
async function awaitCompletion(row, uploadId, status) {
  let wait = 200;
  const started = performance.now();
  while (status.state === "completing") {
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.5, 5000);
    const seconds = Math.round((performance.now() - started) / 1000);
    row.state("completing", `checking the file on the server (hash, media facts)… ${seconds ? duration(seconds) : ""}`);
    let polled;
    try {
      polled = await api("GET", `/api/v1/uploads/${uploadId}/completion`);
    } catch (err) {
      if (err instanceof UploadFailed) throw err;
      continue;  // the network or the server is restarting: the completion is durable, ask again
    }
    if (polled.ok) status = polled.data;
    else if (polled.status < 500 && polled.status !== 0) throw new UploadFailed(polled.data.error || `http_${polled.status}`, polled.data.message || "The server lost this upload.");
  }
  if (status.state === "failed") {
    const failure = status.failure || {};
    const again = failure.retryable ? " The uploaded file is kept: choose the same file again to retry." : "";
    throw new UploadFailed(failure.error || "completion_failed", (failure.message || "The server could not complete this upload.") + again);
  }
  return status.version;
}

async function uploadOne(row, item) {
  if (!item) return row.fail("no_answer", "The server's answer did not mention this file; choose it again.");
  if (item.error) return row.fail(item.error, item.message || item.error);
  await fileSlots.take();
  try {
    let version;
    if (item.state === "completed" && item.version_id) {
      version = (await api("GET", `/api/v1/versions/${item.version_id}`)).data;
      row.done = row.file.size;
    } else if (item.state === "completing") {  // sent in full by another client or tab
      row.done = row.file.size;
      version = await awaitCompletion(row, item.upload_id, { state: "completing" });
    } else {
      const sha256 = await new Transfer(row, item).run();
      row.done = row.file.size;
      row.progress();
      row.state("completing", "checking the file on the server…");
      const asked = await api("POST", `/api/v1/uploads/${item.upload_id}/complete`, { sha256 });
      if (!asked.ok) throw new UploadFailed(asked.data.error || `http_${asked.status}`, asked.data.message || "The server refused the file.");
      version = await awaitCompletion(row, item.upload_id, asked.data);
    }
    row.progress();
    row.state("done", `${version.asset_name} v${version.number} · ${version.status}`);
    row.node.dataset.versionId = version.id;
    document.dispatchEvent(new CustomEvent("framegate:version-added", { detail: version }));
  } catch (err) {
    // A DOMException (the file could not be read) has a numeric legacy `code`.
    row.fail(typeof err.code === "string" ? err.code : "read_failed", err.message || String(err));
  } finally {
    fileSlots.give();
  }
}

// Choosing and dropping ----------------------------------------------------------
if (root) {
  const input = root.querySelector("#upload-files");
  const zone = root.querySelector("#upload-drop");
  input.addEventListener("change", () => {
    const files = Array.from(input.files);
    input.value = "";  // choosing the same file again (to resume) fires change again
    if (files.length) uploadBatch(files);
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const files = Array.from(event.dataTransfer.files || []);
    if (files.length) uploadBatch(files);
  });
}
