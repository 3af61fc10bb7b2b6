// A fake WebSocket and clock for driving session.js without a network.
import { encodeFrame, decodeFrame } from "../protocol.js";

export class FakeClock {
  constructor() {
    this.now = 0;
    this.timers = [];
    this.next = 1;
  }
  setTimeout(fn, ms) {
    const id = this.next++;
    this.timers.push({ id, at: this.now + ms, fn });
    return id;
  }
  clearTimeout(id) {
    this.timers = this.timers.filter((t) => t.id !== id);
  }
  /** Runs every timer due within `ms`, in time order. */
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > until) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = until;
  }
}

export class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.bufferedAmount = 0;
    this.closed = false;
  }
  send(bytes) {
    if (this.closed) throw new Error("send on a closed socket");
    this.sent.push(decodeFrame(bytes));
  }
  close() {
    this.closed = true;
  }
  // Test side:
  open() {
    this.onopen && this.onopen();
  }
  deliver(header, body) {
    this.onmessage && this.onmessage({ data: encodeFrame(header, body).buffer });
  }
  drop(code = 1006) {
    this.closed = true;
    this.onclose && this.onclose({ code });
  }
  types() {
    return this.sent.map((m) => m.header.type);
  }
}

export const WELCOME = {
  type: "welcome", v: 1, user: { id: "aaaaaaaaaaaa", name: "Ana" }, room: "lobby", epoch: "e1", peers: [], history: 0,
  limits: { max_image_bytes: 52428800, max_chunk_bytes: 1048576, max_text_bytes: 16384, max_uploads: 4 },
};

/** Resolves after pending promise callbacks (the session's upload loop awaits Blob reads). */
export const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};
