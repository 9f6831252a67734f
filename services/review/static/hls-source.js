// Plays a version's HLS master in a media element: hls.js where the browser
// has MSE, natively on Safari. A fatal error usually means the version is not
// playable yet: ask for its status and try again, unless it failed.
import { refreshStatus } from "./player-status.js";

const RETRY_MS = 3000;

// `configure(hls)` adds the caller's own hls.js listeners; `onHls` receives the
// current instance (or null once it is destroyed).
export function playHls(media, url, { notice, configure = () => {}, onHls = () => {} }) {
  const Hls = window.Hls;
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({ enableWorker: true, startPosition: 0 });
    onHls(hls);
    configure(hls, Hls);
    hls.on(Hls.Events.ERROR, async (_e, data) => {
      if (!data.fatal) return;
      hls.destroy();
      onHls(null);
      const version = await refreshStatus();
      if (version && version.status === "failed") return notice("This version could not be transcoded.");
      notice(`Not playable yet (${version ? version.status : "unknown"}); trying again…`);
      setTimeout(() => playHls(media, url, { notice, configure, onHls }), RETRY_MS);
    });
    hls.loadSource(url);
    hls.attachMedia(media);
  } else if (media.canPlayType("application/vnd.apple.mpegurl")) {
    media.src = url;  // Safari plays HLS itself
  } else {
    notice("This browser cannot play HLS.");
  }
}
