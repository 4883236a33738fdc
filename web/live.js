// One WebSocket to an action's live stream that keeps itself up: after a drop it resumes
// from the last position the page holds (`after=SEQ`), backing off 0.5 s, 1 s, 2 s … 5 s;
// it waits while the browser says it is offline and tries again at once when it is back.
// What a message means is the page's business (handlers.message); this only keeps the
// line open and in step. The same as the command centre's feed (web/app.js), written
// without private fields so that old Android WebViews run it.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5000;

export class LiveFeed {
  /**
   * handlers: seq() → the position held, or null for a snapshot; message(msg) → false
   * when it does not fit what the page holds (the feed then asks again from seq());
   * status(s) with s one of connecting | open | reconnecting | offline; refused() → a
   * connection closed before saying anything (what a revoked token looks like).
   */
  constructor(actionId, token, handlers) {
    this.actionId = actionId;
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.timer = 0;
    this.attempt = 0;
    this.stopped = false;
    this.onOnline = () => {
      this.attempt = 0;
      this.connect();
    };
    this.onOffline = () => {
      this.drop();
      if (!this.stopped) this.handlers.status("offline");
    };
    self.addEventListener("online", this.onOnline);
    self.addEventListener("offline", this.onOffline);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ token: this.token() });
    const seq = this.handlers.seq();
    if (seq != null) query.set("after", String(seq));
    return `${scheme}//${location.host}/api/actions/${encodeURIComponent(this.actionId)}/live?${query}`;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ws) return;
    if (navigator.onLine === false) {
      this.handlers.status("offline");
      return;
    }
    this.handlers.status(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url());
    let heard = false;
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return; // Not ours to understand; the next message says more.
      }
      if (!heard) this.handlers.status("open");
      heard = true;
      this.attempt = 0;
      if (this.handlers.message(msg) === false) this.resync(ws);
    };
    // An error is always followed by a close, so the close handler does the retrying.
    ws.onclose = () => {
      if (this.ws !== ws) return; // Closed on purpose and already replaced.
      this.ws = null;
      if (!heard && this.handlers.refused) this.handlers.refused();
      this.retryLater();
    };
    this.ws = ws;
  }

  /** A message did not fit what the page holds: ask again from its position at once. */
  resync(ws) {
    this.ws = null;
    ws.close();
    this.connect();
  }

  retryLater() {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.handlers.status("offline");
      return;
    }
    this.handlers.status("reconnecting");
    const delay = Math.min(BACKOFF_FIRST_MS * Math.pow(2, this.attempt), BACKOFF_MAX_MS);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  drop() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }

  stop() {
    this.stopped = true;
    this.drop();
    self.removeEventListener("online", this.onOnline);
    self.removeEventListener("offline", this.onOffline);
  }
}
