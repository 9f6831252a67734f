// Live status and progress on the versions list: polls the ingest API (same
// origin, the session cookie) and updates the rows in place. Versions the page
// does not show yet (uploaded from this page or elsewhere) get a row, and an
// asset section when their asset is new; the upload area asks for a refresh
// at once with the `framegate:version-added` event.
const container = document.getElementById("versions");
const FINAL = new Set(["ready", "failed"]);
let timer = null;

function cell(className, field) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (field) td.dataset.field = field;
  return td;
}

function assetSection(version) {
  let section = container.querySelector(`section.asset[data-asset-id="${version.asset_id}"]`);
  if (section) return section;
  container.querySelector(".no-assets")?.remove();
  section = document.createElement("section");
  section.className = "asset";
  section.dataset.assetId = version.asset_id;
  const title = document.createElement("h2");
  title.textContent = version.asset_name;
  const table = document.createElement("table");
  table.className = "versions";
  const head = table.createTHead().insertRow();
  for (const label of ["", "Version", "File", "Status", "Progress", "Uploaded", ""]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.append(th);
  }
  table.createTBody();
  section.append(title, table);
  // Assets are listed by name, as the server renders them.
  const after = Array.from(container.querySelectorAll("section.asset"))
    .find((s) => s.querySelector("h2").textContent.localeCompare(version.asset_name) > 0);
  container.insertBefore(section, after || null);
  return section;
}

function addRow(version) {
  const tbody = assetSection(version).querySelector("tbody");
  const row = document.createElement("tr");
  row.dataset.versionId = version.id;
  row.dataset.number = version.number;
  row.className = "new-version";
  const player = `/versions/${encodeURIComponent(version.id)}`;
  const status = document.createElement("span");
  status.dataset.field = "status";
  const progress = document.createElement("progress");
  progress.max = 100;
  progress.dataset.field = "progress";
  const percent = document.createElement("span");
  percent.dataset.field = "percent";
  const link = document.createElement("a");
  link.className = "play";
  link.href = player;
  link.textContent = "Open player";
  const cells = [cell("thumb", "thumb"), cell(), cell(), cell(), cell(), cell("muted"), cell()];
  cells[1].textContent = `v${version.number}`;
  cells[2].textContent = version.filename;
  cells[3].append(status);
  cells[4].append(progress, " ", percent);
  cells[5].textContent = (version.created_at || "").slice(0, 16).replace("T", " ");
  cells[6].append(link);
  row.append(...cells);
  const later = Array.from(tbody.rows).find((r) => Number(r.dataset.number || 0) > version.number);
  tbody.insertBefore(row, later || null);
  return row;
}

function show(row, version) {
  const percent = Math.floor(version.progress ?? 0);
  const status = row.querySelector('[data-field="status"]');
  status.textContent = version.status;
  status.className = `status status-${version.status}`;
  row.querySelector('[data-field="progress"]').value = percent;
  row.querySelector('[data-field="percent"]').textContent = `${percent} %`;
  const thumb = row.querySelector('[data-field="thumb"]');
  if (version.playback?.poster_url && !thumb.querySelector("img")) {
    const img = document.createElement("img");
    img.src = version.playback.poster_url;
    img.alt = `v${version.number} poster`;
    const link = document.createElement("a");
    link.href = `/versions/${encodeURIComponent(version.id)}`;
    link.append(img);
    thumb.replaceChildren(link);
  }
}

async function refresh() {
  clearTimeout(timer);
  let pending = false;
  try {
    const response = await fetch(container.dataset.versionsUrl, { credentials: "same-origin" });
    if (response.status === 401) { window.location.reload(); return; }
    if (!response.ok) throw new Error(String(response.status));
    for (const version of (await response.json()).versions) {
      const row = container.querySelector(`tr[data-version-id="${version.id}"]`) || addRow(version);
      show(row, version);
      if (!FINAL.has(version.status)) pending = true;
    }
  } catch (err) {
    pending = true;
  }
  clearTimeout(timer);
  timer = setTimeout(refresh, pending ? 2000 : 15000);
}

if (container) {
  refresh();
  document.addEventListener("framegate:version-added", () => refresh());
}
