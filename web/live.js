// One WebSocket to an action's live stream that keeps itself up: after a drop it resumes
// from the last position the page holds (`after=SEQ`), backing off 0.5 s, 1 s, 2 s … 5 s;
// it waits while the browser says it is offline and tries again at once when it is back.
// What a message means is the page's business (handlers.message); this only keeps the
// line open and in step. The one feed of every page that follows an action live: the
// command centre (web/app.js) and the phone page (web/m.js). Written without private
// fields or `**` so that old Android WebViews run it.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5000;

/** The wait before try number `attempt + 1` (0.5 s, 1 s, 2 s … 5 s): pages retrying their own loads wait the same. */
export function backoffMs(attempt) {
  return Math.min(BACKOFF_FIRST_MS * Math.pow(2, attempt), BACKOFF_MAX_MS);
}

export class LiveFeed {
  /**
   * handlers: seq() → the position held, or null for a snapshot; message(msg) → false
   * when it does not fit what the page holds (the feed then asks again from seq());
   * status(s) with s one of connecting | open | reconnecting | offline ("connecting" only
   * until the stream has said something; after that every new line is "reconnecting");
   * refused() → a connection closed before saying anything (what a revoked token looks
   * like). token() → the session's token, read at every connection.
   */
  constructor(actionId, token, handlers) {
    this.actionId = actionId;
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.timer = 0;
    this.attempt = 0;
    this.stopped = false;
    /** The stream has said something on some connection: a new one is a reconnection. */
    this.heardOnce = false;
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
    this.handlers.status(this.attempt === 0 && !this.heardOnce ? "connecting" : "reconnecting");
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
      this.heardOnce = true;
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
    const delay = backoffMs(this.attempt);
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
