// The project page's review links (owners and admins): make one for a version
// or an asset's current version, copy its URL (shown once: only its digest is
// kept), see each link's rules and state, revoke it, open its access log.
// Every piece of user text goes in with textContent, never as HTML.
const panel = document.getElementById("links");

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

if (panel) {
  const $ = (name) => panel.querySelector(`[data-part=${name}]`);
  const form = document.getElementById("link-form");
  const listUrl = `/api/v1/review/projects/${panel.dataset.projectId}/links`;
  // What a link points at, named as the form's choices name it.
  const labels = new Map([...form.elements.target.options].map((o) => [o.value, o.dataset.label]));

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Framegate-CSRF": panel.dataset.csrf || "1" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) throw new Error(data.message || `The server answered ${response.status}.`);
    return data;
  }

  function say(message) { $("error").textContent = message || ""; $("error").hidden = !message; }

  function rules(link) {
    const parts = [link.comments ? "comments" : "no comments", link.download ? "download" : "no download"];
    if (link.password) parts.push("password");
    if (link.allowed_domains.length) parts.push(`only @${link.allowed_domains.join(", @")}`);
    return parts.join(" · ");
  }

  function row(link) {
    const target = link.version_id ? `version:${link.version_id}` : `asset:${link.asset_id}`;
    const tr = el("tr", { class: `link-row state-${link.state}`, "data-link-id": link.link_id, "data-state": link.state });
    const stage = el("td");
    stage.append(el("div", { class: "link-stage" }, link.stage));
    if (link.brief) stage.append(el("div", { class: "muted link-brief" }, link.brief));
    const actions = el("div", { class: "link-actions" });
    actions.append(el("a", { href: `/links/${link.link_id}/access`, "data-action": "access" }, "Access log"));
    if (link.state === "active") {
      const revoke = el("button", { type: "button", "data-action": "revoke" }, "Revoke");
      revoke.addEventListener("click", async () => {
        if (!window.confirm(`Revoke "${link.stage}"? Anyone watching it stops within a minute.`)) return;
        revoke.disabled = true;
        try { await api("POST", `/api/v1/review/links/${link.link_id}/revoke`); say(""); await load(); }
        catch (err) { say(err.message); revoke.disabled = false; }
      });
      actions.append(revoke);
    }
    const state = el("td");
    state.append(el("span", { class: `link-state link-state-${link.state}` }, link.state));
    tr.append(stage, el("td", {}, link.kind), el("td", {}, labels.get(target) || "(gone)"),
      el("td", { class: "muted" }, rules(link)),
      el("td", {}, link.expires_at ? `${link.expires_at.slice(0, 16).replace("T", " ")} UTC` : "never"),
      state, el("td"));
    tr.lastChild.append(actions);
    return tr;
  }

  async function load() {
    const { links } = await api("GET", listUrl);
    links.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
    $("list").replaceChildren(...links.map(row));
    $("empty").hidden = links.length > 0;
    panel.dataset.loaded = "1";
  }

  function body() {
    const f = form.elements;
    const [kind, id] = f.target.value.split(":");
    const made = { kind: f.kind.value, stage: f.stage.value.trim(), brief: f.brief.value.trim(),
      comments: f.comments.checked, download: f.download.checked,
      allowed_domains: f.domains.value.split(/[\s,;]+/).map((d) => d.replace(/^@/, "")).filter(Boolean) };
    made[kind === "asset" ? "asset_id" : "version_id"] = id;
    if (f.expires.value) made.expires_at = new Date(f.expires.value).toISOString();
    if (f.password.value) made.password = f.password.value;
    return made;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const link = await api("POST", "/api/v1/review/links", body());
      $("url").value = link.url;
      $("copied").textContent = "Shown only now: copy it and send it.";
      $("made").hidden = false;
      form.elements.password.value = "";
      say("");
      await load();
    } catch (err) { say(err.message); } finally { submit.disabled = false; }
  });

  $("copy").addEventListener("click", async () => {
    const input = $("url");
    try { await navigator.clipboard.writeText(input.value); } catch {
      input.select(); document.execCommand("copy");  // no clipboard API on plain http
    }
    $("copied").textContent = "Copied.";
  });

  load().catch((err) => say(err.message));
}
