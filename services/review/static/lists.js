// Live status and progress on the versions list: polls the ingest API (same
// origin, the session cookie) and updates the rows in place.
const container = document.getElementById("versions");
const FINAL = new Set(["ready", "failed"]);

async function refresh() {
  let pending = false;
  try {
    const response = await fetch(container.dataset.versionsUrl, { credentials: "same-origin" });
    if (response.status === 401) { window.location.reload(); return; }
    if (!response.ok) throw new Error(String(response.status));
    for (const version of (await response.json()).versions) {
      const row = container.querySelector(`tr[data-version-id="${version.id}"]`);
      if (!row) { pending = true; continue; }  // a new version: the next page load shows it
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
        thumb.replaceChildren(img);
      }
      if (!FINAL.has(version.status)) pending = true;
    }
  } catch (err) {
    pending = true;
  }
  setTimeout(refresh, pending ? 2000 : 15000);
}

if (container) refresh();
