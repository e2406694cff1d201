// The /ws connection: connect, hand frames over, and on loss reconnect with exponential
// back-off (1 s doubling to 30 s, with jitter so a wall of screens does not reconnect in
// step after a daemon restart). The server sends a `full` frame first on every connection,
// so a reconnect always starts from a fresh snapshot.

const BASE_MS = 1000;
const MAX_MS = 30000;

/** Delay before retry number `attempt` (0-based): about 1 s, 2 s, 4 s … up to 30 s, each
 * jittered by ±20% (and never past the 30 s cap), so screens spread out their retries. */
export function backoffMs(attempt, random = Math.random) {
  const d = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempt, 15));
  return Math.round(Math.min(MAX_MS, d * (0.8 + 0.4 * random())));
}

/**
 * @param {string} url ws:// or wss:// URL
 * @param {object} h handlers: frame(msg), state(name, info) with name one of
 *   'connecting' (first attempt only), 'open' (a full frame arrived), 'lost' (after any
 *   failure or loss; info.retryAt set while waiting, null while a retry is under way)
 * @param {number} silenceMs when nothing at all arrived for this long, quietly reconnect
 *   (a half-open TCP connection after a network blip never notices it is dead, and the
 *   browser cannot see the server's pings). The screen only says "lost" if that fails.
 */
export function connect(url, h, { silenceMs = 90000 } = {}) {
  let attempt = 0; // failed attempts since the last full frame
  let ws = null;
  let retryTimer = null;
  let silenceTimer = null;
  let gotFull = false;
  let refreshing = false; // reconnecting after silence, still showing 'open'
  let stopped = false;

  const armSilence = () => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      if (!ws) return;
      refreshing = true;
      ws.close(4000, 'silent');
    }, silenceMs);
  };

  const open = () => {
    retryTimer = null;
    if (stopped) return;
    gotFull = false;
    if (!refreshing) h.state(attempt > 0 ? 'lost' : 'connecting', { retryAt: null, attempt });
    let sock;
    try {
      sock = new WebSocket(url);
    } catch {
      // A malformed URL throws synchronously; treat it like a failed connection.
      ws = null;
      onLost();
      return;
    }
    ws = sock;
    sock.onopen = () => armSilence();
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      armSilence();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not ours to crash on; the next full frame fixes the picture
      }
      if (msg.type === 'full') {
        gotFull = true;
        refreshing = false;
        attempt = 0;
        h.frame(msg);
        h.state('open', {});
      } else if (gotFull) {
        h.frame(msg);
      }
    };
    sock.onclose = () => {
      if (sock !== ws) return;
      ws = null;
      clearTimeout(silenceTimer);
      onLost();
    };
    sock.onerror = () => {
      /* a close event follows */
    };
  };

  const onLost = () => {
    if (stopped || retryTimer) return;
    if (refreshing && attempt === 0) {
      // First try after a silence: at once, and without alarming anyone.
      attempt = 1;
      retryTimer = setTimeout(open, 0);
      return;
    }
    refreshing = false;
    const delay = backoffMs(attempt);
    attempt += 1;
    h.state('lost', { retryAt: Date.now() + delay, attempt });
    retryTimer = setTimeout(open, delay);
  };

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      if (ws) ws.close();
    },
  };
}
