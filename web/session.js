// The connection to the relay: hello, reconnect with backoff and `since`, and
// the outbox — every item not yet acked, sent again with the same id after a
// reconnect so the relay's dedup answers with the original ack (no duplicates).
// It knows nothing of the DOM; `createSocket` and `timers` are passed in so
// tests drive it with a fake WebSocket and a fake clock.

import { encodeFrame, decodeFrame, hello, FrameError } from "./protocol.js";
import { t } from "./i18n.js";

/** Errors after which trying again cannot help: the person must change something. */
const FATAL_FOR_FORM = new Set(["unauthorized", "bad_name", "bad_room", "bad_client", "version", "not_hello", "bad_frame"]);

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 15000;
/** Bytes the browser may hold in a socket's send buffer before we wait. */
export const SEND_BUFFER_HIGH = 1 << 20;
/** Chunk size we send (the relay's max_chunk_bytes may be larger). */
export const CHUNK_BYTES = 256 * 1024;

/** The delay before reconnect attempt `n` (0-based): doubling, capped, ±20 % jitter. */
export function backoffMs(n, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(n, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class Session {
  /**
   * @param {object} o
   * @param {(url: string) => WebSocket} o.createSocket
   * @param {string} o.url ws://host:port/ws
   * @param {(event: object) => void} o.onEvent connecting | welcome | frame | offline | fatal | upload_progress
   */
  constructor({ createSocket, url, onEvent, timers = globalThis, random = Math.random }) {
    this.createSocket = createSocket;
    this.url = url;
    this.onEvent = onEvent;
    this.timers = timers;
    this.random = random;
    this.params = null;
    this.ws = null;
    this.conn = 0; // bumps per socket, so stale callbacks do nothing
    this.live = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.since = null; // highest seq relayed to us in this epoch
    this.epoch = null;
    this.outbox = []; // { id, kind, header, body | preview+blob, sentOn }
    this.pumping = false;
    this.stopped = true;
  }

  /** Joins with { name, room, client, token }; keeps trying until stop(). */
  start(params) {
    if (this.params && (params.room !== this.params.room)) {
      this.since = null;
      this.epoch = null;
    }
    this.params = params;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearRetry();
    this.drop();
  }

  /** Reconnects now if waiting (the phone came back online or to the page). */
  nudge() {
    if (!this.stopped && !this.live && this.retryTimer != null) {
      this.clearRetry();
      this.connect();
    }
  }

  clearRetry() {
    if (this.retryTimer != null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  drop() {
    this.live = false;
    const ws = this.ws;
    this.ws = null;
    this.conn += 1;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
  }

  connect() {
    this.drop();
    const conn = this.conn;
    this.onEvent({ t: "connecting", attempt: this.attempt });
    let ws;
    try {
      ws = this.createSocket(this.url);
    } catch (e) {
      this.lost(conn, t("web-cannot-open", { error: e.message }));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.fatal = null;
    ws.onopen = () => {
      if (conn !== this.conn) return;
      const p = this.params;
      this.rawSend(hello({ name: p.name, room: p.room, client: p.client, token: p.token, since: this.since }));
    };
    ws.onmessage = (m) => {
      if (conn !== this.conn) return;
      this.receive(conn, m.data);
    };
    ws.onclose = (e) => {
      if (conn !== this.conn) return;
      this.lost(conn, e && e.code ? t("web-closed-code", { code: e.code }) : "");
    };
    ws.onerror = () => {
      // onclose follows and decides
    };
  }

  lost(conn, reason) {
    if (conn !== this.conn) return;
    this.drop();
    for (const entry of this.outbox) entry.sentOn = -1;
    if (this.stopped) return;
    if (this.fatal && FATAL_FOR_FORM.has(this.fatal.code)) {
      this.stopped = true;
      this.onEvent({ t: "fatal", code: this.fatal.code, message: this.fatal.message });
      return;
    }
    const delay = backoffMs(this.attempt, this.random);
    this.attempt += 1;
    this.onEvent({ t: "offline", retryInMs: delay, reason: this.fatal ? this.fatal.message : reason });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  receive(conn, data) {
    let msg;
    try {
      if (typeof data === "string") throw new FrameError("a text message");
      msg = decodeFrame(data);
    } catch (e) {
      this.onEvent({ t: "problem", message: t("net-unreadable", { error: e.message }) });
      return;
    }
    const { header: h, body } = msg;
    if (!this.live) {
      if (h.type === "welcome") {
        if (this.epoch != null && h.epoch !== this.epoch) {
          // A new history: what we hold and our `since` belong to the old one.
          this.since = null;
          this.epoch = h.epoch;
          this.onEvent({ t: "epoch_changed" });
          if (this.sinceWasSent()) {
            this.drop();
            this.connect();
            return;
          }
        }
        this.epoch = h.epoch;
        this.limits = h.limits || null;
        this.live = true;
        this.attempt = 0;
        this.onEvent({ t: "welcome", welcome: h });
        this.pump();
        return;
      }
      if (h.type === "error") this.fatal = { code: h.code, message: h.message || h.code };
      return;
    }
    if (h.type === "text" || (h.type === "image_end" && h.seq != null)) {
      if (Number.isSafeInteger(h.seq) && (this.since == null || h.seq > this.since)) this.since = h.seq;
    }
    if (h.type === "ack") this.acked(h.id);
    if (h.type === "error" && h.id != null) this.failed(h.id, h.code);
    if (h.type === "error" && ["slow_consumer", "server_shutdown"].includes(h.code)) this.fatal = { code: h.code, message: h.message || h.code };
    this.onEvent({ t: "frame", header: h, body });
  }

  sinceWasSent() {
    return this.lastHelloSince != null;
  }

  rawSend(header, body) {
    if (header.type === "hello") this.lastHelloSince = header.since;
    this.ws.send(encodeFrame(header, body));
  }

  acked(id) {
    this.outbox = this.outbox.filter((e) => e.id !== id);
  }

  failed(id, code) {
    const entry = this.outbox.find((e) => e.id === id);
    if (!entry) return;
    if (code === "rate_limited") {
      // Dropped by the relay: the same item goes again a little later.
      entry.sentOn = -1;
      entry.notBefore = Date.now() + 2000;
      this.timers.setTimeout(() => this.pump(), 2100);
      return;
    }
    this.outbox = this.outbox.filter((e) => e !== entry);
  }

  /** Queues a text; sent now if live, else after the next welcome. */
  sendText(id, text) {
    this.outbox.push({ id, kind: "text", header: { type: "text", id }, body: new TextEncoder().encode(text), sentOn: -1 });
    this.pump();
  }

  /** Queues an image: `begin` without type/id, a preview (bytes or null) and the bytes as a Blob. */
  sendImage(id, begin, preview, blob) {
    this.outbox.push({ id, kind: "image", header: { type: "image_begin", id, ...begin }, preview, blob, sentOn: -1 });
    this.pump();
  }

  /** A receipt is best effort: dropped when not live. */
  receipt(seq) {
    if (this.live && this.ws) this.rawSend({ type: "receipt", seq });
  }

  pending() {
    return this.outbox.length;
  }

  async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (!this.live) return;
        const conn = this.conn;
        const now = Date.now();
        const entry = this.outbox.find((e) => e.sentOn !== conn && !(e.notBefore > now));
        if (!entry) return;
        entry.sentOn = conn;
        if (entry.kind === "text") {
          this.rawSend(entry.header, entry.body);
        } else {
          await this.upload(entry, conn);
        }
      }
    } catch (e) {
      this.onEvent({ t: "problem", message: t("web-sending-stopped", { error: e.message }) });
    } finally {
      this.pumping = false;
    }
  }

  async upload(entry, conn) {
    const size = entry.blob.size;
    const chunk = Math.min(CHUNK_BYTES, (this.limits && this.limits.max_chunk_bytes) || CHUNK_BYTES);
    this.rawSend(entry.header, entry.preview || undefined);
    for (let offset = 0; offset < size; offset += chunk) {
      await this.roomInBuffer(conn);
      if (conn !== this.conn || !this.outbox.includes(entry)) return; // reconnected, acked or failed
      const bytes = new Uint8Array(await entry.blob.slice(offset, offset + chunk).arrayBuffer());
      if (conn !== this.conn) return;
      this.rawSend({ type: "image_chunk", id: entry.id, offset }, bytes);
      this.onEvent({ t: "upload_progress", id: entry.id, sent: Math.min(size, offset + bytes.length), size });
    }
    if (conn !== this.conn) return;
    this.rawSend({ type: "image_end", id: entry.id });
  }

  /** Waits until the browser's send buffer has room (bounded by the connection's life). */
  roomInBuffer(conn) {
    return new Promise((resolve) => {
      const check = () => {
        if (conn !== this.conn || !this.ws || this.ws.bufferedAmount < SEND_BUFFER_HIGH) resolve();
        else this.timers.setTimeout(check, 20);
      };
      check();
    });
  }
}
