// SMPTE timecode for the player: a port of services/common/timecode.py
// (frames_to_smpte, smpte_to_frames). Rates are exact rationals {num, den};
// tests/browser/test_timecode_js.py checks both give the same labels.

const DROPPED_PER_MINUTE = { 30: 2, 60: 4 };
const DECIMAL_NTSC = { "23.976": "24000/1001", "23.98": "24000/1001", "29.97": "30000/1001",
  "47.952": "48000/1001", "59.94": "60000/1001", "119.88": "120000/1001" };
const TIMECODE = /^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$/;

function gcd(a, b) { while (b) { [a, b] = [b, a % b]; } return a; }

export function parseRate(rate) {
  if (rate && typeof rate === "object") return rate;
  let text = String(rate).trim();
  text = DECIMAL_NTSC[text] || text;
  let num, den;
  if (text.includes("/")) {
    [num, den] = text.split("/").map(Number);
  } else {
    const decimals = (text.split(".")[1] || "").length;
    den = 10 ** decimals;
    num = Math.round(Number(text) * den);
  }
  if (!Number.isInteger(num) || !Number.isInteger(den) || num <= 0 || den <= 0) {
    throw new Error(`not a frame rate: ${rate}`);
  }
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

export function nominalFps(rate) {
  const { num, den } = parseRate(rate);
  return Math.max(1, Math.floor((2 * num + den) / (2 * den)));  // round half up, exactly
}

export function isDropFrameRate(rate) {
  const r = parseRate(rate);
  const nominal = nominalFps(r);
  return nominal in DROPPED_PER_MINUTE && r.num * 1001 === nominal * 1000 * r.den;
}

function checkDropFrame(rate) {
  if (!isDropFrameRate(rate)) throw new Error("drop-frame timecode is only defined for 29.97 and 59.94");
}

export function framesPerDay(rate, dropFrame) {
  const nominal = nominalFps(rate);
  if (dropFrame) {
    checkDropFrame(rate);
    return 24 * 6 * (nominal * 600 - DROPPED_PER_MINUTE[nominal] * 9);
  }
  return 24 * 3600 * nominal;
}

const mod = (a, n) => ((a % n) + n) % n;

export function smpteToFrames(tc, rate, dropFrame) {
  const m = TIMECODE.exec(String(tc).trim());
  if (!m) throw new Error(`not a timecode (HH:MM:SS:FF): ${tc}`);
  const [hh, mm, ss, ff] = [m[1], m[2], m[3], m[5]].map(Number);
  const nominal = nominalFps(rate);
  if (hh > 23 || mm > 59 || ss > 59 || ff >= nominal) throw new Error(`timecode ${tc} is out of range`);
  const total = (hh * 3600 + mm * 60 + ss) * nominal + ff;
  if (!dropFrame) return total;
  checkDropFrame(rate);
  const dropped = DROPPED_PER_MINUTE[nominal];
  if (ss === 0 && ff < dropped && mm % 10 !== 0) throw new Error(`timecode ${tc} does not exist in drop-frame`);
  const minutes = hh * 60 + mm;
  return total - dropped * (minutes - Math.floor(minutes / 10));
}

export function framesToSmpte(frame, rate, dropFrame, startFrames = 0) {
  const nominal = nominalFps(rate);
  let total = mod(startFrames + frame, framesPerDay(rate, dropFrame));
  let separator = ":";
  if (dropFrame) {
    separator = ";";
    const dropped = DROPPED_PER_MINUTE[nominal];
    const perMinute = nominal * 60 - dropped;
    const perTenMinutes = nominal * 600 - dropped * 9;
    const tens = Math.floor(total / perTenMinutes);
    const rest = total % perTenMinutes;
    // Labels skipped so far; the first minute of each ten-minute block skips none.
    const skippedMinutes = 9 * tens + Math.max(0, Math.floor((rest - dropped) / perMinute));
    total += dropped * skippedMinutes;
  }
  const ff = total % nominal;
  const seconds = Math.floor(total / nominal);
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(hh)}:${pad(mm)}:${pad(s)}${separator}${pad(ff, nominal <= 100 ? 2 : 3)}`;
}
