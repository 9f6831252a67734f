// This viewing session's signed CDN URLs. They live only a short while
// (FRAMEGATE_PLAYBACK_TTL, a minute by default), so the page asks the API for
// fresh ones before they expire, and every CDN request (hls.js playlists and
// segments, renditions) is made with the newest token. Someone removed from
// the project is refused a fresh token: their playback stops within one
// lifetime, whatever the page does, because the CDN refuses expired tokens.
const config = JSON.parse(document.getElementById("player-data").textContent);
const root = document.getElementById("player");
const SIGNED = /\/cdn\/[A-Za-z0-9_-]+\/[0-9]+\//;
const RETRY_S = 2;

let base = config.cdn_base;
// Seconds on this page's clock (performance.now) when the token expires. The
// page was rendered after navigation started, so this errs on the early side.
let validUntil = config.expires_in;
let lifetime = config.expires_in;
let refreshing = null;
let timer = null;
let ended = false;
const endListeners = [];
let refreshes = 0;
let endedMessage = null;

const nowS = () => performance.now() / 1000;

/** The signed base (`/cdn/<token>/<expires>/<project>/<version>/`) to use now. */
export function currentBase() { return base; }

/** `url` (any CDN URL of this version) carrying the current token. */
export function fresh(url) { return url.replace(SIGNED, base.match(SIGNED)[0]); }

export function accessEnded() { return ended; }

/** Why access ended, when the server said (a revoked or expired review link). */
export function accessEndedMessage() { return endedMessage; }

/** Calls `listener()` once this session may no longer watch (now, if that is already so). */
export function onAccessEnded(listener) {
  endListeners.push(listener);
  if (ended) listener();
}

function end() {
  if (ended) return;
  ended = true;
  clearTimeout(timer);
  root.dataset.access = "ended";
  endListeners.slice().forEach((listener) => listener());
}

function schedule(seconds) {
  clearTimeout(timer);
  timer = setTimeout(refresh, Math.max(0, seconds) * 1000);
}

// Ask again after half the lifetime, and never later than 20 s before expiry.
const refreshDue = () => validUntil - Math.min(lifetime / 2, 20);

/** Fetches fresh URLs; resolves true while this session may watch, false once refused. */
export function refresh() {
  if (ended) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const asked = nowS();
        const response = await fetch(config.playback_url, { credentials: "same-origin" });
        if ([401, 403, 404, 410].includes(response.status)) {
          // A closed review link (410) says why; the player shows it.
          if (response.status === 410) endedMessage = await response.json().then((b) => b.message, () => null);
          end();
          return false;
        }
        if (!response.ok) { schedule(RETRY_S); return true; }
        const body = await response.json();
        base = body.cdn_base;
        lifetime = body.expires_in;
        validUntil = asked + body.expires_in;
        refreshes += 1;
        root.dataset.refreshes = String(refreshes);
        schedule(refreshDue() - nowS());
        return true;
      } catch (err) {
        schedule(RETRY_S);  // the network, not a refusal: try again soon
        return true;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** Waits for a fresh token if the current one is due for renewal (for a request about to go out). */
export async function ensureFresh() {
  if (!ended && nowS() >= refreshDue()) await refresh();
}

schedule(refreshDue() - nowS());
