// A review link that allows approving: Approve, or Request changes with a
// reason, sent to the link session's decision API. Approval decides whether
// this reviewer may (an approver of the gate, in turn, the gate open, this
// version up for it); its refusals are shown as they come, since they say
// what to do next.
const panel = document.getElementById("link-approval");

const part = (name) => panel.querySelector(`[data-part=${name}]`);

function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function outcomeText(answer) {
  const decided = answer.decision.decision === "approve" ? "You approved" : "You requested changes to";
  const stage = answer.stage || {};
  const version = answer.decision.version_number ? `v${answer.decision.version_number}` : "this version";
  let gate = "";
  if (stage.closed) gate = " The gate is closed: this stage is approved.";
  else if (stage.status === "changes_requested") gate = " The gate waits for a new version.";
  else if ((stage.pending || []).length) gate = ` Still to decide: ${stage.pending.join(", ")}.`;
  const again = answer.created ? "" : " (already recorded)";
  return `${decided} ${version}${again}.${gate}`;
}

async function decide(decision, reason) {
  const buttons = panel.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  show(part("error"), "");
  try {
    const response = await fetch(panel.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-Framegate-CSRF": "1", "Content-Type": "application/json" },
      body: JSON.stringify({ decision, reason }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      panel.dataset.error = data.error || String(response.status);
      throw new Error(data.message || `The server answered ${response.status}; nothing was recorded.`);
    }
    delete panel.dataset.error;
    if (data.stage) {
      show(part("stage"), data.stage.title || data.stage.stage || part("stage").textContent);
      if (data.stage.scope) show(part("scope"), data.stage.scope);
    }
    panel.dataset.decided = decision;
    part("reason-form").hidden = true;
    show(part("outcome"), outcomeText(data));
  } catch (err) {
    show(part("error"), err.message);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

if (panel) {
  const form = part("reason-form");
  const reason = form.querySelector("textarea");
  panel.querySelector("[data-decision=approve]").addEventListener("click", () => decide("approve", ""));
  panel.querySelector("[data-decision=changes]").addEventListener("click", () => {
    form.hidden = false;
    reason.focus();
  });
  part("cancel").addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      show(part("error"), "Say what needs to change: a request for changes needs a reason.");
      reason.focus();
      return;
    }
    decide("changes", text);
  });
}
