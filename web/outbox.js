// The outbox: what a person recorded on this phone, kept in IndexedDB until the server
// has said it is in the log. Shared by every page that records events (the phone page
// now, the sampling point's page later), so that "never lost, never doubled" is written
// once.
//
//   const box = new Outbox({ who: me.id, token: sessionToken, onChange: render });
//   await box.open();
//   box.put(`/api/actions/${id}/events`, { type: "resident_ticked", resident_id, chase });
//
// put() gives the event its id (UUID v7) and device time there and then — at the tap —
// stores it, and sends it at once when the network allows; otherwise on `online`, on the
// next page load and on a timer that backs off. Every entry is in one of three states:
//
//   pending   on this phone only: the page must say so, never "done"
//   recorded  the server answered with its position (`new` or `repeat`: a resend is a
//             repeat and changes nothing, which is what makes resending safe)
//   refused   the server said no (the action was closed, not your household…): kept with
//             the server's reason until the person dismisses it, never dropped silently
//
// A network failure or a 5xx is not a refusal: the entry stays pending and is sent again
// with the same id. Entries belong to the staff member who made them (`who`): after the
// phone is paired to somebody else, theirs are not sent in the new person's name.
//
// Written for old Android WebViews: no private class fields, no `??=`, nothing after 2020.

const DB_NAME = "muster";
const DB_VERSION = 1;
const STORE = "outbox";
/** The same database keeps a page's last answer (the households), for when offline. */
const KEPT = "kept";

const BATCH_MAX = 50;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60000;
/** A request on a bad link that has not answered by then is given up and sent again later. */
const REQUEST_TIMEOUT_MS = 20000;
/** How many retries the browser's "offline" is believed before a request is tried anyway. */
const OFFLINE_TRUST = 6;
/** Recorded entries are kept this long, so the page can still say "recorded" after a reload. */
const RECORDED_KEEP_MS = 12 * 3600 * 1000;

// ---------------------------------------------------------------- ids and times

/**
 * A UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids
 * keep the server's index writes in order; `crypto.randomUUID` is not used because old
 * browsers lack it and plain http (a village LAN) does not offer it.
 */
export function uuidv7(now) {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let ms = now === undefined ? Date.now() : now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.prototype.map.call(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------- IndexedDB, as promises

function openDb() {
  return new Promise((resolve, reject) => {
    if (!("indexedDB" in self) || !self.indexedDB) {
      reject(new Error("no IndexedDB"));
      return;
    }
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "id" });
      if (!db.objectStoreNames.contains(KEPT)) db.createObjectStore(KEPT);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    // Another tab holds an older version open: it closes on versionchange (below).
    req.onblocked = () => {};
  });
}

/** Runs `work(store)` in one transaction; resolves with the last request's result once committed. */
function inStore(db, name, mode, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    let result;
    const req = work(tx.objectStore(name));
    if (req) req.onsuccess = () => (result = req.result);
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

// ---------------------------------------------------------------- the outbox

export class Outbox {
  /**
   * who: the staff id events are made for (only those are sent); token(): the bearer
   * token now; lang(): the Accept-Language for the server's reasons; onChange(): the
   * entries or the sending state moved; onSignedOut(): the server said 401 (entries stay).
   */
  constructor({ who, token, lang, onChange, onSignedOut }) {
    this.who = who;
    this.token = token;
    this.lang = lang || (() => "zh-CN");
    this.onChange = onChange || (() => {});
    this.onSignedOut = onSignedOut || (() => {});
    /** Every entry this page knows, by id: the database's copy plus what is being written. */
    this.entries = new Map();
    /** The newest entry's created_ms: put() makes each one later than the last. */
    this.lastMs = 0;
    this.db = null;
    /** Why the outbox cannot keep entries across reloads (no IndexedDB), or null. */
    this.storageProblem = null;
    this.sending = false;
    this.again = false;
    this.attempt = 0;
    this.timer = 0;
    this.retryAt = 0;
    /** The last reason sending stopped short: "network", "server", "signed_out" or null. */
    this.trouble = null;
  }

  /** Opens the database, reads what earlier visits left, and starts sending. */
  async open() {
    try {
      this.db = await openDb();
      // A newer page version wants to upgrade the database: let it.
      this.db.onversionchange = () => {
        this.db.close();
        this.db = null;
      };
      const all = await inStore(this.db, STORE, "readonly", (s) => s.getAll());
      const now = Date.now();
      for (const e of all || []) {
        if (e.state === "recorded" && now - (e.acked_ms || 0) > RECORDED_KEEP_MS) {
          this.remove(e.id);
        } else if (!this.entries.has(e.id)) {
          this.entries.set(e.id, e);
        }
        if (e.created_ms > this.lastMs) this.lastMs = e.created_ms;
      }
    } catch (err) {
      // Private mode, an in-app browser without IndexedDB: entries live in this page only.
      this.storageProblem = String((err && err.message) || err);
    }
    self.addEventListener("online", () => {
      this.attempt = 0;
      this.drain();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.drain();
    });
    this.onChange();
    this.drain();
  }

  /**
   * Records an event: its id and device time are made now, it is stored, and sent when it
   * can be. Returns the entry at once (state "pending"); the page shows it from here on.
   */
  put(url, event, meta) {
    // Strictly increasing, so two events made in one millisecond (a tube opened and its
    // first sample) keep their order: list() sorts by it, and ids alone would not (a
    // UUID v7's bits after the millisecond are random).
    const now = Math.max(Date.now(), this.lastMs + 1);
    this.lastMs = now;
    const entry = {
      id: uuidv7(now),
      device_time: new Date(now).toISOString(),
      url,
      who: this.who,
      event,
      meta: meta || null,
      state: "pending",
      tries: 0,
      problem: null,
      seq: null,
      result: null,
      created_ms: now,
      acked_ms: null,
    };
    this.entries.set(entry.id, entry);
    this.onChange();
    this.save(entry).then(() => this.drain());
    // Ask once that the browser never clears this site's storage to make room.
    if (navigator.storage && navigator.storage.persist && !this.askedPersist) {
      this.askedPersist = true;
      navigator.storage.persist().catch(() => {});
    }
    return entry;
  }

  /** Forgets a refused (or recorded) entry: the person has read it. */
  dismiss(id) {
    const e = this.entries.get(id);
    if (!e || e.state === "pending") return;
    this.entries.delete(id);
    this.remove(id);
    this.onChange();
  }

  /** Entries, oldest first; `filter(e)` picks some. */
  list(filter) {
    const all = Array.from(this.entries.values()).sort((a, b) => a.created_ms - b.created_ms);
    return filter ? all.filter(filter) : all;
  }

  /** This person's entries waiting to be sent. */
  pending() {
    return this.list((e) => e.state === "pending" && e.who === this.who);
  }

  /** Pending entries made under another account on this phone (not sent as this one). */
  othersPending() {
    return this.list((e) => e.state === "pending" && e.who !== this.who);
  }

  async save(entry) {
    if (!this.db) return;
    try {
      await inStore(this.db, STORE, "readwrite", (s) => s.put(entry));
    } catch (err) {
      this.storageProblem = String((err && err.message) || err);
      this.onChange();
    }
  }

  remove(id) {
    if (!this.db) return Promise.resolve();
    return inStore(this.db, STORE, "readwrite", (s) => s.delete(id)).catch(() => {});
  }

  /** Kept values (the page's last data), in the same database. */
  async keep(key, value) {
    if (!this.db) return;
    await inStore(this.db, KEPT, "readwrite", (s) => s.put(value, key)).catch(() => {});
  }

  async kept(key) {
    if (!this.db) return undefined;
    return inStore(this.db, KEPT, "readonly", (s) => s.get(key)).catch(() => undefined);
  }

  // ---------------------------------------------------------------- sending

  /** Sends what is pending now; safe to call any time (one drain runs at once). */
  drain() {
    if (this.sending) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = 0;
    if (!this.pending().length) return;
    // The browser knows it has no network at all: wait for `online` (and the timer) rather
    // than spend a request. A WebView that never says it is back is tried anyway, now and then.
    if (navigator.onLine === false && this.attempt < OFFLINE_TRUST) {
      this.later("network");
      return;
    }
    this.sending = true;
    this.onChange();
    this.sendAll()
      .catch(() => this.later("network"))
      .then(() => {
        this.sending = false;
        this.onChange();
        if (this.again) {
          this.again = false;
          if (!this.timer) this.drain();
        }
      });
  }

  async sendAll() {
    for (;;) {
      const waiting = this.pending();
      if (!waiting.length) {
        this.trouble = null;
        this.attempt = 0;
        return;
      }
      // One endpoint per request, oldest first: the log keeps the order they were made in.
      const url = waiting[0].url;
      const batch = waiting.filter((e) => e.url === url).slice(0, BATCH_MAX);
      const outcome = await this.send(url, batch);
      if (outcome === "retry") return;
    }
  }

  /** One request. Returns "done" (each entry recorded or refused) or "retry" (try later). */
  async send(url, batch) {
    const token = this.token();
    if (!token) {
      this.trouble = "signed_out";
      return "retry";
    }
    for (const e of batch) e.tries += 1;
    const body = { events: batch.map((e) => Object.assign({ id: e.id, device_time: e.device_time }, e.event)) };
    const answer = await post(url, body, token, this.lang());
    if (answer.ok) {
      const byId = new Map((answer.json && answer.json.results ? answer.json.results : []).map((r) => [r.id, r]));
      const now = Date.now();
      for (const e of batch) {
        const r = byId.get(e.id);
        if (!r) continue; // Not answered for: stays pending, sent again.
        Object.assign(e, { state: "recorded", seq: r.seq, result: r.status, acked_ms: now, problem: null });
        await this.save(e);
      }
      this.trouble = null;
      this.attempt = 0;
      this.onChange();
      return "done";
    }
    const status = answer.status;
    if (status === 401) {
      // The token is gone: keep everything, say so; a new pairing of the same person sends it.
      this.trouble = "signed_out";
      this.onSignedOut();
      return "retry";
    }
    if (status === 0 || status >= 500 || status === 408 || status === 429) {
      this.later(status === 0 ? "network" : "server", answer.retryAfter);
      return "retry";
    }
    // A refusal. The server takes a batch whole or not at all, so with several events
    // each goes again alone to find the one refused; the others are recorded.
    if (batch.length > 1) {
      for (const e of batch) {
        const outcome = await this.send(url, [e]);
        if (outcome === "retry") return "retry";
      }
      return "done";
    }
    const e = batch[0];
    const p = answer.json || {};
    const problem = { status, code: p.code || `http_${status}`, message: p.message || p.title || "" };
    // The specifics a page acts on (`resident_id` of `on_the_roster`, a `field`): kept too.
    Object.keys(p).forEach((k) => {
      const v = p[k];
      if (!(k in problem) && k !== "type" && k !== "title" && k !== "detail" && (typeof v === "number" || typeof v === "string")) problem[k] = v;
    });
    Object.assign(e, { state: "refused", problem });
    await this.save(e);
    this.onChange();
    return "done";
  }

  /** Tries again after a pause that doubles each time (2 s … 60 s), with a little jitter. */
  later(why, retryAfterSeconds) {
    this.trouble = why;
    const pause = Math.min(RETRY_FIRST_MS * Math.pow(2, this.attempt), RETRY_MAX_MS);
    this.attempt += 1;
    const wait = retryAfterSeconds ? retryAfterSeconds * 1000 : pause * (0.75 + Math.random() / 2);
    clearTimeout(this.timer);
    this.retryAt = Date.now() + wait;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.drain();
    }, wait);
    this.onChange();
  }
}

/** POSTs JSON; never throws: { ok, status (0 when nothing came back), json, retryAfter }. */
async function post(url, body, token, lang) {
  const ctrl = typeof AbortController === "function" ? new AbortController() : null;
  const timer = ctrl ? setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS) : 0;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Accept-Language": lang,
        "Content-Type": "application/json",
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
      cache: "no-store",
      signal: ctrl ? ctrl.signal : undefined,
    });
    let json = null;
    try {
      json = await res.json();
    } catch (err) {
      // Not JSON (a proxy's error page): the status says enough.
    }
    const after = Number(res.headers.get("Retry-After"));
    return { ok: res.ok, status: res.status, json, retryAfter: after > 0 ? after : 0 };
  } catch (err) {
    return { ok: false, status: 0, json: null, retryAfter: 0 };
  } finally {
    clearTimeout(timer);
  }
}
