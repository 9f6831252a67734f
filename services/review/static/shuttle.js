// J/K/L shuttle for a media element. L plays forward, faster on each press
// (1, 2, 4, 8×); J goes backward, faster on each press, by stepping back on a
// timer (browsers do not play backwards); `pause` (K) ends either. The caller's
// `state` holds `shuttle` (the speed, negative backward) and `reverseTimer`.
const MAX_SPEED = 8;
const TICK_MS = 100;

// `stepBack(seconds)` moves back about that much and says false at the start.
export function makeShuttle({ media, state, label, pause, settle, stepBack }) {
  function stop() {
    clearInterval(state.reverseTimer);
    state.reverseTimer = null;
    state.shuttle = 0;
    media.playbackRate = 1;
    label.textContent = "";
  }

  function forward() {
    if (state.shuttle < 0) return pause();
    const speed = state.shuttle > 0 ? Math.min(state.shuttle * 2, MAX_SPEED) : 1;
    clearInterval(state.reverseTimer);
    state.shuttle = speed;
    media.playbackRate = speed;
    media.play().catch(() => settle());
    label.textContent = speed > 1 ? `▶︎ ${speed}×` : "";
    settle();
  }

  function backward() {
    const speed = state.shuttle < 0 ? Math.min(-state.shuttle * 2, MAX_SPEED) : 1;
    stop();
    if (!media.paused) media.pause();
    state.shuttle = -speed;
    state.reverseTimer = setInterval(() => {
      if (!stepBack(speed * TICK_MS / 1000)) pause();
    }, TICK_MS);
    label.textContent = `◀︎ ${speed}×`;
    settle();
  }

  return { stop, forward, backward };
}
