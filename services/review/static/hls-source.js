// Plays a version's HLS master in a media element: hls.js where the browser
// has MSE, natively on Safari. Every request hls.js makes carries the viewing
// session's current token (playback-session.js), so playback goes on across
// token refreshes. A fatal error usually means the version is not playable
// yet: ask for its status and try again, unless it failed or access ended.
import { accessEnded, accessEndedMessage, ensureFresh, fresh, onAccessEnded, refresh } from "./playback-session.js";
import { refreshStatus } from "./player-status.js";

const RETRY_MS = 3000;
const MEMBER_ENDED = "You no longer have access to this project: playback has stopped.";
const ended = () => (accessEndedMessage() ? `${accessEndedMessage()} Playback has stopped.` : MEMBER_ENDED);

// `configure(hls)` adds the caller's own hls.js listeners; `onHls` receives the
// current instance (or null once it is destroyed).
export function playHls(media, url, { notice, configure = () => {}, onHls = () => {} }) {
  const Hls = window.Hls;
  if (accessEnded()) return notice(ended());
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({
      enableWorker: true,
      startPosition: 0,
      // Opening the request here replaces hls.js's own open with the URL as of now.
      xhrSetup: async (xhr, requested) => {
        await ensureFresh();
        xhr.open("GET", fresh(requested), true);
      },
    });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      hls.destroy();
      onHls(null);
    };
    onHls(hls);
    configure(hls, Hls);
    onAccessEnded(() => { stop(); media.pause(); notice(ended()); });
    hls.on(Hls.Events.ERROR, async (_e, data) => {
      if (!data.fatal || stopped) return;
      stop();
      if (!(await refresh())) return;  // refused: onAccessEnded has said so
      const version = await refreshStatus();
      if (version && version.status === "failed") return notice("This version could not be transcoded.");
      notice(`Not playable yet (${version ? version.status : "unknown"}); trying again…`);
      setTimeout(() => playHls(media, url, { notice, configure, onHls }), RETRY_MS);
    });
    hls.loadSource(fresh(url));
    hls.attachMedia(media);
  } else if (media.canPlayType("application/vnd.apple.mpegurl")) {
    // Safari plays HLS itself and cannot be given fresh tokens mid-stream:
    // it plays until the page's token expires (one lifetime).
    media.src = fresh(url);
    onAccessEnded(() => { media.pause(); notice(ended()); });
  } else {
    notice("This browser cannot play HLS.");
  }
}
