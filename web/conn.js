// The /ws connection: connect, hand frames over, and on loss reconnect with exponential
// back-off (1 s doubling to 30 s, with jitter so a wall of screens does not reconnect in
// step after a daemon restart). The server sends a `full` frame first on every connection,
// so a reconnect always starts from a fresh snapshot.

const BASE_MS = 1000;
const MAX_MS = 30000;

/** Delay before retry number `attempt` (0-based): 1 s, 2 s, 4 s … capped at 30 s, then
 * jittered into [d/2, d) ("equal jitter": never 0, never more than the cap). */
export function backoffMs(attempt, random = Math.random) {
  const d = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempt, 15));
  return Math.round(d / 2 + random() * (d / 2));
}

/**
 * @param {string} url ws:// or wss:// URL
 * @param {object} h handlers: frame(msg), state(name, info) with name one of
 *   'connecting' (first attempt only), 'open' (a full frame arrived), 'lost' (after any
 *   failure or loss; info.retryAt set while waiting, null while a retry is under way)
 * @param {number} silenceMs reconnect when nothing at all arrived for this long (a
 *   half-open TCP connection after a network blip otherwise never notices it is dead)
 */
export function connect(url, h, { silenceMs = 90000 } = {}) {
  let attempt = 0;
  let ws = null;
  let retryTimer = null;
  let silenceTimer = null;
  let gotFull = false;
  let stopped = false;

  const armSilence = () => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      // Quiet for too long: drop this socket and start over (the close handler retries).
      if (ws) ws.close(4000, 'silent');
    }, silenceMs);
  };

  const open = () => {
    retryTimer = null;
    if (stopped) return;
    gotFull = false;
    h.state(attempt > 0 ? 'lost' : 'connecting', { retryAt: null, attempt });
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      // A malformed URL throws synchronously; treat it like a failed connection.
      schedule();
      return;
    }
    ws = sock;
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
        attempt = 0;
        h.frame(msg);
        h.state('open', {});
      } else if (gotFull) {
        h.frame(msg);
      }
    };
    sock.onopen = () => armSilence();
    sock.onclose = () => {
      if (sock !== ws) return;
      ws = null;
      clearTimeout(silenceTimer);
      schedule();
    };
    sock.onerror = () => {
      /* a close event follows */
    };
  };

  const schedule = () => {
    if (stopped || retryTimer) return;
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
