// The page's model: what the timeline, presence line and banners show. Pure:
// `apply(state, event)` changes the state and returns the effects the
// dispatcher must run (verify a picture, send a receipt). No DOM, no socket,
// so it runs under `node --test`.

import { t } from "./i18n.js";

export function initialState() {
  return {
    phase: "form", // form | connecting | live | offline
    form: { name: "", room: "lobby", token: "", needToken: false, error: "" },
    me: null, // { id, name } from welcome
    room: "",
    epoch: null,
    limits: null,
    peers: [], // other connections, one entry each
    items: [], // in arrival order (completion order for finished items)
    byKey: new Map(),
    bySeq: new Map(),
    streams: new Map(), // sid on the current connection → item key
    historyLeft: 0,
    unseen: 0, // "N new ↓": items that arrived while scrolled up
    atBottom: true,
    notice: "", // one sentence about the connection or the last problem
    retryInMs: 0,
    viewer: null, // key of the picture open full screen
    rev: 0, // bumps on every change; views compare it
  };
}

function touch(state, item) {
  state.rev += 1;
  if (item) item.rev = state.rev;
}

/** Items the page keeps; the oldest finished ones go first (the relay keeps 500 per room by default). */
export const MAX_ITEMS = 1000;

function add(state, item) {
  item.seenBy = item.seenBy || new Map();
  if (state.items.length >= MAX_ITEMS) {
    const oldest = state.items.find((i) => i.seq != null && i.status !== "streaming" && i.status !== "verifying");
    if (oldest) remove(state, oldest);
  }
  state.items.push(item);
  state.byKey.set(item.key, item);
  if (item.seq != null) state.bySeq.set(item.seq, item);
  if (!item.mine && !state.atBottom) state.unseen += 1;
  touch(state, item);
}

function remove(state, item) {
  state.items = state.items.filter((i) => i !== item);
  state.byKey.delete(item.key);
  if (item.seq != null) state.bySeq.delete(item.seq);
  if (state.viewer === item.key) state.viewer = null;
  item.gone = true;
  touch(state, null);
}

function complete(state, item, seq, ts) {
  item.seq = seq;
  if (ts) item.ts = ts;
  state.bySeq.set(seq, item);
}

const isOwn = (state, from) => state.me != null && from != null && from.id === state.me.id;

/**
 * What a copy of one of our own items looks like when the relay sends it back (a
 * replay after a reconnect carries no item id): an image's SHA-256, a text's words.
 */
function fingerprint(item) {
  if (item.kind === "image") return item.sha256 ? `image:${item.sha256}` : null;
  return `text:${item.text}`;
}

/** Our own items (sent from this page) that look like `fp` and are not settled yet. */
function awaitingAck(state, fp) {
  return state.items.some((i) => i.id != null && i.seq == null && i.status !== "failed" && fingerprint(i) === fp);
}

/**
 * Copies of our own items are held back (not shown) while they may be the item we
 * already show: a replay of an acked picture streams in before its seq says so, and
 * a replay can arrive before the ack of our resend. Once nothing of ours that looks
 * the same waits for an ack, a copy that was not dropped as a duplicate is another
 * item (sent before a reload, or twice) and is shown.
 */
function revealCopies(state, fp) {
  if (fp == null || awaitingAck(state, fp)) return;
  for (const item of state.items) {
    if (item.held && item.seq != null && fingerprint(item) === fp) {
      item.held = false;
      touch(state, item);
    }
  }
}

/** Applies one event; returns effects: { do: "verify", key } | { do: "receipt", seq } | { do: "forget", key }. */
export function apply(state, ev) {
  const effects = [];
  switch (ev.t) {
    case "connecting":
      state.phase = "connecting";
      state.notice = ev.attempt > 0 ? t("web-connecting-again") : t("web-connecting");
      touch(state);
      break;
    case "offline":
      state.phase = "offline";
      state.retryInMs = ev.retryInMs;
      state.notice = ev.reason
        ? t("web-offline-because", { reason: ev.reason, secs: Math.ceil(ev.retryInMs / 1000) })
        : t("web-offline", { secs: Math.ceil(ev.retryInMs / 1000) });
      // Streams of this connection never finish; they come again in full after `since`.
      for (const key of state.streams.values()) {
        const item = state.byKey.get(key);
        if (item && item.seq == null) {
          remove(state, item);
          effects.push({ do: "forget", item });
        }
      }
      state.streams.clear();
      touch(state);
      break;
    case "fatal":
      // The relay refused the hello: back to the form, with the reason.
      state.phase = "form";
      state.form.error = ev.message;
      if (ev.code === "unauthorized") state.form.needToken = true;
      state.notice = "";
      touch(state);
      break;
    case "epoch_changed":
      // The room's history was lost or wiped: everything cached is stale.
      for (const item of [...state.items]) {
        if (item.seq != null || !item.mine) {
          remove(state, item);
          effects.push({ do: "forget", item });
        }
      }
      state.notice = t("web-history-reset");
      touch(state);
      break;
    case "welcome": {
      const w = ev.welcome;
      state.phase = "live";
      state.me = w.user;
      state.room = w.room;
      state.epoch = w.epoch;
      state.limits = w.limits;
      state.peers = [...(w.peers || [])];
      state.historyLeft = w.history || 0;
      state.notice = "";
      state.form.error = "";
      touch(state);
      break;
    }
    case "frame":
      frame(state, ev.header, ev.body, effects);
      break;
    case "local_text": {
      add(state, { key: `id:${ev.id}`, id: ev.id, kind: "text", mine: true, from: state.me, ts: ev.ts, seq: null, text: ev.text, status: "sending" });
      break;
    }
    case "local_image": {
      add(state, {
        key: `id:${ev.id}`, id: ev.id, kind: "image", mine: true, from: state.me, ts: ev.ts, seq: null,
        name: ev.name, mime: ev.mime, size: ev.size, sha256: ev.sha256, width: ev.width, height: ev.height,
        blob: ev.blob, preview: ev.preview || null, status: "sending", progress: 0, note: ev.note || "",
      });
      break;
    }
    case "upload_progress": {
      const item = state.byKey.get(`id:${ev.id}`);
      if (item) {
        item.progress = ev.size > 0 ? ev.sent / ev.size : 1;
        touch(state, item);
      }
      break;
    }
    case "local_failed": {
      const item = state.byKey.get(`id:${ev.id}`);
      if (item) {
        item.status = "failed";
        item.error = ev.message;
        touch(state, item);
        revealCopies(state, fingerprint(item));
      }
      break;
    }
    case "verified": {
      const item = state.byKey.get(ev.key);
      if (!item || item.gone) break;
      if (ev.ok) {
        item.status = "ready";
        item.blob = ev.blob;
        item.chunks = null;
        if (item.seq != null) effects.push({ do: "receipt", seq: item.seq });
      } else {
        item.status = "failed";
        item.error = t("web-damaged");
        item.chunks = null;
      }
      touch(state, item);
      break;
    }
    case "problem":
      state.notice = ev.message;
      touch(state);
      break;
    case "scrolled":
      state.atBottom = ev.atBottom;
      if (ev.atBottom) state.unseen = 0;
      touch(state);
      break;
    case "open":
      state.viewer = state.byKey.has(ev.key) ? ev.key : null;
      touch(state);
      break;
    case "close_viewer":
      state.viewer = null;
      touch(state);
      break;
    default:
      break;
  }
  return effects;
}

function frame(state, h, body, effects) {
  switch (h.type) {
    case "joined":
      if (h.user) state.peers.push(h.user);
      touch(state);
      break;
    case "left": {
      const at = state.peers.findIndex((p) => h.user && p.id === h.user.id);
      if (at >= 0) state.peers.splice(at, 1);
      touch(state);
      break;
    }
    case "text": {
      if (h.history) state.historyLeft = Math.max(0, state.historyLeft - 1);
      if (state.bySeq.has(h.seq)) break; // replayed after a reconnect, or our own acked item
      let text;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      } catch {
        break;
      }
      const mine = isOwn(state, h.from);
      const item = { key: `seq:${h.seq}`, kind: "text", mine, from: h.from, ts: h.ts, seq: h.seq, text, status: "ready" };
      item.held = mine && awaitingAck(state, fingerprint(item));
      add(state, item);
      if (!mine) effects.push({ do: "receipt", seq: h.seq });
      break;
    }
    case "image_begin": {
      if (h.sid == null) break;
      const item = {
        key: `sid:${state.rev}:${h.sid}`, kind: "image", mine: isOwn(state, h.from), from: h.from, ts: h.ts, seq: null,
        name: String(h.name || "image"), mime: h.mime, size: h.size, sha256: h.sha256, width: h.width, height: h.height,
        preview: body.length > 0 ? { bytes: body } : null, chunks: [], received: 0, progress: 0, status: "streaming",
        history: !!h.history,
      };
      // Ours coming back: held back until its seq tells whether it is one we show already.
      const fp = fingerprint(item);
      item.held = item.mine && fp != null && state.items.some((i) => i.id != null && fingerprint(i) === fp);
      state.streams.set(h.sid, item.key);
      add(state, item);
      break;
    }
    case "image_chunk": {
      const item = state.byKey.get(state.streams.get(h.sid));
      if (!item || item.status !== "streaming") break;
      if (h.offset !== item.received || item.received + body.length > item.size) {
        item.status = "failed";
        item.error = t("web-out-of-order");
        item.chunks = null;
        touch(state, item);
        break;
      }
      item.chunks.push(body);
      item.received += body.length;
      item.progress = item.size > 0 ? item.received / item.size : 1;
      touch(state, item);
      break;
    }
    case "image_end": {
      const key = state.streams.get(h.sid);
      state.streams.delete(h.sid);
      const item = state.byKey.get(key);
      if (!item) break;
      if (item.history) state.historyLeft = Math.max(0, state.historyLeft - 1);
      const dup = state.bySeq.get(h.seq);
      if (dup && dup !== item) {
        // Already shown (our own, acked; or received before a reconnect).
        remove(state, item);
        break;
      }
      complete(state, item, h.seq, h.ts);
      if (item.held) revealCopies(state, fingerprint(item));
      if (item.status !== "streaming") break;
      if (item.received !== item.size) {
        item.status = "failed";
        item.error = t("web-incomplete");
        item.chunks = null;
      } else {
        item.status = "verifying";
        effects.push({ do: "verify", key: item.key });
      }
      touch(state, item);
      break;
    }
    case "image_cancel": {
      const key = state.streams.get(h.sid);
      state.streams.delete(h.sid);
      const item = state.byKey.get(key);
      if (!item) break;
      // `lagging` is no failure: the picture comes again in full later.
      remove(state, item);
      effects.push({ do: "forget", item });
      if (h.reason !== "lagging" && h.reason !== "server_shutdown") {
        state.notice = t("web-not-completed", { who: item.from ? item.from.name : t("web-someone"), name: item.name, reason: h.reason });
      }
      break;
    }
    case "ack": {
      const item = state.byKey.get(`id:${h.id}`);
      if (!item) break;
      const other = state.bySeq.get(h.seq);
      if (other && other !== item) remove(state, other); // a replay of it arrived first
      complete(state, item, h.seq, h.ts);
      item.status = "sent";
      item.progress = 1;
      touch(state, item);
      revealCopies(state, fingerprint(item));
      break;
    }
    case "receipt": {
      const item = state.bySeq.get(h.seq);
      if (!item || !h.user) break;
      item.seenBy.set(h.user.id, h.user.name);
      touch(state, item);
      break;
    }
    case "error": {
      if (h.id != null) {
        const item = state.byKey.get(`id:${h.id}`);
        if (item && h.code !== "rate_limited") {
          item.status = "failed";
          item.error = h.message || h.code;
          touch(state, item);
          revealCopies(state, fingerprint(item));
        }
      }
      state.notice = t("web-relay-said", { message: h.message || h.code });
      touch(state);
      break;
    }
    default:
      break; // unknown types are ignored (forward compatibility)
  }
}

/** "2 online: Ana, Ben" — this connection included, names once each. */
export function presenceLine(state) {
  if (!state.me) return "";
  const names = [state.me.name];
  const seen = new Set([state.me.id]);
  for (const p of state.peers) {
    if (!seen.has(p.id)) {
      seen.add(p.id);
      names.push(p.name);
    }
  }
  return t("web-online", { count: names.length, names: names.join(", ") });
}

/** "Seen by Ben, Cleo" under one's own items. */
export function seenByLine(item) {
  if (!item.seenBy || item.seenBy.size === 0) return "";
  return t("web-seen-by", { names: [...item.seenBy.values()].join(", ") });
}
