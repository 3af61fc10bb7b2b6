import "./english.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, apply, presenceLine, seenByLine, MAX_ITEMS } from "../state.js";
import { WELCOME } from "./fakes.js";

const ben = { id: "bbbbbbbbbbbb", name: "Ben" };
const frame = (header, body = new Uint8Array(0)) => ({ t: "frame", header, body });
const live = () => {
  const s = initialState();
  apply(s, { t: "welcome", welcome: { ...WELCOME, peers: [ben], history: 2 } });
  return s;
};

test("welcome, presence and joined/left", () => {
  const s = live();
  assert.equal(s.phase, "live");
  assert.equal(presenceLine(s), "2 online: Ana, Ben");
  apply(s, frame({ type: "joined", user: { id: "cccccccccccc", name: "Cleo" } }));
  apply(s, frame({ type: "joined", user: ben })); // a second window of Ben's
  assert.equal(presenceLine(s), "3 online: Ana, Ben, Cleo");
  apply(s, frame({ type: "left", user: ben }));
  apply(s, frame({ type: "left", user: { id: "cccccccccccc", name: "Cleo" } }));
  assert.equal(presenceLine(s), "2 online: Ana, Ben");
});

test("a streamed picture: preview, progress, verify, then a receipt", () => {
  const s = live();
  assert.deepEqual(apply(s, frame({ type: "image_begin", sid: 3, ts: 1, from: ben, name: "cat.png", mime: "image/png", size: 6, sha256: "a".repeat(64), history: true }, new Uint8Array([9]))), []);
  const item = s.items[0];
  assert.equal(item.status, "streaming");
  assert.deepEqual([...item.preview.bytes], [9]);
  apply(s, frame({ type: "image_chunk", sid: 3, offset: 0 }, new Uint8Array([1, 2, 3])));
  assert.equal(item.progress, 0.5);
  apply(s, frame({ type: "image_chunk", sid: 3, offset: 3 }, new Uint8Array([4, 5, 6])));
  const effects = apply(s, frame({ type: "image_end", sid: 3, seq: 10, ts: 2 }));
  assert.deepEqual(effects, [{ do: "verify", key: item.key }]);
  assert.equal(s.historyLeft, 1);
  assert.equal(item.status, "verifying");
  assert.deepEqual(apply(s, { t: "verified", key: item.key, ok: true, blob: "B" }), [{ do: "receipt", seq: 10 }]);
  assert.equal(item.status, "ready");
  assert.equal(item.chunks, null, "chunks freed once the blob holds them");
});

test("a damaged picture is not shown and gets no receipt", () => {
  const s = live();
  apply(s, frame({ type: "image_begin", sid: 1, ts: 1, from: ben, name: "x.png", mime: "image/png", size: 1, sha256: "a".repeat(64) }));
  apply(s, frame({ type: "image_chunk", sid: 1, offset: 0 }, new Uint8Array([1])));
  apply(s, frame({ type: "image_end", sid: 1, seq: 2, ts: 2 }));
  assert.deepEqual(apply(s, { t: "verified", key: s.items[0].key, ok: false }), []);
  assert.equal(s.items[0].status, "failed");
  assert.match(s.items[0].error, /SHA-256/);
});

test("a chunk out of order fails the picture", () => {
  const s = live();
  apply(s, frame({ type: "image_begin", sid: 1, ts: 1, from: ben, name: "x.png", mime: "image/png", size: 4, sha256: "a".repeat(64) }));
  apply(s, frame({ type: "image_chunk", sid: 1, offset: 2 }, new Uint8Array([1])));
  assert.equal(s.items[0].status, "failed");
  assert.deepEqual(apply(s, frame({ type: "image_end", sid: 1, seq: 2, ts: 2 })), []);
});

test("texts: own items right, replays after a reconnect are not shown twice", () => {
  const s = live();
  const e = apply(s, frame({ type: "text", seq: 4, ts: 1, from: ben }, new TextEncoder().encode("<b>hi</b>")));
  assert.deepEqual(e, [{ do: "receipt", seq: 4 }]);
  apply(s, frame({ type: "text", seq: 4, ts: 1, from: ben }, new TextEncoder().encode("<b>hi</b>")));
  assert.equal(s.items.length, 1);
  assert.equal(s.items[0].text, "<b>hi</b>", "kept as text; the view sets textContent");
  apply(s, { t: "local_text", id: "w-1", text: "mine", ts: 2 });
  apply(s, frame({ type: "ack", id: "w-1", seq: 5, ts: 3 }));
  assert.equal(s.items[1].status, "sent");
  // The history replay of our own item (after a reload it comes with our id).
  assert.deepEqual(apply(s, frame({ type: "text", seq: 5, ts: 3, from: WELCOME.user }, new TextEncoder().encode("mine"))), []);
  assert.equal(s.items.length, 2);
  apply(s, frame({ type: "text", seq: 6, ts: 3, from: WELCOME.user }, new TextEncoder().encode("from my other tab")));
  assert.equal(s.items[2].mine, true);
});

test("receipts fill 'seen by' under own items", () => {
  const s = live();
  apply(s, { t: "local_text", id: "w-1", text: "mine", ts: 2 });
  apply(s, frame({ type: "ack", id: "w-1", seq: 5, ts: 3 }));
  apply(s, frame({ type: "receipt", seq: 5, user: ben }));
  apply(s, frame({ type: "receipt", seq: 5, user: ben }));
  apply(s, frame({ type: "receipt", seq: 5, user: { id: "cccccccccccc", name: "Cleo" } }));
  assert.equal(seenByLine(s.items[0]), "Seen by Ben, Cleo");
  apply(s, frame({ type: "receipt", seq: 99, user: ben })); // unknown seq: ignored
});

test("'N new' counts others' items while scrolled up", () => {
  const s = live();
  apply(s, { t: "scrolled", atBottom: false });
  apply(s, frame({ type: "text", seq: 1, ts: 1, from: ben }, new TextEncoder().encode("a")));
  apply(s, frame({ type: "text", seq: 2, ts: 1, from: ben }, new TextEncoder().encode("b")));
  apply(s, { t: "local_text", id: "w-1", text: "mine", ts: 2 });
  assert.equal(s.unseen, 2);
  apply(s, { t: "scrolled", atBottom: true });
  assert.equal(s.unseen, 0);
});

test("going offline drops half-received streams; a lagging cancel is silent", () => {
  const s = live();
  apply(s, frame({ type: "image_begin", sid: 1, ts: 1, from: ben, name: "x.png", mime: "image/png", size: 4, sha256: "a".repeat(64) }));
  const fx = apply(s, { t: "offline", retryInMs: 1000 });
  assert.equal(s.items.length, 0);
  assert.equal(fx[0].do, "forget");
  apply(s, { t: "welcome", welcome: WELCOME });
  apply(s, frame({ type: "image_begin", sid: 1, ts: 1, from: ben, name: "y.png", mime: "image/png", size: 4, sha256: "a".repeat(64) }));
  apply(s, frame({ type: "image_cancel", sid: 1, reason: "lagging" }));
  assert.equal(s.items.length, 0);
  assert.equal(s.notice, "");
  apply(s, frame({ type: "image_begin", sid: 2, ts: 1, from: ben, name: "z.png", mime: "image/png", size: 4, sha256: "a".repeat(64) }));
  apply(s, frame({ type: "image_cancel", sid: 2, reason: "sender_left" }));
  assert.match(s.notice, /z\.png/);
});

test("a relay error naming our item marks it failed; unauthorized asks for the token", () => {
  const s = live();
  apply(s, { t: "local_text", id: "w-1", text: "x".repeat(10), ts: 2 });
  apply(s, frame({ type: "error", code: "too_large", message: "text too large", id: "w-1" }));
  assert.equal(s.items[0].status, "failed");
  apply(s, { t: "fatal", code: "unauthorized", message: "wrong token" });
  assert.equal(s.phase, "form");
  assert.equal(s.form.needToken, true);
  assert.equal(s.form.error, "wrong token");
});

test("the page keeps at most MAX_ITEMS, dropping the oldest finished ones", () => {
  const s = live();
  for (let n = 1; n <= MAX_ITEMS + 5; n++) {
    apply(s, frame({ type: "text", seq: n, ts: 1, from: ben }, new TextEncoder().encode(`t${n}`)));
  }
  assert.equal(s.items.length, MAX_ITEMS);
  assert.equal(s.items[0].seq, 6);
  assert.equal(s.bySeq.has(5), false);
  assert.equal(s.byKey.size, MAX_ITEMS);
});

test("a replay of our own acked picture is held back while it streams, then dropped", () => {
  const s = live();
  const sha256 = "c".repeat(64);
  apply(s, { t: "local_image", id: "w-1", ts: 1, name: "me.png", mime: "image/png", size: 2, sha256, width: 1, height: 1, blob: "B" });
  apply(s, frame({ type: "ack", id: "w-1", seq: 5, ts: 2 }));
  // After a reconnect `since` is older than our own item, so it streams back to us.
  apply(s, frame({ type: "image_begin", sid: 4, ts: 2, from: WELCOME.user, name: "me.png", mime: "image/png", size: 2, sha256, history: true }));
  assert.equal(s.items.length, 2);
  assert.equal(s.items[1].held, true, "not shown beside the original while it streams");
  apply(s, frame({ type: "image_chunk", sid: 4, offset: 0 }, new Uint8Array([1, 2])));
  assert.deepEqual(apply(s, frame({ type: "image_end", sid: 4, seq: 5, ts: 2 })), []);
  assert.deepEqual(s.items.map((i) => i.key), ["id:w-1"]);
});

test("a copy of our own picture that is another item is shown once it completes", () => {
  const s = live();
  const sha256 = "c".repeat(64);
  apply(s, { t: "local_image", id: "w-1", ts: 1, name: "me.png", mime: "image/png", size: 2, sha256, width: 1, height: 1, blob: "B" });
  apply(s, frame({ type: "ack", id: "w-1", seq: 5, ts: 2 }));
  // The same picture, sent before a reload: its own seq.
  apply(s, frame({ type: "image_begin", sid: 4, ts: 2, from: WELCOME.user, name: "me.png", mime: "image/png", size: 2, sha256, history: true }));
  apply(s, frame({ type: "image_chunk", sid: 4, offset: 0 }, new Uint8Array([1, 2])));
  const copy = s.items[1];
  assert.deepEqual(apply(s, frame({ type: "image_end", sid: 4, seq: 3, ts: 2 })), [{ do: "verify", key: copy.key }]);
  assert.equal(copy.held, false);
  assert.equal(s.items.length, 2);
});

test("our own item replayed before the ack of its resend is held back, then dropped by the ack", () => {
  const s = live();
  apply(s, { t: "local_text", id: "w-1", text: "mine", ts: 1 });
  const sha256 = "d".repeat(64);
  apply(s, { t: "local_image", id: "w-2", ts: 1, name: "me.png", mime: "image/png", size: 1, sha256, width: 1, height: 1, blob: "B" });
  // Both were retained before the link was cut, their acks lost; the replay comes first.
  apply(s, frame({ type: "text", seq: 7, ts: 2, from: WELCOME.user, history: true }, new TextEncoder().encode("mine")));
  apply(s, frame({ type: "image_begin", sid: 1, ts: 2, from: WELCOME.user, name: "me.png", mime: "image/png", size: 1, sha256, history: true }));
  apply(s, frame({ type: "image_chunk", sid: 1, offset: 0 }, new Uint8Array([1])));
  apply(s, frame({ type: "image_end", sid: 1, seq: 8, ts: 2 }));
  assert.deepEqual(s.items.map((i) => [i.key, !!i.held]), [["id:w-1", false], ["id:w-2", false], ["seq:7", true], [s.items[3].key, true]]);
  // The resends get the original acks: the copies go.
  apply(s, frame({ type: "ack", id: "w-1", seq: 7, ts: 2 }));
  apply(s, frame({ type: "ack", id: "w-2", seq: 8, ts: 2 }));
  assert.deepEqual(s.items.map((i) => i.key), ["id:w-1", "id:w-2"]);
});

test("a held-back copy that the ack proves to be another item is shown", () => {
  const s = live();
  apply(s, { t: "local_text", id: "w-1", text: "again", ts: 1 });
  apply(s, frame({ type: "text", seq: 7, ts: 2, from: WELCOME.user, history: true }, new TextEncoder().encode("again")));
  assert.equal(s.items[1].held, true);
  apply(s, frame({ type: "ack", id: "w-1", seq: 9, ts: 3 }));
  assert.deepEqual(s.items.map((i) => [i.key, !!i.held]), [["id:w-1", false], ["seq:7", false]]);
});
